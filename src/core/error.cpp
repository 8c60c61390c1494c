#include "cardiotwin/core/error.hpp"

namespace cardiotwin {

std::string Where::str() const {
  std::string s;
  auto add = [&s](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (!file.empty()) add("file '" + file + "'");
  if (!field.empty()) add("field '" + field + "'");
  if (element >= 0) add("element " + std::to_string(element));
  return s;
}

namespace {
std::string compose(const std::string& what, const std::string& expected, const std::string& found,
                    const Where& where) {
  std::string msg = what;
  if (!expected.empty() || !found.empty()) {
    msg += ":";
    if (!expected.empty()) msg += " expected " + expected;
    if (!found.empty()) msg += (expected.empty() ? " found " : ", found ") + found;
  }
  const std::string w = where.str();
  if (!w.empty()) msg += " (in " + w + ")";
  return msg;
}
}  // namespace

Error::Error(const std::string& what, std::string expected, std::string found, Where where,
             const char* /*src_file*/, int /*src_line*/)
    : std::runtime_error(compose(what, expected, found, where)),
      description_(what),
      expected_(std::move(expected)),
      found_(std::move(found)),
      where_(std::move(where)) {}

}  // namespace cardiotwin
