// Helpers shared by the Catch2 tests.
#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace cardiotwin::test {

/// A fresh empty directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("cardiotwin-test-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string test_data(const std::string& name) { return std::string(CARDIOTWIN_TEST_DATA) + "/" + name; }
inline std::string shared_data(const std::string& name) { return std::string(CARDIOTWIN_SHARED_DATA) + "/" + name; }
inline bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace cardiotwin::test
