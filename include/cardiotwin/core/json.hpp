/// @file json.hpp
/// @brief Strict reading of JSON option objects: every key known, every type checked.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin {

/// Reads an options object key by key. `finish()` rejects keys that were never asked for, listing
/// the known ones, so a typo in a config file is an error rather than a silently ignored default.
/// @code
/// JsonReader r(j, "monodomain");
/// r.get("dt_ms", o.dt_ms);
/// r.finish();
/// @endcode
class JsonReader {
 public:
  JsonReader(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    CARDIOTWIN_CHECK(j.is_object(), InvalidInput, "bad options", "a JSON object", j.type_name(), Where({}, where_));
  }
  /// Read `key` into `out` if present (keeping `out`'s default otherwise).
  template <class T>
  bool get(const std::string& key, T& out) {
    known_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end()) return false;
    try {
      out = it->template get<T>();
    } catch (const nlohmann::json::exception&) {
      CARDIOTWIN_CHECK(false, InvalidInput, "option has the wrong type", type_name<T>(),
                       it->type_name() << " " << it->dump(), Where({}, path(key)));
    }
    return true;
  }
  /// Like `get`, but the key must be present.
  template <class T>
  void require(const std::string& key, T& out) {
    CARDIOTWIN_CHECK(get(key, out), InvalidInput, "missing option", "key '" << key << "'", "none",
                     Where({}, where_));
  }
  /// The raw value of `key` (or nullptr), marking it known.
  const nlohmann::json* raw(const std::string& key) {
    known_.insert(key);
    const auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  /// Throw `InvalidInput` for any key not read, listing the known keys.
  void finish() const {
    for (const auto& [key, value] : j_.items()) {
      if (known_.count(key)) continue;
      std::string list;
      for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
      CARDIOTWIN_CHECK(false, InvalidInput, "unknown option", "one of: " << list, "'" << key << "'",
                       Where({}, path(key)));
    }
  }
  std::string path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }

 private:
  template <class T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>) return "a boolean";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_same_v<T, std::string>) return "a string";
    else return "a value of the documented type";
  }
  const nlohmann::json& j_;
  std::string where_;
  std::set<std::string> known_;
};

/// Check that `value` is one of `choices`; otherwise `InvalidInput` listing them.
inline void check_choice(const std::string& value, const std::vector<std::string>& choices, const std::string& where) {
  for (const auto& c : choices)
    if (c == value) return;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "'" : ", '") + c + "'";
  CARDIOTWIN_CHECK(false, InvalidInput, "unknown value", "one of " << list, "'" << value << "'", Where({}, where));
}

}  // namespace cardiotwin
