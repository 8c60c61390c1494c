/// @file atomic_file.hpp
/// @brief Write files so that a failure never leaves a half-written file behind.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace cardiotwin {

/// Write `path` through `writer`: the bytes go to a temporary file beside `path`, which is
/// flushed and renamed over `path` only when `writer` returns normally. If `writer` throws, the
/// temporary file is removed and the exception propagates; an existing `path` is untouched.
/// Throws `FileIOError` if the file cannot be created, written or renamed.
void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& writer,
                      bool binary = true);

/// The whole content of `path` as bytes. Throws `FileIOError` if it cannot be read.
std::string read_file_bytes(const std::string& path);

/// Lower-case file extension including compound ".nii.gz" (e.g. ".vtu", ".nii.gz", "").
std::string file_extension(const std::string& path);

}  // namespace cardiotwin
