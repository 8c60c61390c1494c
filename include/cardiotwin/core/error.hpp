/// @file error.hpp
/// @brief The cardiotwin exception hierarchy and the check macro that throws it.
///
/// Every error says what was expected, what was found, and where (file, field,
/// element), so that a user can fix the input without reading our source.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace cardiotwin {

/// Where in the user's data a problem was found. Every part is optional.
struct Where {
  std::string file;            ///< data file (not source file), empty if none
  std::string field;           ///< header field, XML element, array name, option name ...
  std::int64_t element = -1;   ///< element / node / voxel / line index, -1 if none

  Where() = default;
  Where(std::string file_, std::string field_ = {}, std::int64_t element_ = -1)
      : file(std::move(file_)), field(std::move(field_)), element(element_) {}
  /// Human readable form, e.g. "file 'a.nii', field 'dim', element 3".
  std::string str() const;
};

/// Base class of every error cardiotwin throws (Python: `cardiotwin.Error`).
class Error : public std::runtime_error {
 public:
  /// @param what      short description of the problem ("bad NIfTI header size")
  /// @param expected  what a valid input has ("348"); may be empty
  /// @param found     what the input has ("1024"); may be empty
  /// @param where     location in the user's data
  /// @param src_file  source file that raised (from the macro; may be null)
  /// @param src_line  source line that raised
  Error(const std::string& what, std::string expected = {}, std::string found = {},
        Where where = {}, const char* src_file = nullptr, int src_line = 0);

  const std::string& description() const noexcept { return description_; }
  const std::string& expected() const noexcept { return expected_; }
  const std::string& found() const noexcept { return found_; }
  const Where& where() const noexcept { return where_; }

 private:
  std::string description_, expected_, found_;
  Where where_;
};

/// A file's content does not follow its format (Python: `FileFormatError`, also a `ValueError`).
class FileFormatError : public Error {
  using Error::Error;
};
/// A file cannot be opened, read or written (Python: `FileIOError`, also an `OSError`).
class FileIOError : public Error {
  using Error::Error;
};
/// An argument or in-memory object is invalid (Python: `InvalidInput`, also a `ValueError`).
class InvalidInput : public Error {
  using Error::Error;
};
/// A numerical method failed to converge or blew up (Python: `SolverDiverged`, also a `RuntimeError`).
class SolverDiverged : public Error {
  using Error::Error;
};
/// The requested feature needs an optional component that was not built
/// (Python: `MissingComponent`, also an `ImportError`).
class MissingComponent : public Error {
  using Error::Error;
};

}  // namespace cardiotwin

/// Throw `ExcType` unless `cond` holds.
///
/// `expected` and `found` are streamed (`<<`), so they may mix text and numbers;
/// they are only evaluated on failure. `where` is a `cardiotwin::Where`.
/// @code
/// CARDIOTWIN_CHECK(n == 348, FileFormatError, "bad NIfTI header", 348, n, Where(path, "sizeof_hdr"));
/// @endcode
#define CARDIOTWIN_CHECK(cond, ExcType, what, expected, found, where)                       \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::ostringstream ct_expected_, ct_found_;                                           \
      ct_expected_ << expected;                                                             \
      ct_found_ << found;                                                                   \
      throw ::cardiotwin::ExcType(what, ct_expected_.str(), ct_found_.str(), where, __FILE__, \
                                  __LINE__);                                                \
    }                                                                                       \
  } while (0)
