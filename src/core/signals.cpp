#include "cardiotwin/core/signals.hpp"

#include <cmath>
#include <set>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin {

std::int64_t Signals::channel_index(const std::string& name) const {
  for (std::size_t c = 0; c < names.size(); ++c)
    if (names[c] == name) return static_cast<std::int64_t>(c);
  std::string avail;
  for (const auto& n : names) avail += (avail.empty() ? "" : ", ") + n;
  CARDIOTWIN_CHECK(false, InvalidInput, "unknown channel", "one of: " << avail, "'" << name << "'",
                   Where({}, "names"));
  return -1;
}

void validate_signals(const Signals& s) {
  CARDIOTWIN_CHECK(s.values.rows() == s.time_ms.size(), InvalidInput, "signals size mismatch",
                   s.time_ms.size() << " rows (one per time sample)", s.values.rows() << " rows",
                   Where({}, "values"));
  CARDIOTWIN_CHECK(s.values.cols() == s.num_channels(), InvalidInput, "signals size mismatch",
                   s.num_channels() << " columns (one per name)", s.values.cols() << " columns",
                   Where({}, "values"));
  std::set<std::string> seen;
  for (std::size_t c = 0; c < s.names.size(); ++c)
    CARDIOTWIN_CHECK(seen.insert(s.names[c]).second, InvalidInput, "repeated channel name",
                     "unique names", "'" << s.names[c] << "' twice", Where({}, "names", c));
  for (std::int64_t i = 0; i < s.time_ms.size(); ++i) {
    CARDIOTWIN_CHECK(std::isfinite(s.time_ms[i]), InvalidInput, "bad time axis", "finite times",
                     s.time_ms[i], Where({}, "time_ms", i));
    if (i > 0)
      CARDIOTWIN_CHECK(s.time_ms[i] > s.time_ms[i - 1], InvalidInput, "bad time axis",
                       "strictly increasing times",
                       s.time_ms[i - 1] << " then " << s.time_ms[i], Where({}, "time_ms", i));
  }
}

}  // namespace cardiotwin
