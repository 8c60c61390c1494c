// A passive membrane: I_ion = g_leak (Vm - E_rest). With g_leak = 0 (the default) the tissue
// simply diffuses, which the verification tests of the diffusion operator use.
#include <algorithm>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/ionic_model.hpp"

namespace cardiotwin::ep::models {
namespace {

class Passive final : public IonicModel {
 public:
  explicit Passive(const nlohmann::json& options) : options_(options) {
    // Validate the options now so a bad config fails before any allocation.
    Passive probe_only(nullptr);
    probe_only.init(1, {});
    probe_only.apply(options_);
  }
  explicit Passive(std::nullptr_t) {}

  const IonicModelInfo& info() const override { return info_passive_static(); }

  void init(std::int64_t n, const std::vector<std::uint8_t>& cell_type) override {
    CARDIOTWIN_CHECK(cell_type.empty() || static_cast<std::int64_t>(cell_type.size()) == n, InvalidInput,
                     "cell type count mismatch", n, cell_type.size(), Where({}, "cell_type"));
    for (const auto c : cell_type)
      CARDIOTWIN_CHECK(c == 0, InvalidInput, "unknown cell type", "0 (default)", int(c), Where({}, "cell_type"));
    num_cells_ = n;
    g_.assign(static_cast<std::size_t>(n), 0.0);
    e_.assign(static_cast<std::size_t>(n), -85.0);
    apply(options_);
  }
  double initial_vm(int) const override { return e_.empty() ? -85.0 : e_[0]; }

  void set_parameter(const std::string& name, double value) override {
    std::fill(slot(name).begin(), slot(name).end(), value);
  }
  void set_parameter(const std::string& name, const std::vector<double>& values) override {
    auto& s = slot(name);
    CARDIOTWIN_CHECK(values.size() == s.size(), InvalidInput, "parameter size mismatch", s.size() << " cells",
                     values.size(), Where({}, name));
    s = values;
  }
  double parameter(const std::string& name, std::int64_t cell) const override {
    return const_cast<Passive*>(this)->slot(name).at(static_cast<std::size_t>(cell));
  }
  void step(double, const double* vm, double* iion, std::int64_t begin, std::int64_t end) override {
    for (std::int64_t i = begin; i < end; ++i) iion[i] = g_[i] * (vm[i] - e_[i]);
  }
  const double* state(int) const override { return nullptr; }
  double* state(int) override { return nullptr; }
  std::vector<double> save() const override {
    std::vector<double> out(g_);
    out.insert(out.end(), e_.begin(), e_.end());
    return out;
  }
  void restore(const std::vector<double>& d) override {
    CARDIOTWIN_CHECK(static_cast<std::int64_t>(d.size()) == 2 * num_cells_, InvalidInput,
                     "saved state does not match", 2 * num_cells_ << " values", d.size(), Where({}, "passive"));
    g_.assign(d.begin(), d.begin() + num_cells_);
    e_.assign(d.begin() + num_cells_, d.end());
  }

  static const IonicModelInfo& info_passive_static() {
    static const IonicModelInfo info{"passive", "Passive membrane, I = g_leak (Vm - E_rest); g_leak = 0 gives pure diffusion",
                                     {"default"}, {}, {"g_leak", "E_rest"}};
    return info;
  }

 private:
  std::vector<double>& slot(const std::string& name) {
    if (name == "g_leak") return g_;
    if (name == "E_rest") return e_;
    CARDIOTWIN_CHECK(false, InvalidInput, "unknown parameter of model 'passive'", "one of: g_leak, E_rest",
                     "'" << name << "'", Where({}, "ionic_options"));
    return g_;
  }
  void apply(const nlohmann::json& options) {
    if (options.is_null()) return;
    CARDIOTWIN_CHECK(options.is_object(), InvalidInput, "bad ionic options", "a JSON object", options.type_name(),
                     Where({}, "ionic_options"));
    for (const auto& [key, value] : options.items()) {
      CARDIOTWIN_CHECK(value.is_number(), InvalidInput, "bad parameter value", "a number", value.dump(),
                       Where({}, "ionic_options." + key));
      set_parameter(key, value.get<double>());
    }
  }
  nlohmann::json options_;
  std::vector<double> g_, e_;
};

}  // namespace

std::unique_ptr<IonicModel> make_passive(const nlohmann::json& options) { return std::make_unique<Passive>(options); }
const IonicModelInfo& info_passive() { return Passive::info_passive_static(); }

}  // namespace cardiotwin::ep::models
