/// @file gzip.hpp
/// @brief gzip (RFC 1952) compression via zlib, and raw zlib streams for VTK.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cardiotwin::io {

/// True if `data` starts with the gzip magic bytes.
bool is_gzip(std::string_view data) noexcept;
/// Decompress a gzip stream (concatenated members allowed). Throws `FileFormatError` naming
/// `source` on corrupt data, or if the output would exceed `max_bytes` (guards against zip bombs).
std::string gunzip(std::string_view data, const std::string& source,
                   std::size_t max_bytes = std::size_t(1) << 34);
/// Compress to a gzip stream at `level` (0-9).
std::string gzip(std::string_view data, int level = 6);
/// Decompress a zlib stream whose decompressed size is known exactly (as VTK stores it).
std::string zlib_inflate(std::string_view data, std::size_t expected_size, const std::string& source);
/// Compress to a zlib stream.
std::string zlib_deflate(std::string_view data, int level = 6);

}  // namespace cardiotwin::io
