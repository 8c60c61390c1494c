#include "cardiotwin/core/atomic_file.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin {
namespace fs = std::filesystem;

void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& writer,
                      bool binary) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  CARDIOTWIN_CHECK(fs::is_directory(dir, ec), FileIOError, "cannot write file",
                   "an existing directory", "'" << dir.string() << "' does not exist", Where(path));
  // A unique temporary name in the same directory, so the final rename is atomic.
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  const fs::path tmp = dir / ("." + target.filename().string() + ".tmp-" + std::to_string(rd()) +
                              "-" + std::to_string(counter++));
  try {
    {
      std::ofstream out(tmp, binary ? std::ios::binary | std::ios::trunc : std::ios::trunc);
      CARDIOTWIN_CHECK(out.good(), FileIOError, "cannot create file", "a writable location",
                       std::strerror(errno), Where(tmp.string()));
      writer(out);
      out.flush();
      CARDIOTWIN_CHECK(out.good(), FileIOError, "write failed", "all bytes written",
                       "a stream error (disk full?)", Where(path));
    }
    fs::rename(tmp, target, ec);
    CARDIOTWIN_CHECK(!ec, FileIOError, "cannot move finished file into place",
                     "a successful rename", ec.message(), Where(path));
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  CARDIOTWIN_CHECK(fs::exists(path, ec), FileIOError, "cannot read file", "an existing file",
                   "no such file", Where(path));
  CARDIOTWIN_CHECK(!fs::is_directory(path, ec), FileIOError, "cannot read file", "a regular file",
                   "a directory", Where(path));
  std::ifstream in(path, std::ios::binary);
  CARDIOTWIN_CHECK(in.good(), FileIOError, "cannot open file", "a readable file",
                   std::strerror(errno), Where(path));
  std::ostringstream ss;
  ss << in.rdbuf();
  CARDIOTWIN_CHECK(!in.bad(), FileIOError, "read failed", "a readable file", "an I/O error",
                   Where(path));
  return std::move(ss).str();
}

std::string file_extension(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* compound : {".nii.gz", ".vtk.gz"}) {
    const std::string c(compound);
    if (name.size() > c.size() && name.compare(name.size() - c.size(), c.size(), c) == 0) return c;
  }
  const auto dot = name.rfind('.');
  return (dot == std::string::npos || dot == 0) ? std::string() : name.substr(dot);
}

}  // namespace cardiotwin
