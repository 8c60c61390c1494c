#include "cardiotwin/ecg/wfdb.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"

namespace cardiotwin::ecg {

namespace fs = std::filesystem;

namespace {

std::string line_field(std::int64_t line, const std::string& field) {
  return "line " + std::to_string(line) + (field.empty() ? "" : ", " + field);
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const std::size_t b = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > b) out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

// Whole-token number parsers: false on anything but a complete number.
bool parse_int(std::string_view s, std::int64_t& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}
bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  v = std::strtod(tmp.c_str(), &end);
  return end == tmp.c_str() + tmp.size() && std::isfinite(v);
}

double unit_to_mv(const std::string& units) {
  std::string u = units;
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (u == "mv") return 1.0;
  if (u == "uv" || u == "\xc2\xb5v" || u == "\xce\xbcv") return 1e-3;
  if (u == "v") return 1e3;
  return 0;  // unknown: keep the units
}

// "<record>.hea" for a path given as .hea, .dat, .mat or without extension.
std::string header_path(const std::string& path) {
  const std::string ext = file_extension(path);
  if (ext == ".hea") return path;
  if (ext == ".dat" || ext == ".mat") return fs::path(path).replace_extension(".hea").string();
  return path + ".hea";
}

bool is_uniform(const Eigen::VectorXd& t, double& dt) {
  if (t.size() < 2) return false;
  dt = (t[t.size() - 1] - t[0]) / static_cast<double>(t.size() - 1);
  for (Eigen::Index i = 1; i < t.size(); ++i)
    if (std::abs(t[i] - t[i - 1] - dt) > 1e-6 * dt) return false;
  return dt > 0;
}

}  // namespace

// ---- header -------------------------------------------------------------------------------------

WfdbHeader parse_wfdb_header(std::string_view text, const std::string& source) {
  WfdbHeader h;
  std::int64_t nsig = -1, line_no = 0;
  bool have_record = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      if (pos > text.size()) break;
      continue;
    }
    if (line[first] == '#') {
      std::string c(line.substr(first + 1));
      while (!c.empty() && c.front() == ' ') c.erase(c.begin());
      h.comments.push_back(c);
      continue;
    }
    const auto tok = split_ws(line);
    const Where at(source, "", line_no);
    if (!have_record) {
      have_record = true;
      h.record = tok[0];
      CARDIOTWIN_CHECK(h.record.find('/') == std::string::npos, FileFormatError,
                       "unsupported WFDB record", "a single-segment record", "a multi-segment record '" << h.record << "'",
                       Where(source, line_field(line_no, "record name")));
      CARDIOTWIN_CHECK(tok.size() >= 2 && parse_int(tok[1], nsig) && nsig >= 0, FileFormatError,
                       "bad WFDB record line", "a number of signals after the record name",
                       (tok.size() >= 2 ? "'" + tok[1] + "'" : std::string("nothing")),
                       Where(source, line_field(line_no, "number of signals")));
      if (tok.size() >= 3) {
        // "fs[/counter_frequency[(base_counter)]]"
        const std::string f = tok[2].substr(0, tok[2].find('/'));
        CARDIOTWIN_CHECK(parse_double(f, h.sampling_frequency_hz) && h.sampling_frequency_hz > 0, FileFormatError,
                         "bad WFDB record line", "a positive sampling frequency", "'" << tok[2] << "'",
                         Where(source, line_field(line_no, "sampling frequency")));
      }
      if (tok.size() >= 4) {
        std::int64_t n = 0;
        CARDIOTWIN_CHECK(parse_int(tok[3], n) && n >= 0, FileFormatError, "bad WFDB record line",
                         "a number of samples >= 0", "'" << tok[3] << "'", Where(source, line_field(line_no, "number of samples")));
        h.num_samples = n > 0 ? n : -1;
      }
      continue;
    }
    CARDIOTWIN_CHECK(static_cast<std::int64_t>(h.signals.size()) < nsig, FileFormatError, "bad WFDB header",
                     nsig << " signal lines (as the record line says)", "another line '" << std::string(line) << "'",
                     Where(source, line_field(line_no, "")));
    WfdbSignal s;
    s.file = tok[0];
    CARDIOTWIN_CHECK(tok.size() >= 2, FileFormatError, "bad WFDB signal line", "a file name and a format",
                     "'" << std::string(line) << "'", Where(source, line_field(line_no, "format")));
    {
      // "format[xsamples_per_frame][:skew][+byte_offset]"
      const std::string& f = tok[1];
      std::size_t i = 0;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) ++i;
      std::int64_t fmt = 0, spf = 1, skew = 0, off = 0;
      bool ok = parse_int(std::string_view(f).substr(0, i), fmt);
      while (ok && i < f.size()) {
        const char key = f[i++];
        std::size_t j = i;
        while (j < f.size() && std::isdigit(static_cast<unsigned char>(f[j]))) ++j;
        std::int64_t v = 0;
        ok = parse_int(std::string_view(f).substr(i, j - i), v);
        if (key == 'x') spf = v;
        else if (key == ':') skew = v;
        else if (key == '+') off = v;
        else ok = false;
        i = j;
      }
      CARDIOTWIN_CHECK(ok, FileFormatError, "bad WFDB signal line", "a format like 16, 212 or 16x1+24",
                       "'" << f << "'", Where(source, line_field(line_no, "format")));
      CARDIOTWIN_CHECK(fmt == 16 || fmt == 61 || fmt == 80 || fmt == 212, FileFormatError,
                       "unsupported WFDB sample format", "16, 61, 80 or 212", fmt, Where(source, line_field(line_no, "format")));
      CARDIOTWIN_CHECK(spf == 1, FileFormatError, "unsupported WFDB signal", "1 sample per frame",
                       spf << " samples per frame", Where(source, line_field(line_no, "format")));
      CARDIOTWIN_CHECK(skew == 0, FileFormatError, "unsupported WFDB signal", "no skew", "skew " << skew,
                       Where(source, line_field(line_no, "format")));
      s.format = static_cast<int>(fmt);
      s.byte_offset = off;
    }
    bool baseline_given = false;
    if (tok.size() >= 3) {
      // "gain[(baseline)][/units]"
      std::string g = tok[2];
      const auto slash = g.find('/');
      if (slash != std::string::npos) {
        s.units = g.substr(slash + 1);
        g = g.substr(0, slash);
      }
      const auto paren = g.find('(');
      if (paren != std::string::npos) {
        const auto close = g.find(')', paren);
        std::int64_t b = 0;
        CARDIOTWIN_CHECK(close == g.size() - 1 && parse_int(g.substr(paren + 1, close - paren - 1), b), FileFormatError,
                         "bad WFDB signal line", "gain(baseline)/units, e.g. 1000.0(0)/mV", "'" << tok[2] << "'",
                         Where(source, line_field(line_no, "gain")));
        s.baseline = static_cast<double>(b);
        baseline_given = true;
        g = g.substr(0, paren);
      }
      CARDIOTWIN_CHECK(parse_double(g, s.gain) && s.gain >= 0, FileFormatError, "bad WFDB signal line",
                       "a gain >= 0 (ADC units per physical unit)", "'" << tok[2] << "'",
                       Where(source, line_field(line_no, "gain")));
      if (s.gain == 0) s.gain = 200;  // WFDB's default gain
    }
    auto get_int = [&](std::size_t k, const char* field, std::int64_t& v) {
      if (tok.size() <= k) return false;
      CARDIOTWIN_CHECK(parse_int(tok[k], v), FileFormatError, "bad WFDB signal line", "an integer", "'" << tok[k] << "'",
                       Where(source, line_field(line_no, field)));
      return true;
    };
    std::int64_t v = 0;
    if (get_int(3, "ADC resolution", v)) s.adc_resolution = static_cast<int>(v);
    if (get_int(4, "ADC zero", v)) s.adc_zero = static_cast<int>(v);
    if (!baseline_given) s.baseline = s.adc_zero;
    s.has_initial_value = get_int(5, "initial value", s.initial_value);
    s.has_checksum = get_int(6, "checksum", s.checksum);
    get_int(7, "block size", v);
    if (tok.size() > 8) {
      // The description is the rest of the line (it may contain spaces).
      std::size_t p = 0;
      for (std::size_t k = 0; k < 8; ++k) {
        p = line.find(tok[k], p) + tok[k].size();
      }
      std::string d(line.substr(p));
      const auto b = d.find_first_not_of(" \t");
      s.description = b == std::string::npos ? "" : d.substr(b);
      while (!s.description.empty() && std::isspace(static_cast<unsigned char>(s.description.back()))) s.description.pop_back();
    }
    if (s.description.empty()) s.description = "signal " + std::to_string(h.signals.size());
    h.signals.push_back(std::move(s));
    (void)at;
  }
  CARDIOTWIN_CHECK(have_record, FileFormatError, "bad WFDB header", "a record line", "none", Where(source, "record line"));
  CARDIOTWIN_CHECK(static_cast<std::int64_t>(h.signals.size()) == nsig, FileFormatError, "bad WFDB header",
                   nsig << " signal lines (as the record line says)", h.signals.size(), Where(source, "signal lines"));
  return h;
}

// ---- reading ------------------------------------------------------------------------------------

Signals read_wfdb(const std::string& path, bool verify) {
  const std::string hea = header_path(path);
  const std::string text = read_file_bytes(hea);
  const WfdbHeader h = parse_wfdb_header(text, hea);
  const fs::path dir = fs::path(hea).parent_path();
  const std::size_t nsig = h.signals.size();
  CARDIOTWIN_CHECK(nsig > 0, FileFormatError, "WFDB record without signals", "at least one signal", 0, Where(hea, "record line"));

  // Group signals by file (in order of first appearance); each group is interleaved frame by frame.
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::string, std::size_t> group_of;
  for (std::size_t k = 0; k < nsig; ++k) {
    auto it = group_of.find(h.signals[k].file);
    if (it == group_of.end()) {
      it = group_of.emplace(h.signals[k].file, groups.size()).first;
      groups.emplace_back();
    }
    groups[it->second].push_back(k);
  }
  std::vector<std::vector<std::int32_t>> samples(nsig);
  std::vector<std::vector<char>> invalid(nsig);
  std::int64_t nsamp = h.num_samples;
  for (const auto& g : groups) {
    const WfdbSignal& s0 = h.signals[g[0]];
    for (const auto k : g)
      CARDIOTWIN_CHECK(h.signals[k].format == s0.format && h.signals[k].byte_offset == s0.byte_offset, FileFormatError,
                       "bad WFDB header", "one format and offset per signal file",
                       "signal " << k << " differs from signal " << g[0] << " in '" << s0.file << "'", Where(hea, "format"));
    const std::string file = (dir / s0.file).string();
    const std::string bytes = read_file_bytes(file);
    CARDIOTWIN_CHECK(static_cast<std::int64_t>(bytes.size()) >= s0.byte_offset, FileFormatError, "truncated WFDB signal file",
                     "at least " << s0.byte_offset << " bytes (the offset)", bytes.size() << " bytes", Where(file));
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + s0.byte_offset;
    const std::int64_t avail = static_cast<std::int64_t>(bytes.size()) - s0.byte_offset;
    const std::int64_t ng = static_cast<std::int64_t>(g.size());
    // Bytes needed for n frames.
    auto bytes_for = [&](std::int64_t n) -> std::int64_t {
      switch (s0.format) {
        case 212: return (n * ng * 3 + 1) / 2;
        case 80: return n * ng;
        default: return 2 * n * ng;
      }
    };
    std::int64_t n = nsamp;
    if (n < 0) {
      n = s0.format == 212 ? (avail * 2 / 3) / ng : (s0.format == 80 ? avail / ng : avail / (2 * ng));
      nsamp = n;
    }
    CARDIOTWIN_CHECK(bytes_for(n) <= avail, FileFormatError, "truncated WFDB signal file",
                     bytes_for(n) << " bytes of samples for " << n << " samples x " << ng << " signals",
                     avail << " bytes", Where(file));
    for (const auto k : g) {
      samples[k].resize(static_cast<std::size_t>(n));
      invalid[k].assign(static_cast<std::size_t>(n), 0);
    }
    const std::int64_t total = n * ng;
    for (std::int64_t q = 0; q < total; ++q) {
      std::int32_t v = 0;
      bool bad = false;
      switch (s0.format) {
        case 16:
          v = static_cast<std::int16_t>(static_cast<std::uint16_t>(p[2 * q] | (p[2 * q + 1] << 8)));
          bad = v == -32768;
          break;
        case 61:
          v = static_cast<std::int16_t>(static_cast<std::uint16_t>((p[2 * q] << 8) | p[2 * q + 1]));
          bad = v == -32768;
          break;
        case 80:
          v = static_cast<std::int32_t>(p[q]) - 128;
          bad = v == -128;
          break;
        case 212: {
          const std::int64_t b = (q / 2) * 3;
          v = (q % 2 == 0) ? (p[b] | ((p[b + 1] & 0x0F) << 8)) : (p[b + 2] | ((p[b + 1] & 0xF0) << 4));
          if (v >= 2048) v -= 4096;
          bad = v == -2048;
          break;
        }
        default: break;
      }
      const std::size_t k = g[static_cast<std::size_t>(q % ng)];
      samples[k][static_cast<std::size_t>(q / ng)] = v;
      invalid[k][static_cast<std::size_t>(q / ng)] = bad;
    }
  }
  for (std::size_t k = 0; k < nsig; ++k)
    CARDIOTWIN_CHECK(static_cast<std::int64_t>(samples[k].size()) == nsamp, FileFormatError, "bad WFDB record",
                     nsamp << " samples in every signal", samples[k].size() << " in signal " << k, Where(hea, h.signals[k].file));

  if (verify)
    for (std::size_t k = 0; k < nsig; ++k) {
      const WfdbSignal& s = h.signals[k];
      if (s.has_checksum && h.num_samples > 0) {
        std::int64_t sum = 0;
        for (const auto v : samples[k]) sum += v;
        CARDIOTWIN_CHECK((sum & 0xFFFF) == (s.checksum & 0xFFFF), FileFormatError, "WFDB checksum mismatch",
                         "checksum " << s.checksum << " (from the header)",
                         static_cast<std::int16_t>(static_cast<std::uint16_t>(sum & 0xFFFF)) << " computed from the samples of signal "
                                                                                   << k << " ('" << s.description << "')",
                         Where(hea, s.file, static_cast<std::int64_t>(k)));
      }
      if (s.has_initial_value && nsamp > 0)
        CARDIOTWIN_CHECK(samples[k][0] == s.initial_value, FileFormatError, "WFDB initial value mismatch",
                         s.initial_value << " (from the header)",
                         samples[k][0] << " in signal " << k << " ('" << s.description << "')",
                         Where(hea, s.file, static_cast<std::int64_t>(k)));
    }

  Signals out;
  double t0 = 0;
  for (const auto& c : h.comments) {
    const std::string key = "cardiotwin: t0_ms=";
    if (c.rfind(key, 0) == 0) parse_double(c.substr(key.size()), t0);
  }
  out.time_ms = Eigen::VectorXd::LinSpaced(nsamp, 0, static_cast<double>(nsamp - 1)) * (1000.0 / h.sampling_frequency_hz);
  out.time_ms.array() += t0;
  out.values.resize(nsamp, static_cast<Eigen::Index>(nsig));
  bool all_mv = true;
  std::string units = h.signals[0].units;
  for (std::size_t k = 0; k < nsig; ++k) {
    const WfdbSignal& s = h.signals[k];
    double to = unit_to_mv(s.units);
    if (to == 0) {
      all_mv = false;
      to = 1;
      CARDIOTWIN_CHECK(s.units == units, FileFormatError, "unsupported WFDB units",
                       "mV, uV or V, or the same units for every signal", "'" << s.units << "' and '" << units << "'",
                       Where(hea, s.description, static_cast<std::int64_t>(k)));
    }
    for (std::int64_t i = 0; i < nsamp; ++i)
      out.values(i, static_cast<Eigen::Index>(k)) =
          invalid[k][static_cast<std::size_t>(i)] ? std::numeric_limits<double>::quiet_NaN()
                                                  : (samples[k][static_cast<std::size_t>(i)] - s.baseline) / s.gain * to;
    std::string name = s.description;
    for (std::size_t j = 0; j < k; ++j)
      if (out.names[j] == name) name += "_" + std::to_string(k);
    out.names.push_back(name);
  }
  out.units = all_mv ? "mV" : units;
  nlohmann::json sig = nlohmann::json::array();
  for (const auto& s : h.signals)
    sig.push_back({{"file", s.file}, {"format", s.format}, {"gain", s.gain}, {"baseline", s.baseline}, {"units", s.units},
                   {"description", s.description}});
  out.metadata = {{"source", hea},
                  {"format", "wfdb"},
                  {"record", h.record},
                  {"sampling_frequency_hz", h.sampling_frequency_hz},
                  {"signals", sig},
                  {"comments", h.comments}};
  validate_signals(out);
  return out;
}

// ---- writing ------------------------------------------------------------------------------------

void write_wfdb(const std::string& path, const Signals& s, const WfdbWriteOptions& options) {
  validate_signals(s);
  double dt = 0;
  CARDIOTWIN_CHECK(is_uniform(s.time_ms, dt), InvalidInput, "cannot write WFDB", "a uniform time axis with >= 2 samples",
                   s.num_samples() << " samples, not uniformly spaced", Where(path, "time_ms"));
  CARDIOTWIN_CHECK(s.num_channels() > 0, InvalidInput, "cannot write WFDB", "at least one channel", 0, Where(path, "names"));
  CARDIOTWIN_CHECK(unit_to_mv(s.units) == 1.0, InvalidInput, "cannot write WFDB", "values in mV", "'" << s.units << "'",
                   Where(path, "units"));
  for (std::int64_t c = 0; c < s.num_channels(); ++c) {
    const auto& n = s.names[static_cast<std::size_t>(c)];
    CARDIOTWIN_CHECK(!n.empty() && std::none_of(n.begin(), n.end(), [](unsigned char ch) { return std::isspace(ch); }),
                     InvalidInput, "cannot write WFDB", "channel names without whitespace", "'" << n << "'",
                     Where(path, "names", c));
  }
  double vmax = 0;
  for (Eigen::Index i = 0; i < s.values.size(); ++i)
    if (std::isfinite(s.values.data()[i])) vmax = std::max(vmax, std::abs(s.values.data()[i]));
  double gain = options.gain;
  if (gain <= 0) {
    gain = 1000;
    if (vmax * gain > 32000) {
      // Three significant digits, rounded down.
      const double g = 32000 / vmax;
      const double p = std::pow(10.0, std::floor(std::log10(g)) - 2);
      gain = std::floor(g / p) * p;
    }
  }
  CARDIOTWIN_CHECK(vmax * gain <= 32767, InvalidInput, "cannot write WFDB", "|values| * gain <= 32767",
                   "max |value| " << vmax << " mV at gain " << gain, Where(path, "gain"));

  const std::string hea = header_path(path);
  const fs::path hp(hea);
  const std::string record = hp.stem().string();
  const std::string dat_name = record + ".dat";
  const std::int64_t n = s.num_samples(), nc = s.num_channels();
  std::string bytes(static_cast<std::size_t>(2 * n * nc), '\0');
  std::vector<std::int64_t> sums(static_cast<std::size_t>(nc), 0);
  std::vector<std::int64_t> first(static_cast<std::size_t>(nc), 0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < nc; ++c) {
      const double v = s.values(i, c);
      const std::int32_t q = std::isfinite(v) ? static_cast<std::int32_t>(std::lround(v * gain)) : -32768;
      const auto u = static_cast<std::uint16_t>(static_cast<std::int16_t>(q));
      bytes[static_cast<std::size_t>(2 * (i * nc + c))] = static_cast<char>(u & 0xFF);
      bytes[static_cast<std::size_t>(2 * (i * nc + c) + 1)] = static_cast<char>(u >> 8);
      sums[static_cast<std::size_t>(c)] += q;
      if (i == 0) first[static_cast<std::size_t>(c)] = q;
    }
  std::ostringstream os;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.12g", 1000.0 / dt);
  os << record << " " << nc << " " << buf << " " << n << "\n";
  std::snprintf(buf, sizeof(buf), "%.12g", gain);
  for (std::int64_t c = 0; c < nc; ++c) {
    const auto sum16 = static_cast<std::int16_t>(static_cast<std::uint16_t>(sums[static_cast<std::size_t>(c)] & 0xFFFF));
    os << dat_name << " 16 " << buf << "(0)/mV 16 0 " << first[static_cast<std::size_t>(c)] << " " << sum16 << " 0 "
       << s.names[static_cast<std::size_t>(c)] << "\n";
  }
  if (s.time_ms[0] != 0) {
    std::snprintf(buf, sizeof(buf), "%.17g", s.time_ms[0]);
    os << "# cardiotwin: t0_ms=" << buf << "\n";
  }
  for (const auto& c : options.comments) os << "# " << c << "\n";
  write_atomically((hp.parent_path() / dat_name).string(), [&](std::ostream& o) { o.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
  write_atomically(hea, [&](std::ostream& o) { o << os.str(); }, false);
}

// ---- CSV ----------------------------------------------------------------------------------------

Signals read_ecg_csv(const std::string& path) {
  const std::string text = read_file_bytes(path);
  Signals s;
  std::vector<double> times;
  std::vector<double> vals;
  double time_scale = 1;
  std::int64_t line_no = 0;
  std::size_t pos = 0;
  bool have_header = false;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<std::string> cells;
    std::size_t b = 0;
    while (true) {
      const auto c = line.find(',', b);
      std::string cell = line.substr(b, c == std::string::npos ? std::string::npos : c - b);
      const auto l = cell.find_first_not_of(" \t\""), r = cell.find_last_not_of(" \t\"");
      cells.push_back(l == std::string::npos ? "" : cell.substr(l, r - l + 1));
      if (c == std::string::npos) break;
      b = c + 1;
    }
    if (!have_header) {
      have_header = true;
      CARDIOTWIN_CHECK(cells.size() >= 2 && (cells[0] == "time_ms" || cells[0] == "time_s"), FileFormatError,
                       "bad ECG CSV header", "'time_ms' (or 'time_s') then one column per lead", "'" << line << "'",
                       Where(path, line_field(line_no, "header")));
      time_scale = cells[0] == "time_s" ? 1000 : 1;
      s.names.assign(cells.begin() + 1, cells.end());
      continue;
    }
    CARDIOTWIN_CHECK(cells.size() == s.names.size() + 1, FileFormatError, "bad ECG CSV row",
                     s.names.size() + 1 << " comma-separated values", cells.size() << " values",
                     Where(path, line_field(line_no, "")));
    for (std::size_t k = 0; k < cells.size(); ++k) {
      double v = 0;
      const bool nan = cells[k] == "nan" || cells[k] == "NaN" || cells[k].empty();
      CARDIOTWIN_CHECK(nan ? k > 0 : parse_double(cells[k], v), FileFormatError, "bad ECG CSV value", "a number",
                       "'" << cells[k] << "'", Where(path, line_field(line_no, k == 0 ? "time" : "column '" + s.names[k - 1] + "'")));
      if (k == 0) times.push_back(v * time_scale);
      else vals.push_back(nan ? std::numeric_limits<double>::quiet_NaN() : v);
    }
  }
  CARDIOTWIN_CHECK(have_header, FileFormatError, "empty ECG CSV", "a header line", "nothing", Where(path));
  const auto n = static_cast<Eigen::Index>(times.size()), nc = static_cast<Eigen::Index>(s.names.size());
  s.time_ms = Eigen::Map<Eigen::VectorXd>(times.data(), n);
  s.values = Eigen::Map<Field>(vals.data(), n, nc);
  s.metadata = {{"source", path}, {"format", "csv"}};
  try {
    validate_signals(s);
  } catch (const InvalidInput& e) {
    throw FileFormatError(std::string("bad ECG CSV: ") + e.description(), e.expected(), e.found(), Where(path, e.where().field, e.where().element));
  }
  return s;
}

void write_ecg_csv(const std::string& path, const Signals& s) {
  validate_signals(s);
  write_atomically(path, [&](std::ostream& os) {
    os << "time_ms";
    for (const auto& n : s.names) {
      const bool quote = n.find(',') != std::string::npos;
      os << "," << (quote ? "\"" : "") << n << (quote ? "\"" : "");
    }
    os << "\n";
    char buf[32];
    for (std::int64_t i = 0; i < s.num_samples(); ++i) {
      std::snprintf(buf, sizeof(buf), "%.10g", s.time_ms[i]);
      os << buf;
      for (std::int64_t c = 0; c < s.num_channels(); ++c) {
        std::snprintf(buf, sizeof(buf), "%.9g", s.values(i, c));
        os << "," << buf;
      }
      os << "\n";
    }
  }, false);
}

Signals read_ecg(const std::string& path) {
  const std::string ext = file_extension(path);
  if (ext == ".csv") return read_ecg_csv(path);
  if (ext == ".hea" || ext == ".dat" || ext == ".mat" || fs::exists(path + ".hea")) return read_wfdb(path);
  CARDIOTWIN_CHECK(fs::exists(path), FileIOError, "ECG file not found", "an existing .csv, .hea (WFDB) or record name",
                   "nothing at '" << path << "'", Where(path));
  CARDIOTWIN_CHECK(false, FileFormatError, "unknown ECG file type", ".csv, .hea, .dat or .mat", "'" << ext << "'", Where(path));
  return {};
}

void write_ecg(const std::string& path, const Signals& s) {
  const std::string ext = file_extension(path);
  if (ext == ".csv") return write_ecg_csv(path, s);
  CARDIOTWIN_CHECK(ext == ".hea" || ext == ".dat" || ext.empty(), InvalidInput, "unknown ECG file type",
                   ".csv, .hea, .dat or a record name without extension", "'" << ext << "'", Where(path));
  write_wfdb(ext == ".dat" ? fs::path(path).replace_extension("").string() : path, s);
}

}  // namespace cardiotwin::ecg
