// libFuzzer target for the NIfTI-1 reader (plain and gzipped). Every input must either parse or
// throw a cardiotwin::Error; any other exception, a crash or a sanitizer report is a finding.
// Seeds: tests/fuzz/corpus/nifti/ (small files written by io::write_nifti).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/nifti.hpp"

namespace {

template <class T>
void parse_and_check(std::string_view bytes, std::int64_t volume) {
  using namespace cardiotwin;
  try {
    const Image<T> image = io::parse_nifti<T>(bytes, "fuzz.nii", volume);
    const auto& s = image.shape();
    if (s[0] < 1 || s[1] < 1 || s[2] < 1 || image.size() != s[0] * s[1] * s[2]) __builtin_trap();
    // What we read, we can write, and reading that back gives the same voxels (bit for bit).
    Image<T> again;
    try {
      again = io::parse_nifti<T>(io::nifti_bytes(image), "again.nii");
    } catch (const Error&) {
      return;  // e.g. geometry that overflows float32 once converted to mm
    }
    if (again.shape() != s ||
        std::memcmp(again.data(), image.data(), static_cast<std::size_t>(image.size()) * sizeof(T)) != 0)
      __builtin_trap();
  } catch (const Error&) {
    // Rejected with a message: fine.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)cardiotwin::io::parse_nifti_info(bytes, "fuzz.nii");
  } catch (const cardiotwin::Error&) {
  }
  parse_and_check<float>(bytes, 0);
  parse_and_check<std::uint8_t>(bytes, 0);
  parse_and_check<std::int16_t>(bytes, 1);  // the second volume of 4-D inputs
  return 0;
}
