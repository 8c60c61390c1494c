#include <catch2/catch.hpp>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/gzip.hpp"

using namespace cardiotwin;

TEST_CASE("gzip and zlib round-trip and reject corrupt data", "[io][gzip]") {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += static_cast<char>(i % 251);
  const std::string gz = io::gzip(data);
  CHECK(io::is_gzip(gz));
  CHECK(io::gunzip(gz, "x.gz") == data);
  CHECK(io::gunzip(gz + gz, "x.gz") == data + data);  // concatenated members
  CHECK_THROWS_WITH(io::gunzip(gz.substr(0, gz.size() / 2), "x.gz"),
                    Catch::Contains("corrupt gzip") && Catch::Contains("x.gz"));
  CHECK_THROWS_WITH(io::gunzip(gz, "x.gz", 1000), Catch::Contains("too large"));
  CHECK_THROWS_AS(io::gunzip("plain", "x.gz"), FileFormatError);
  const std::string z = io::zlib_deflate(data);
  CHECK(io::zlib_inflate(z, data.size(), "blk") == data);
  CHECK_THROWS_AS(io::zlib_inflate(z, data.size() + 1, "blk"), FileFormatError);
  CHECK_THROWS_AS(io::zlib_inflate(z, data.size() - 1, "blk"), FileFormatError);
}
