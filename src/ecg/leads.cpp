#include "cardiotwin/ecg/leads.hpp"

#include <algorithm>
#include <cctype>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::ecg {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

const std::vector<std::string>& twelve_lead_names() {
  static const std::vector<std::string> names = {"I", "II", "III", "aVR", "aVL", "aVF",
                                                 "V1", "V2", "V3", "V4", "V5", "V6"};
  return names;
}

Eigen::MatrixXd twelve_lead_matrix(const std::vector<std::string>& electrode_names) {
  const std::vector<std::string> needed = {"RA", "LA", "LL", "V1", "V2", "V3", "V4", "V5", "V6"};
  std::vector<Eigen::Index> col(needed.size(), -1);
  std::string missing;
  for (std::size_t k = 0; k < needed.size(); ++k) {
    for (std::size_t j = 0; j < electrode_names.size(); ++j)
      if (electrode_names[j] == needed[k]) col[k] = static_cast<Eigen::Index>(j);
    if (col[k] < 0) missing += (missing.empty() ? "" : ", ") + needed[k];
  }
  std::string have;
  for (const auto& n : electrode_names) have += (have.empty() ? "" : ", ") + n;
  CARDIOTWIN_CHECK(missing.empty(), InvalidInput, "electrodes missing for the 12-lead ECG",
                   "RA, LA, LL, V1 ... V6", "no " << missing << " among {" << have << "}", Where({}, "electrodes"));
  const Eigen::Index ra = col[0], la = col[1], ll = col[2];
  Eigen::MatrixXd L = Eigen::MatrixXd::Zero(12, static_cast<Eigen::Index>(electrode_names.size()));
  L(0, la) += 1, L(0, ra) -= 1;  // I
  L(1, ll) += 1, L(1, ra) -= 1;  // II
  L(2, ll) += 1, L(2, la) -= 1;  // III
  // aVX = 1.5 (X - WCT) = X - (other two) / 2.
  L(3, ra) += 1, L(3, la) -= 0.5, L(3, ll) -= 0.5;
  L(4, la) += 1, L(4, ra) -= 0.5, L(4, ll) -= 0.5;
  L(5, ll) += 1, L(5, ra) -= 0.5, L(5, la) -= 0.5;
  for (int v = 0; v < 6; ++v) {
    L(6 + v, col[3 + v]) += 1;
    for (const auto limb : {ra, la, ll}) L(6 + v, limb) -= 1.0 / 3.0;
  }
  return L;
}

Signals twelve_leads(const Signals& p) {
  validate_signals(p);
  const Eigen::MatrixXd L = twelve_lead_matrix(p.names);
  Signals s;
  s.time_ms = p.time_ms;
  s.names = twelve_lead_names();
  s.values = p.values * L.transpose();
  s.units = p.units;
  s.metadata = p.metadata;
  return s;
}

ElectrodeWeights twelve_lead_weights(const ElectrodeWeights& ew) {
  const Eigen::MatrixXd L = twelve_lead_matrix(ew.names);
  ElectrodeWeights w;
  w.names = twelve_lead_names();
  w.weights = L * ew.weights;
  w.metadata = ew.metadata;
  w.metadata["leads"] = "12-lead (Wilson central terminal)";
  return w;
}

std::int64_t find_lead(const Signals& s, const std::string& name) {
  const std::string key = lower(name);
  for (std::size_t c = 0; c < s.names.size(); ++c)
    if (lower(s.names[c]) == key) return static_cast<std::int64_t>(c);
  return -1;
}

}  // namespace cardiotwin::ecg
