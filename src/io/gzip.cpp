#include "cardiotwin/io/gzip.hpp"

#include <zlib.h>

#include <limits>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::io {
namespace {

// Feed `data` through inflate; windowBits 15+32 auto-detects zlib or gzip headers.
std::string inflate_all(std::string_view data, int window_bits, std::size_t max_bytes,
                        std::size_t size_hint, const std::string& source, const char* kind,
                        bool allow_concatenated) {
  std::string out;
  out.reserve(std::min<std::size_t>(size_hint ? size_hint : data.size() * 4, max_bytes));
  z_stream zs{};
  CARDIOTWIN_CHECK(inflateInit2(&zs, window_bits) == Z_OK, Error, "zlib initialisation failed", "",
                   "", Where(source));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  std::size_t remaining = data.size();
  char buf[1 << 16];
  int ret = Z_OK;
  for (;;) {
    if (zs.avail_in == 0 && remaining > 0) {
      const auto chunk = static_cast<uInt>(std::min<std::size_t>(remaining, std::numeric_limits<uInt>::max()));
      zs.avail_in = chunk;
      remaining -= chunk;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    ret = inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = sizeof(buf) - zs.avail_out;
    if (ret != Z_OK && ret != Z_STREAM_END) break;
    if (out.size() + produced > max_bytes) {
      inflateEnd(&zs);
      CARDIOTWIN_CHECK(false, FileFormatError, std::string(kind) + " data too large",
                       "at most " << max_bytes << " decompressed bytes", "more", Where(source));
    }
    out.append(buf, produced);
    if (ret == Z_STREAM_END) {
      // gzip allows several members back to back (e.g. `cat a.gz b.gz`).
      if (allow_concatenated && (zs.avail_in > 0 || remaining > 0)) {
        if (inflateReset(&zs) != Z_OK) break;
        continue;
      }
      break;
    }
    if (zs.avail_in == 0 && remaining == 0 && produced == 0) {
      ret = Z_BUF_ERROR;  // truncated stream
      break;
    }
  }
  const std::string msg = zs.msg ? zs.msg : (ret == Z_BUF_ERROR ? "truncated stream" : "error " + std::to_string(ret));
  inflateEnd(&zs);
  CARDIOTWIN_CHECK(ret == Z_STREAM_END, FileFormatError, std::string("corrupt ") + kind + " data",
                   "a complete " << kind << " stream", msg, Where(source));
  return out;
}

std::string deflate_all(std::string_view data, int level, int window_bits) {
  z_stream zs{};
  CARDIOTWIN_CHECK(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK,
                   InvalidInput, "bad compression level", "0..9", level, Where({}, "level"));
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 64);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int ret = deflate(&zs, Z_FINISH);
  const std::size_t n = zs.total_out;
  deflateEnd(&zs);
  CARDIOTWIN_CHECK(ret == Z_STREAM_END, Error, "compression failed", "Z_STREAM_END", ret, Where());
  out.resize(n);
  return out;
}

}  // namespace

bool is_gzip(std::string_view data) noexcept {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

std::string gunzip(std::string_view data, const std::string& source, std::size_t max_bytes) {
  CARDIOTWIN_CHECK(is_gzip(data), FileFormatError, "not gzip data", "the gzip magic bytes 1f 8b",
                   (data.size() < 2 ? "fewer than 2 bytes" : "other bytes"), Where(source));
  return inflate_all(data, 15 + 16, max_bytes, 0, source, "gzip", true);
}

std::string gzip(std::string_view data, int level) {
  CARDIOTWIN_CHECK(data.size() < std::numeric_limits<uInt>::max(), InvalidInput, "data too large for gzip",
                   "under 4 GiB", data.size() << " bytes", Where());
  return deflate_all(data, level, 15 + 16);
}

std::string zlib_inflate(std::string_view data, std::size_t expected_size, const std::string& source) {
  std::string out = inflate_all(data, 15, expected_size, expected_size, source, "zlib", false);
  CARDIOTWIN_CHECK(out.size() == expected_size, FileFormatError, "zlib block has the wrong size",
                   expected_size << " bytes", out.size() << " bytes", Where(source));
  return out;
}

std::string zlib_deflate(std::string_view data, int level) {
  CARDIOTWIN_CHECK(data.size() < std::numeric_limits<uInt>::max(), InvalidInput, "data too large for zlib",
                   "under 4 GiB", data.size() << " bytes", Where());
  return deflate_all(data, level, 15);
}

}  // namespace cardiotwin::io
