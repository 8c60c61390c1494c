// Anisotropic Eikonal (fast iterative method with an exact tetrahedral local solver) and the
// reaction-Eikonal tissue model.
#include "cardiotwin/ep/eikonal.hpp"

#include <omp.h>
#ifdef __linux__
#endif

#include <Eigen/Geometry>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/ionic_model.hpp"
#include "cardiotwin/ep/single_cell.hpp"
#include "cardiotwin/ep/stimulus.hpp"
#include "cardiotwin/io/vtk.hpp"
#include "threads.hpp"

namespace cardiotwin::ep {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using detail::effective_threads;
using detail::ThreadScope;

Eigen::Vector3d read_point(JsonReader& r, const std::string& key, bool required) {
  std::vector<double> v;
  const bool got = r.get(key, v);
  CARDIOTWIN_CHECK(got || !required, InvalidInput, "missing option", "key '" << key << "'", "none",
                   Where({}, r.path(key)));
  if (!got) return Eigen::Vector3d::Zero();
  CARDIOTWIN_CHECK(v.size() == 3 && std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]), InvalidInput,
                   "bad point", "[x, y, z] in mm", nlohmann::json(v).dump(), Where({}, r.path(key)));
  return {v[0], v[1], v[2]};
}

nlohmann::json point_json(const Eigen::Vector3d& p) { return {p[0], p[1], p[2]}; }

int parse_tag(const std::string& key, const std::string& where) {
  try {
    std::size_t used = 0;
    const int tag = std::stoi(key, &used);
    if (used == key.size()) return tag;
  } catch (const std::exception&) {
  }
  CARDIOTWIN_CHECK(false, InvalidInput, "bad region tag", "an integer key", "'" << key << "'", Where({}, where));
  return 0;
}

// ---- the local solver ------------------------------------------------------------------------
// A tet stores its vertices and the squared travel times along its six edges, E_ab = (p_a - p_b)^T M
// (p_a - p_b) with M = D^{-1} the tet's metric. The six values determine M on the tet (a symmetric
// 3x3 matrix has six entries), and every quantity of the local solve is one of them or follows by
// polarisation: (p_a - p_c)^T M (p_b - p_c) = (E_ac + E_bc - E_ab) / 2. So a local solve reads
// 44 bytes of its tet (with the pruning bound h) and the three other vertex times, and no coordinates.
struct TetRecord {
  std::int32_t v[4];
  float e[6];  // E_01, E_02, E_03, E_12, E_13, E_23 (ms^2)
  float h;     // a lower bound of the travel time from any vertex to its opposite face (ms)
};
constexpr int kEdge[4][4] = {{-1, 0, 1, 2}, {0, -1, 3, 4}, {1, 3, -1, 5}, {2, 4, 5, -1}};

// The smallest metric distance from a vertex to the plane of its opposite face, from the squared
// edge lengths alone: h_a^2 = det(G) / (4 A_a^2) with G the Gram matrix of the edges at vertex 0
// (det G = (6 V)^2) and 16 A^2 = 4 E_ab E_ac - (E_ab + E_ac - E_bc)^2 for a face abc (Heron).
// Every local solve of the tet is at least the smallest other vertex time plus this; rounded
// down by 1e-3 so that float rounding never prunes a solve that could win.
inline float min_height(const float* e) {
  const double e01 = e[0], e02 = e[1], e03 = e[2], e12 = e[3], e13 = e[4], e23 = e[5];
  const double g12 = 0.5 * (e01 + e02 - e12), g13 = 0.5 * (e01 + e03 - e13), g23 = 0.5 * (e02 + e03 - e23);
  const double det = e01 * (e02 * e03 - g23 * g23) - g12 * (g12 * e03 - g23 * g13) + g13 * (g12 * g23 - e02 * g13);
  auto area16 = [](double ab, double ac, double bc) {
    const double u = ab + ac - bc;
    return 4 * ab * ac - u * u;
  };
  const double a = std::max({area16(e12, e13, e23), area16(e02, e03, e23), area16(e01, e03, e13), area16(e01, e02, e12)});
  if (!(det > 0) || !(a > 0)) return 0.0f;
  return static_cast<float>(0.999 * std::sqrt(4 * det / a));
}

// min over lambda in [0, 1] of ta + lambda delta + sqrt(c - 2 b lambda + a lambda^2), the segment
// from vertex a (lambda 0) to vertex b (lambda 1), with a = d^T M d, b = d^T M e0, c = e0^T M e0.
// Convex in lambda: the stationary point, clamped, is the minimum.
inline double solve_edge(double ta, double delta, double a, double b, double c) {
  if (a > 0) {
    const double ia = 1 / a, dd = delta * delta * ia;
    if (dd < 1) {
      const double s = std::sqrt(std::max(0.0, c - b * b * ia) / (1 - dd));
      const double l = std::clamp((b - s * delta) * ia, 0.0, 1.0);
      return ta + l * delta + std::sqrt(std::max(0.0, c - 2 * b * l + a * l * l));
    }
  }
  // Degenerate edge, or the interpolated time falls faster than the distance grows: an end.
  return std::min(ta + std::sqrt(std::max(0.0, c)), ta + delta + std::sqrt(std::max(0.0, c - 2 * b + a)));
}

// Candidate time of the vertex in slot `sx` of tet `t`; `best` prunes: when every other vertex
// time is >= best no candidate can beat it.
// Activation times are read and written concurrently (Gauss-Seidel sweeps): relaxed atomics,
// plain loads and stores on x86-64.
using AtomicTime = std::atomic<double>;
inline double load(const AtomicTime* T, std::int32_t i) { return T[i].load(std::memory_order_relaxed); }

inline double solve_in_tet(const TetRecord& t, int sx, const AtomicTime* T, double best) {
  // The other slots, sorted by time (finite ones first).
  int o[3] = {sx == 0 ? 1 : 0, sx <= 1 ? 2 : 1, sx <= 2 ? 3 : 2};
  double to[3] = {load(T, t.v[o[0]]), load(T, t.v[o[1]]), load(T, t.v[o[2]])};
  if (to[1] < to[0]) std::swap(to[0], to[1]), std::swap(o[0], o[1]);
  if (to[2] < to[1]) std::swap(to[1], to[2]), std::swap(o[1], o[2]);
  if (to[1] < to[0]) std::swap(to[0], to[1]), std::swap(o[0], o[1]);
  if (!(to[0] + t.h < best)) return kInf;  // every candidate is >= to[0] + h
  auto E = [&](int a, int b) { return static_cast<double>(t.e[kEdge[a][b]]); };
  const double c = E(sx, o[0]);  // (x - p0)^T M (x - p0)
  if (!std::isfinite(to[1])) return to[0] + std::sqrt(c);
  const double g11 = E(o[1], o[0]), x1 = E(sx, o[1]);
  const double h1 = 0.5 * (g11 + c - x1), t1 = to[1] - to[0];  // (p1 - p0)^T M (x - p0)
  if (!std::isfinite(to[2])) return solve_edge(to[0], t1, g11, h1, c);
  const double g22 = E(o[2], o[0]), e12 = E(o[1], o[2]), x2 = E(sx, o[2]);
  const double g12 = 0.5 * (g11 + g22 - e12), h2 = 0.5 * (g22 + c - x2), t2 = to[2] - to[0];
  // Interior of the face: lambda = G^{-1}(h - s tau), s^2 = c0 / (1 - tau^T G^{-1} tau) with c0 the
  // squared distance from x to the face plane (derivation in docs/ep.md).
  const double det = g11 * g22 - g12 * g12;
  // Which edges can hold the minimum: all three unless the stationary point is known.
  bool on_a = true, on_b = true, on_c = true;  // edges p0-p1 (lb = 0), p0-p2 (la = 0), p1-p2
  if (det > 1e-12 * g11 * g22) {
    const double id = 1 / det;
    const double l0a = (g22 * h1 - g12 * h2) * id, l0b = (g11 * h2 - g12 * h1) * id;
    const double ra = (g22 * t1 - g12 * t2) * id, rb = (g11 * t2 - g12 * t1) * id;
    const double tr = t1 * ra + t2 * rb;
    if (tr < 1) {
      const double c0 = std::max(0.0, c - h1 * l0a - h2 * l0b);
      const double s = std::sqrt(c0 / (1 - tr));
      const double la = l0a - s * ra, lb = l0b - s * rb;
      const bool out_a = la < 0, out_b = lb < 0, out_c = la + lb > 1;
      if (!out_a && !out_b && !out_c) return to[0] + la * t1 + lb * t2 + s;
      // The objective is convex, so its minimum over the face lies on an edge whose constraint
      // the stationary point violates (moving from that minimum towards the stationary point
      // lowers the objective, so it must leave the face through that edge).
      on_a = out_b, on_b = out_a, on_c = out_c;
    }
  }
  // The minimum lies on an edge of the face.
  double best_edge = kInf;
  if (on_a) best_edge = solve_edge(to[0], t1, g11, h1, c);
  if (on_b) best_edge = std::min(best_edge, solve_edge(to[0], t2, g22, h2, c));
  if (on_c) best_edge = std::min(best_edge, solve_edge(to[1], to[2] - to[1], e12, 0.5 * (e12 + x1 - x2), x1));
  return best_edge;
}

// An uninitialised array of trivially constructible T (no value-initialisation pass: the solver
// fills each array once, in parallel where it can). Transparent huge pages were tried and
// dropped: on the 1M-node box faulting in 2 MB pages made setup 0.35 s slower and the sweeps
// no faster once most local solves stop at the bound check.
struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};
template <class T>
std::unique_ptr<T[], FreeDeleter> raw_array(std::size_t count) {
  void* p = std::malloc(std::max<std::size_t>(1, count * sizeof(T)));
  if (!p) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

// Node -> incident tets (CSR), tets in ascending order per node. Each thread owns a contiguous
// range of nodes and scans every tet for the entries in its range: no atomics, and the result
// does not depend on the thread count.
struct Adjacency {
  std::vector<std::int64_t> offset;
  std::unique_ptr<std::int32_t[], FreeDeleter> tets;
};
Adjacency node_tets(const TetMesh& mesh) {
  const std::int64_t n = mesh.num_points(), m = mesh.num_tets();
  Adjacency a;
  a.offset.resize(static_cast<std::size_t>(n + 1));
  a.tets = raw_array<std::int32_t>(static_cast<std::size_t>(4 * m));
  const Index* t = mesh.tets.data();
  std::int64_t* off = a.offset.data();
  std::int32_t* out = a.tets.get();
#pragma omp parallel
  {
    const std::int64_t nt = omp_get_num_threads(), me = omp_get_thread_num();
    const Index lo = static_cast<Index>(n * me / nt), hi = static_cast<Index>(n * (me + 1) / nt);
    const auto mine = [&](Index v) { return static_cast<std::uint32_t>(v - lo) < static_cast<std::uint32_t>(hi - lo); };
    std::fill(off + lo + 1, off + hi + 1, std::int64_t(0));
    for (std::int64_t k = 0; k < 4 * m; ++k)
      if (mine(t[k])) ++off[t[k] + 1];
#pragma omp barrier
#pragma omp single
    {
      off[0] = 0;
      for (std::int64_t i = 0; i < n; ++i) off[i + 1] += off[i];
    }
    // `off[v]` is the next free slot of v while scattering, so it ends at the start of v + 1;
    // then each range shifts back by one (its first start is the end of the range before).
    for (std::int64_t k = 0; k < 4 * m; ++k)
      if (mine(t[k])) out[off[t[k]]++] = static_cast<std::int32_t>(k / 4);
#pragma omp barrier
    const std::int64_t first = lo > 0 ? off[lo - 1] : 0;
#pragma omp barrier
    for (Index v = hi - 1; v > lo; --v) off[v] = off[v - 1];
    if (hi > lo) off[lo] = first;
  }
  return a;
}

// The longest edge of the first `max_tets` tets (all by default).
double longest_edge(const TetMesh& mesh, std::int64_t max_tets = -1) {
  double best = 0;
  const std::int64_t m = max_tets < 0 ? mesh.num_tets() : std::min(max_tets, mesh.num_tets());
#pragma omp parallel for reduction(max : best) schedule(static)
  for (std::int64_t e = 0; e < m; ++e)
    for (int a = 0; a < 4; ++a)
      for (int b = a + 1; b < 4; ++b)
        best = std::max(best, (mesh.points.row(mesh.tets(e, a)) - mesh.points.row(mesh.tets(e, b))).squaredNorm());
  return std::sqrt(best);
}

}  // namespace

// ---- options ---------------------------------------------------------------------------------

nlohmann::json ConductionVelocity::to_json() const { return {{"fibre", fibre}, {"sheet", sheet}, {"normal", normal}}; }

ConductionVelocity ConductionVelocity::from_json(const nlohmann::json& j, const std::string& where) {
  JsonReader r(j, where);
  ConductionVelocity v;
  r.get("fibre", v.fibre);
  r.get("sheet", v.sheet);
  v.normal = v.sheet;
  r.get("normal", v.normal);
  r.finish();
  const double x[3] = {v.fibre, v.sheet, v.normal};
  const char* names[3] = {"fibre", "sheet", "normal"};
  for (int a = 0; a < 3; ++a)
    CARDIOTWIN_CHECK(std::isfinite(x[a]) && x[a] > 0, InvalidInput, "non-positive conduction velocity",
                     "> 0 mm/ms (= m/s)", x[a], Where({}, where + "." + names[a]));
  return v;
}

EikonalRoot EikonalRoot::at_node(std::int64_t node, double time_ms, std::string name) {
  EikonalRoot r;
  r.shape = "node";
  r.node = node;
  r.time_ms = time_ms;
  r.name = std::move(name);
  return r;
}

EikonalRoot EikonalRoot::at_point(const Eigen::Vector3d& point, double time_ms, std::string name) {
  EikonalRoot r;
  r.shape = "point";
  r.point = point;
  r.time_ms = time_ms;
  r.name = std::move(name);
  return r;
}

nlohmann::json EikonalRoot::to_json() const {
  nlohmann::json j = {{"shape", shape}, {"time_ms", time_ms}};
  if (!name.empty()) j["name"] = name;
  if (shape == "node") j["node"] = node;
  if (shape == "nodes") j["nodes"] = nodes;
  if (shape == "point") j["point"] = point_json(point);
  if (shape == "box") j["min"] = point_json(box_min), j["max"] = point_json(box_max);
  if (shape == "sphere") j["center"] = point_json(center), j["radius_mm"] = radius_mm;
  if (shape == "region") j["region"] = region;
  return j;
}

EikonalRoot EikonalRoot::from_json(const nlohmann::json& j, const std::string& where) {
  JsonReader r(j, where);
  EikonalRoot root;
  std::string shape;
  const bool has_shape = r.get("shape", shape);
  if (!has_shape) {
    if (r.raw("node")) shape = "node";
    else if (r.raw("nodes")) shape = "nodes";
    else if (r.raw("point")) shape = "point";
    CARDIOTWIN_CHECK(!shape.empty(), InvalidInput, "root without location",
                     "'node', 'nodes', 'point' or 'shape' (box, sphere, region)", j.dump(), Where({}, where));
  }
  check_choice(shape, {"node", "nodes", "point", "box", "sphere", "region"}, r.path("shape"));
  root.shape = shape;
  if (shape == "node") r.require("node", root.node);
  if (shape == "nodes") r.require("nodes", root.nodes);
  if (shape == "point") root.point = read_point(r, "point", true);
  if (shape == "box") {
    root.box_min = read_point(r, "min", true);
    root.box_max = read_point(r, "max", true);
  }
  if (shape == "sphere") {
    root.center = read_point(r, "center", true);
    r.require("radius_mm", root.radius_mm);
  }
  if (shape == "region") r.require("region", root.region);
  r.get("time_ms", root.time_ms);
  r.get("name", root.name);
  r.finish();
  CARDIOTWIN_CHECK(std::isfinite(root.time_ms), InvalidInput, "bad root time", "a finite time in ms", root.time_ms,
                   Where({}, r.path("time_ms")));
  return root;
}

nlohmann::json EikonalOptions::to_json() const {
  nlohmann::json j = {{"version", kVersion},
                      {"velocity", velocity.to_json()},
                      {"root_snap_tolerance_mm", root_snap_tolerance_mm},
                      {"tolerance_ms", tolerance_ms},
                      {"max_iterations", max_iterations},
                      {"threads", threads}};
  j["region_velocity"] = nlohmann::json::object();
  for (const auto& [tag, v] : region_velocity) j["region_velocity"][std::to_string(tag)] = v.to_json();
  j["roots"] = nlohmann::json::array();
  for (const auto& r : roots) j["roots"].push_back(r.to_json());
  return j;
}

namespace {
// Reads the Eikonal keys from `r` (shared by EikonalOptions and EikonalModelOptions).
void read_eikonal(JsonReader& r, EikonalOptions& o, const std::string& where) {
  if (const auto* v = r.raw("velocity")) o.velocity = ConductionVelocity::from_json(*v, where + ".velocity");
  if (const auto* rv = r.raw("region_velocity")) {
    CARDIOTWIN_CHECK(rv->is_object(), InvalidInput, "bad region velocities",
                     "an object {\"<region tag>\": {\"fibre\": ...}}", rv->type_name(),
                     Where({}, where + ".region_velocity"));
    for (const auto& [key, value] : rv->items())
      o.region_velocity[parse_tag(key, where + ".region_velocity")] =
          ConductionVelocity::from_json(value, where + ".region_velocity." + key);
  }
  if (const auto* roots = r.raw("roots")) {
    CARDIOTWIN_CHECK(roots->is_array(), InvalidInput, "bad roots", "a list of root objects", roots->type_name(),
                     Where({}, where + ".roots"));
    for (std::size_t k = 0; k < roots->size(); ++k)
      o.roots.push_back(EikonalRoot::from_json((*roots)[k], where + ".roots[" + std::to_string(k) + "]"));
  }
  r.get("root_snap_tolerance_mm", o.root_snap_tolerance_mm);
  r.get("tolerance_ms", o.tolerance_ms);
  r.get("max_iterations", o.max_iterations);
  r.get("threads", o.threads);
}
}  // namespace

EikonalOptions EikonalOptions::from_json(const nlohmann::json& j, const std::string& where) {
  JsonReader r(j, where);
  EikonalOptions o;
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, where + ".version"));
  read_eikonal(r, o, where);
  r.finish();
  o.validate();
  return o;
}

void EikonalOptions::validate() const {
  auto check_v = [](const ConductionVelocity& v, const std::string& where) {
    const double x[3] = {v.fibre, v.sheet, v.normal};
    for (double a : x)
      CARDIOTWIN_CHECK(std::isfinite(a) && a > 0, InvalidInput, "non-positive conduction velocity",
                       "> 0 mm/ms (= m/s) along fibre, sheet and normal",
                       v.fibre << ", " << v.sheet << ", " << v.normal, Where({}, where));
  };
  check_v(velocity, "eikonal.velocity");
  for (const auto& [tag, v] : region_velocity) check_v(v, "eikonal.region_velocity." + std::to_string(tag));
  CARDIOTWIN_CHECK(!roots.empty(), InvalidInput, "no root nodes", "at least one root (node, point or region)",
                   "none", Where({}, "eikonal.roots"));
  CARDIOTWIN_CHECK(std::isfinite(tolerance_ms) && tolerance_ms > 0, InvalidInput, "bad tolerance", "> 0 ms",
                   tolerance_ms, Where({}, "eikonal.tolerance_ms"));
  CARDIOTWIN_CHECK(max_iterations >= 0, InvalidInput, "bad iteration limit", ">= 0 (0 = automatic)", max_iterations,
                   Where({}, "eikonal.max_iterations"));
  CARDIOTWIN_CHECK(threads >= 0, InvalidInput, "bad thread count", ">= 0 (0 = automatic)", threads,
                   Where({}, "eikonal.threads"));
  CARDIOTWIN_CHECK(std::isfinite(root_snap_tolerance_mm), InvalidInput, "bad snap tolerance",
                   "a finite distance in mm (<= 0: the longest edge)", root_snap_tolerance_mm,
                   Where({}, "eikonal.root_snap_tolerance_mm"));
}

nlohmann::json EikonalSolution::to_json() const {
  return {{"root_nodes", root_nodes},   {"root_times_ms", root_times_ms}, {"unreached", unreached},
          {"iterations", iterations},   {"local_solves", local_solves},   {"seconds", seconds},
          {"setup_seconds", setup_seconds}, {"threads", threads}};
}

// ---- roots -----------------------------------------------------------------------------------

void resolve_roots(const TetMesh& mesh, const EikonalOptions& options, std::vector<std::int64_t>& nodes,
                   std::vector<double>& times) {
  nodes.clear();
  times.clear();
  const std::int64_t n = mesh.num_points();
  // Default snap tolerance: the longest edge. A few tets' longest edge already admits most
  // points, so every tet is scanned only for a point farther from its nearest node than that.
  double sample_edge = -1, all_edge = -1;
  for (std::size_t k = 0; k < options.roots.size(); ++k) {
    const EikonalRoot& r = options.roots[k];
    const std::string where = "eikonal.roots[" + std::to_string(k) + "]";
    CARDIOTWIN_CHECK(std::isfinite(r.time_ms), InvalidInput, "bad root time", "a finite time in ms", r.time_ms,
                     Where({}, where + ".time_ms"));
    std::vector<std::int64_t> sel;
    if (r.shape == "node") {
      sel = {r.node};
    } else if (r.shape == "nodes") {
      sel = r.nodes;
      CARDIOTWIN_CHECK(!sel.empty(), InvalidInput, "empty root node list", "at least one node index", "[]",
                       Where({}, where + ".nodes"));
    } else if (r.shape == "point") {
      Eigen::Index best = 0;
      const double d2 = (mesh.points.rowwise() - r.point.transpose()).rowwise().squaredNorm().minCoeff(&best);
      double snap = options.root_snap_tolerance_mm;
      if (snap <= 0) {
        if (sample_edge < 0) sample_edge = longest_edge(mesh, 4096);
        snap = sample_edge;
        if (std::sqrt(d2) > snap) {
          if (all_edge < 0) all_edge = longest_edge(mesh);
          snap = all_edge;
        }
      }
      CARDIOTWIN_CHECK(std::sqrt(d2) <= snap, InvalidInput, "root point outside the mesh",
                       "a point within " << snap << " mm of a node (root_snap_tolerance_mm)",
                       "(" << r.point[0] << ", " << r.point[1] << ", " << r.point[2] << ") mm, " << std::sqrt(d2)
                           << " mm from the nearest node " << best,
                       Where({}, where + ".point"));
      sel = {static_cast<std::int64_t>(best)};
    } else {
      Stimulus s;
      s.shape = r.shape;
      s.box_min = r.box_min;
      s.box_max = r.box_max;
      s.center = r.center;
      s.radius_mm = r.radius_mm;
      s.region = r.region;
      try {
        sel = s.select_nodes(mesh);
      } catch (const InvalidInput& e) {
        CARDIOTWIN_CHECK(false, InvalidInput, "root region selects no node", "a region with mesh nodes inside",
                         e.description(), Where({}, where));
      }
    }
    for (const auto i : sel) {
      CARDIOTWIN_CHECK(i >= 0 && i < n, InvalidInput, "root node out of range", "an index in [0, " << n << ")", i,
                       Where({}, where));
      nodes.push_back(i);
      times.push_back(r.time_ms);
    }
  }
}

// ---- the solver ------------------------------------------------------------------------------

EikonalSolution solve_eikonal(const TetMesh& mesh, const EikonalOptions& options) {
  const auto clock0 = Clock::now();
  options.validate();
  const std::int64_t n = mesh.num_points(), m = mesh.num_tets();
  CARDIOTWIN_CHECK(m > 0, InvalidInput, "empty mesh", "at least one tet", 0, Where("mesh", "tets"));
  CARDIOTWIN_CHECK(n < std::numeric_limits<std::int32_t>::max() && m < std::numeric_limits<std::int32_t>::max(),
                   InvalidInput, "mesh too large", "fewer than 2^31 nodes and tets", n << " nodes, " << m << " tets",
                   Where("mesh"));
  CARDIOTWIN_CHECK(mesh.region.size() == 0 || mesh.region.size() == m, InvalidInput, "region tags size mismatch",
                   m << " tags", mesh.region.size(), Where("mesh", "region"));
  const int nthreads = effective_threads(options.threads, n);
  ThreadScope scope(nthreads);
  EikonalSolution sol;
  sol.threads = nthreads;
  resolve_roots(mesh, options, sol.root_nodes, sol.root_times_ms);

  // Per-region metric coefficients: M = a I + b f f^T + c n n^T (since f f^T + s s^T + n n^T = I).
  auto coeffs = [](const ConductionVelocity& v) {
    const double is = 1 / (v.sheet * v.sheet);
    return Eigen::Vector3d(is, 1 / (v.fibre * v.fibre) - is, 1 / (v.normal * v.normal) - is);
  };
  bool need_fibre = false, need_normal = false;
  auto note = [&](const ConductionVelocity& v) {
    need_fibre |= v.fibre != v.sheet || v.normal != v.sheet;
    need_normal |= v.normal != v.sheet;
  };
  note(options.velocity);
  std::map<Index, Eigen::Vector3d> region_coeffs;
  for (const auto& [tag, v] : options.region_velocity) {
    note(v);
    region_coeffs[tag] = coeffs(v);
  }
  const Eigen::Vector3d default_coeffs = coeffs(options.velocity);
  CARDIOTWIN_CHECK(!need_fibre || mesh.fibre.rows() == m, InvalidInput, "fibres missing",
                   "per-tet fibre directions (mesh.fibre, " << m << " rows) for anisotropic velocities",
                   mesh.fibre.rows() << " rows", Where("mesh", "fibre"));
  CARDIOTWIN_CHECK(!need_normal || mesh.normal.rows() == m || mesh.sheet.rows() == m, InvalidInput, "sheets missing",
                   "per-tet sheet or normal directions when sheet and normal velocities differ", "none",
                   Where("mesh", "sheet"));

  const auto tets = raw_array<TetRecord>(static_cast<std::size_t>(m));  // filled in parallel
  std::int64_t bad_fibre = -1, bad_node = -1;
#pragma omp parallel for schedule(static) reduction(max : bad_fibre, bad_node)
  for (std::int64_t e = 0; e < m; ++e) {
    TetRecord& t = tets[static_cast<std::size_t>(e)];
    for (int a = 0; a < 4; ++a) {
      t.v[a] = mesh.tets(e, a);
      if (t.v[a] < 0 || t.v[a] >= n) bad_node = std::max(bad_node, e);
    }
    if (bad_node == e) continue;
    Eigen::Vector3d c = default_coeffs;
    if (!region_coeffs.empty()) {
      const auto it = region_coeffs.find(mesh.region_of(e));
      if (it != region_coeffs.end()) c = it->second;
    }
    // E_ab = c0 |d|^2 + c1 (f . d)^2 + c2 (n . d)^2 with d = p_a - p_b, f and n unit vectors.
    double f[3] = {0, 0, 0}, nn[3] = {0, 0, 0};
    if (c[1] != 0) {
      for (int k = 0; k < 3; ++k) f[k] = mesh.fibre(e, k);
      const double len = std::sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
      if (!(len > 1e-12) || !std::isfinite(len)) bad_fibre = std::max(bad_fibre, e);
      for (double& v : f) v /= len;
    }
    if (c[2] != 0) {
      if (mesh.normal.rows() == m) {
        for (int k = 0; k < 3; ++k) nn[k] = mesh.normal(e, k);
      } else {
        const Eigen::Vector3d v = mesh.fibre.row(e).transpose().cross(mesh.sheet.row(e).transpose());
        for (int k = 0; k < 3; ++k) nn[k] = v[k];
      }
      const double len = std::sqrt(nn[0] * nn[0] + nn[1] * nn[1] + nn[2] * nn[2]);
      if (!(len > 1e-12) || !std::isfinite(len)) bad_fibre = std::max(bad_fibre, e);
      for (double& v : nn) v /= len;
    }
    for (int a = 0; a < 4; ++a)
      for (int b = a + 1; b < 4; ++b) {
        double d[3];
        for (int k = 0; k < 3; ++k) d[k] = mesh.points(t.v[a], k) - mesh.points(t.v[b], k);
        const double df = f[0] * d[0] + f[1] * d[1] + f[2] * d[2], dn = nn[0] * d[0] + nn[1] * d[1] + nn[2] * d[2];
        t.e[kEdge[a][b]] = static_cast<float>(c[0] * (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) + c[1] * df * df +
                                              c[2] * dn * dn);
      }
    t.h = min_height(t.e);
  }
  CARDIOTWIN_CHECK(bad_node < 0, InvalidInput, "tet node index out of range", "indices in [0, " << n << ")",
                   "tet " << bad_node, Where("mesh", "tets", bad_node));
  CARDIOTWIN_CHECK(bad_fibre < 0, InvalidInput, "bad fibre direction", "a non-zero finite direction per tet",
                   "zero or NaN", Where("mesh", "fibre", bad_fibre));
  const Adjacency adj = node_tets(mesh);
  sol.setup_seconds = seconds_since(clock0);

  // Fast iterative method with Gauss-Seidel updates: a new time is visible to the nodes updated
  // after it in the same sweep, so corrections travel many nodes per sweep (on an anisotropic LV
  // with rotating fibres this needs about half the local solves of Jacobi updates). With one
  // thread the result is deterministic; with more it may differ by up to about tolerance_ms.
  const auto T = raw_array<AtomicTime>(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) new (&T[i]) AtomicTime(kInf);
  // Per node: out of the active list, in it, or in it since the last sweep queued it.
  constexpr std::uint8_t kOut = 0, kInList = 1, kFresh = 2;
  std::vector<std::uint8_t> in_list(static_cast<std::size_t>(n), kOut);
  std::vector<std::int32_t> list;
  for (std::size_t k = 0; k < sol.root_nodes.size(); ++k) {
    const auto i = sol.root_nodes[k];
    T[i].store(std::min(load(T.get(), static_cast<std::int32_t>(i)), sol.root_times_ms[k]), std::memory_order_relaxed);
    if (!in_list[static_cast<std::size_t>(i)]) {
      in_list[static_cast<std::size_t>(i)] = kInList;
      list.push_back(static_cast<std::int32_t>(i));
    }
  }
  const double tol = options.tolerance_ms;
  const std::int64_t max_iter = options.max_iterations > 0
                                    ? options.max_iterations
                                    : 1000 + 100 * static_cast<std::int64_t>(std::cbrt(static_cast<double>(n)));
  AtomicTime* Td = T.get();
  std::vector<std::uint8_t> converged;
  std::vector<std::vector<std::pair<std::int32_t, double>>> proposals(static_cast<std::size_t>(nthreads));
  std::int64_t solves = 0;
  while (!list.empty()) {
    CARDIOTWIN_CHECK(sol.iterations < max_iter, SolverDiverged, "the Eikonal iteration did not converge",
                     "an empty active list within " << max_iter << " sweeps (max_iterations)",
                     list.size() << " active nodes", Where({}, "eikonal.max_iterations"));
    ++sol.iterations;
    // In node order, split evenly between the threads: neighbouring nodes share tets and times
    // in cache, and the threads rarely touch the same cache lines (10-15% faster than dynamic
    // chunks of the unsorted list).
    std::sort(list.begin(), list.end());
    const std::int64_t L = static_cast<std::int64_t>(list.size());
    converged.resize(static_cast<std::size_t>(L));
    // 1. Update every active node from all its tets.
#pragma omp parallel for schedule(static) reduction(+ : solves)
    for (std::int64_t k = 0; k < L; ++k) {
      const std::int32_t x = list[static_cast<std::size_t>(k)];
      const double old = load(Td, x);
      double best = old;
      // A node queued by the last sweep's offers is up to date with every tet whose other
      // vertices are all out of the list: each of them offered its final time to it. So only
      // tets touching the list can lower it (kFresh: queued, not yet updated).
      const bool fresh = in_list[static_cast<std::size_t>(x)] == kFresh;
      for (std::int64_t q = adj.offset[x]; q < adj.offset[x + 1]; ++q) {
        const TetRecord& t = tets[static_cast<std::size_t>(adj.tets[static_cast<std::size_t>(q)])];
        const int sx = t.v[0] == x ? 0 : t.v[1] == x ? 1 : t.v[2] == x ? 2 : 3;
        if (fresh && !in_list[static_cast<std::size_t>(t.v[sx ^ 1])] && !in_list[static_cast<std::size_t>(t.v[sx ^ 2])] &&
            !in_list[static_cast<std::size_t>(t.v[sx ^ 3])])
          continue;
        best = std::min(best, solve_in_tet(t, sx, Td, best));
        ++solves;
      }
      if (best < old) Td[x].store(best, std::memory_order_relaxed);  // only this thread writes x
      converged[static_cast<std::size_t>(k)] = old - best <= tol;
    }
    // 2. Converged nodes offer their time to neighbours not in the list, tet by tet (only tets
    // holding a changed node can give a better time).
#pragma omp parallel reduction(+ : solves)
    {
      auto& mine = proposals[static_cast<std::size_t>(omp_get_thread_num())];
      mine.clear();
#pragma omp for schedule(static)
      for (std::int64_t k = 0; k < L; ++k) {
        if (!converged[static_cast<std::size_t>(k)]) continue;
        const std::int32_t x = list[static_cast<std::size_t>(k)];
        for (std::int64_t q = adj.offset[x]; q < adj.offset[x + 1]; ++q) {
          const TetRecord& t = tets[static_cast<std::size_t>(adj.tets[static_cast<std::size_t>(q)])];
          for (int a = 0; a < 4; ++a) {
            const std::int32_t y = t.v[a];
            if (y == x || in_list[static_cast<std::size_t>(y)]) continue;
            const double ty = load(Td, y);
            const double cand = solve_in_tet(t, a, Td, ty - tol);
            ++solves;
            if (cand < ty - tol) mine.emplace_back(y, cand);
          }
        }
      }
    }
    // 3. New list: the unconverged, then the improved neighbours.
    std::size_t keep = 0;
    for (std::int64_t k = 0; k < L; ++k) {
      const std::int32_t x = list[static_cast<std::size_t>(k)];
      if (converged[static_cast<std::size_t>(k)]) {
        in_list[static_cast<std::size_t>(x)] = kOut;
      } else {
        in_list[static_cast<std::size_t>(x)] = kInList;
        list[keep++] = x;
      }
    }
    list.resize(keep);
    for (auto& mine : proposals)
      for (const auto& [y, cand] : mine) {
        if (cand < load(Td, y)) Td[y].store(cand, std::memory_order_relaxed);
        if (!in_list[static_cast<std::size_t>(y)]) {
          in_list[static_cast<std::size_t>(y)] = kFresh;
          list.push_back(y);
        }
      }
  }
  sol.local_solves = solves;
  sol.activation_ms.resize(n);
  for (std::int64_t i = 0; i < n; ++i) sol.activation_ms[i] = load(Td, static_cast<std::int32_t>(i));
  sol.unreached = static_cast<std::int64_t>((sol.activation_ms.array() == kInf).count());
  sol.seconds = seconds_since(clock0);
  return sol;
}

// ---- action-potential templates ----------------------------------------------------------------

double ApTemplate::at(double t) const {
  const double u = (t - t0_ms) / dt_ms;
  if (!(u > 0)) return vm_mv.front();
  const auto last = static_cast<double>(vm_mv.size() - 1);
  if (u >= last) return vm_mv.back();
  const auto k = static_cast<std::size_t>(u);
  const double w = u - static_cast<double>(k);
  return (1 - w) * vm_mv[k] + w * vm_mv[k + 1];
}

ApTemplate ApTemplate::from_samples(double t0_ms, double dt_ms, std::vector<double> vm, double act_mv,
                                    double repol_mv) {
  CARDIOTWIN_CHECK(vm.size() >= 3 && dt_ms > 0, InvalidInput, "bad action potential samples",
                   "at least 3 samples and dt > 0", vm.size() << " samples, dt " << dt_ms, Where({}, "template"));
  const std::size_t N = vm.size();
  std::size_t up = N;
  for (std::size_t k = 0; k + 1 < N; ++k)
    if (vm[k] < act_mv && vm[k + 1] >= act_mv) {
      up = k;
      break;
    }
  CARDIOTWIN_CHECK(up < N, InvalidInput, "action potential template never activates",
                   "an upward crossing of " << act_mv << " mV (activation_threshold_mv)",
                   "maximum " << *std::max_element(vm.begin(), vm.end()) << " mV", Where({}, "template"));
  const double t_act = t0_ms + dt_ms * (static_cast<double>(up) + (act_mv - vm[up]) / (vm[up + 1] - vm[up]));
  std::size_t peak = up;
  // The peak of the upstroke: the first maximum after activation (within the spike).
  while (peak + 1 < N && vm[peak + 1] >= vm[peak]) ++peak;
  std::size_t down = N;
  for (std::size_t k = peak; k + 1 < N; ++k)
    if (vm[k] >= repol_mv && vm[k + 1] < repol_mv) {
      down = k;
      break;
    }
  CARDIOTWIN_CHECK(down < N, InvalidInput, "action potential template never repolarises",
                   "a downward crossing of " << repol_mv << " mV (repolarisation_threshold_mv) after the peak",
                   "last value " << vm.back() << " mV", Where({}, "template"));
  const double t_rep = t0_ms + dt_ms * (static_cast<double>(down) + (vm[down] - repol_mv) / (vm[down] - vm[down + 1]));
  ApTemplate a;
  a.t0_ms = t0_ms - t_act;
  a.dt_ms = dt_ms;
  a.vm_mv = std::move(vm);
  a.upstroke_end_ms = t0_ms + dt_ms * static_cast<double>(peak) - t_act;
  a.apd_ms = t_rep - t_act;
  return a;
}

nlohmann::json ApTemplateOptions::to_json() const {
  return {{"source", source},
          {"rest_mv", rest_mv},
          {"peak_mv", peak_mv},
          {"upstroke_ms", upstroke_ms},
          {"repolarisation_ms", repolarisation_ms},
          {"apd_ms", apd_ms},
          {"ionic_model", ionic_model},
          {"ionic_options", ionic_options},
          {"cell_type", cell_type},
          {"cycle_length_ms", cycle_length_ms},
          {"beats", beats},
          {"dt_ms", dt_ms},
          {"sample_ms", sample_ms}};
}

ApTemplateOptions ApTemplateOptions::from_json(const nlohmann::json& j, const std::string& where) {
  JsonReader r(j, where);
  ApTemplateOptions o;
  r.get("source", o.source);
  r.get("rest_mv", o.rest_mv);
  r.get("peak_mv", o.peak_mv);
  r.get("upstroke_ms", o.upstroke_ms);
  r.get("repolarisation_ms", o.repolarisation_ms);
  r.get("apd_ms", o.apd_ms);
  r.get("ionic_model", o.ionic_model);
  if (const auto* io = r.raw("ionic_options")) o.ionic_options = *io;
  r.get("cell_type", o.cell_type);
  r.get("cycle_length_ms", o.cycle_length_ms);
  r.get("beats", o.beats);
  r.get("dt_ms", o.dt_ms);
  r.get("sample_ms", o.sample_ms);
  r.finish();
  o.validate();
  return o;
}

void ApTemplateOptions::validate() const {
  check_choice(source, {"parametric", "ionic"}, "template.source");
  auto positive = [](double v, const char* key) {
    CARDIOTWIN_CHECK(std::isfinite(v) && v > 0, InvalidInput, "bad template option", "> 0", v,
                     Where({}, std::string("template.") + key));
  };
  positive(upstroke_ms, "upstroke_ms");
  positive(repolarisation_ms, "repolarisation_ms");
  positive(apd_ms, "apd_ms");
  positive(cycle_length_ms, "cycle_length_ms");
  positive(dt_ms, "dt_ms");
  positive(sample_ms, "sample_ms");
  CARDIOTWIN_CHECK(std::isfinite(rest_mv) && std::isfinite(peak_mv) && peak_mv > rest_mv, InvalidInput,
                   "bad template amplitude", "peak_mv > rest_mv", "rest " << rest_mv << ", peak " << peak_mv,
                   Where({}, "template.peak_mv"));
  CARDIOTWIN_CHECK(beats >= 1, InvalidInput, "bad beat count", ">= 1", beats, Where({}, "template.beats"));
}

ApTemplate make_ap_template(const ApTemplateOptions& o, double act_mv, double repol_mv) {
  o.validate();
  if (o.source == "parametric") {
    CARDIOTWIN_CHECK(act_mv > o.rest_mv && act_mv < o.peak_mv && repol_mv > o.rest_mv && repol_mv < o.peak_mv,
                     InvalidInput, "thresholds outside the template", "rest_mv < thresholds < peak_mv",
                     "activation " << act_mv << ", repolarisation " << repol_mv, Where({}, "template"));
    // Logistic repolarisation centred so that it crosses repol_mv about apd_ms after the upstroke.
    const double frac = (repol_mv - o.rest_mv) / (o.peak_mv - o.rest_mv);
    const double centre = o.apd_ms - o.repolarisation_ms * std::log(1 / frac - 1);
    const double t0 = -5 * o.upstroke_ms - 2, t1 = o.apd_ms + 12 * o.repolarisation_ms + 20;
    const auto N = static_cast<std::size_t>(std::ceil((t1 - t0) / o.sample_ms)) + 1;
    std::vector<double> v(N);
    for (std::size_t k = 0; k < N; ++k) {
      const double t = t0 + o.sample_ms * static_cast<double>(k);
      const double u = 0.5 * (1 + std::tanh(t / o.upstroke_ms));
      const double r = 1 / (1 + std::exp((t - centre) / o.repolarisation_ms));
      v[k] = o.rest_mv + (o.peak_mv - o.rest_mv) * u * r;
    }
    return ApTemplate::from_samples(t0, o.sample_ms, std::move(v), act_mv, repol_mv);
  }
  auto model = make_ionic_model(o.ionic_model, o.ionic_options);
  PacingProtocol p;
  p.cycle_length_ms = o.cycle_length_ms;
  p.num_beats = o.beats;
  p.dt_ms = o.dt_ms;
  p.record_every_ms = o.sample_ms;
  p.cell_type = o.cell_type;
  p.stim_start_ms = 10;
  p.validate();
  const SingleCellResult res = simulate_single_cell(*model, p);
  const Eigen::VectorXd t = res.trace.time_ms;
  const Eigen::VectorXd v = res.trace.channel("Vm");
  // The last beat, from 2 ms before its stimulus.
  const double start = p.stim_start_ms + (o.beats - 1) * o.cycle_length_ms - 2;
  Eigen::Index k0 = 0;
  while (k0 < t.size() && t[k0] < start) ++k0;
  const double dt = t.size() > 1 ? t[1] - t[0] : o.sample_ms;
  return ApTemplate::from_samples(t[k0], dt, std::vector<double>(v.data() + k0, v.data() + v.size()), act_mv,
                                  repol_mv);
}

// ---- EikonalModel -------------------------------------------------------------------------------

nlohmann::json EikonalModelOptions::to_json() const {
  nlohmann::json j = eikonal.to_json();
  j["model"] = reaction ? "reaction-eikonal" : "eikonal";
  j["template"] = ap_template.to_json();
  j["apd_field"] = apd_field;
  j["apd_linear"] = apd_linear.is_null() ? nlohmann::json::object() : apd_linear;
  j["region_apd_ms"] = nlohmann::json::object();
  for (const auto& [tag, v] : region_apd_ms) j["region_apd_ms"][std::to_string(tag)] = v;
  j["t_end_ms"] = t_end_ms;
  j["activation_threshold_mv"] = activation_threshold_mv;
  j["repolarisation_threshold_mv"] = repolarisation_threshold_mv;
  j["probes"] = nlohmann::json::array();
  for (const auto& p : probes) j["probes"].push_back(point_json(p));
  j["probe_every_ms"] = probe_every_ms;
  j["snapshot_every_ms"] = snapshot_every_ms;
  j["output_dir"] = output_dir;
  return j;
}

EikonalModelOptions EikonalModelOptions::from_json(const nlohmann::json& j, bool reaction) {
  const std::string where = reaction ? "reaction-eikonal" : "eikonal";
  JsonReader r(j, where);
  EikonalModelOptions o;
  o.reaction = reaction;
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, where + ".version"));
  std::string model;  // accepted so that to_json() round-trips; must agree with `reaction`
  if (r.get("model", model)) check_choice(model, {where}, where + ".model");
  read_eikonal(r, o.eikonal, where);
  if (const auto* t = r.raw("template")) o.ap_template = ApTemplateOptions::from_json(*t, where + ".template");
  r.get("apd_field", o.apd_field);
  if (const auto* al = r.raw("apd_linear")) o.apd_linear = *al;
  if (const auto* ra = r.raw("region_apd_ms")) {
    CARDIOTWIN_CHECK(ra->is_object(), InvalidInput, "bad region APDs", "an object {\"<region tag>\": ms}",
                     ra->type_name(), Where({}, where + ".region_apd_ms"));
    for (const auto& [key, value] : ra->items()) {
      CARDIOTWIN_CHECK(value.is_number(), InvalidInput, "bad region APD", "a number (ms)", value.dump(),
                       Where({}, where + ".region_apd_ms." + key));
      o.region_apd_ms[parse_tag(key, where + ".region_apd_ms")] = value.get<double>();
    }
  }
  r.get("t_end_ms", o.t_end_ms);
  r.get("activation_threshold_mv", o.activation_threshold_mv);
  r.get("repolarisation_threshold_mv", o.repolarisation_threshold_mv);
  std::vector<std::vector<double>> probes;
  if (r.get("probes", probes))
    for (std::size_t k = 0; k < probes.size(); ++k) {
      CARDIOTWIN_CHECK(probes[k].size() == 3, InvalidInput, "bad probe point", "[x, y, z] in mm",
                       nlohmann::json(probes[k]).dump(), Where({}, where + ".probes", static_cast<std::int64_t>(k)));
      o.probes.emplace_back(probes[k][0], probes[k][1], probes[k][2]);
    }
  r.get("probe_every_ms", o.probe_every_ms);
  r.get("snapshot_every_ms", o.snapshot_every_ms);
  r.get("output_dir", o.output_dir);
  r.finish();
  o.validate();
  return o;
}

void EikonalModelOptions::validate() const {
  eikonal.validate();
  ap_template.validate();
  CARDIOTWIN_CHECK(std::isfinite(t_end_ms) && t_end_ms > 0, InvalidInput, "bad option", "> 0 ms", t_end_ms,
                   Where({}, "eikonal.t_end_ms"));
  CARDIOTWIN_CHECK(std::isfinite(probe_every_ms) && probe_every_ms > 0, InvalidInput, "bad option", "> 0 ms",
                   probe_every_ms, Where({}, "eikonal.probe_every_ms"));
  CARDIOTWIN_CHECK(snapshot_every_ms >= 0, InvalidInput, "bad snapshot interval", ">= 0 ms (0 = none)",
                   snapshot_every_ms, Where({}, "eikonal.snapshot_every_ms"));
  CARDIOTWIN_CHECK(snapshot_every_ms == 0 || !output_dir.empty(), InvalidInput, "snapshots need a folder",
                   "output_dir set when snapshot_every_ms > 0", "no output_dir", Where({}, "eikonal.output_dir"));
  CARDIOTWIN_CHECK(repolarisation_threshold_mv < activation_threshold_mv, InvalidInput, "bad thresholds",
                   "repolarisation_threshold_mv < activation_threshold_mv",
                   repolarisation_threshold_mv << " >= " << activation_threshold_mv,
                   Where({}, "eikonal.repolarisation_threshold_mv"));
  for (const auto& [tag, v] : region_apd_ms)
    CARDIOTWIN_CHECK(std::isfinite(v) && v > 0, InvalidInput, "bad region APD", "> 0 ms", v,
                     Where({}, "eikonal.region_apd_ms." + std::to_string(tag)));
  if (!apd_linear.is_null() && !(apd_linear.is_object() && apd_linear.empty())) {
    JsonReader r(apd_linear, "eikonal.apd_linear");
    std::string field;
    double a = 0, b = 0;
    r.require("field", field);
    r.require("value_at_0", a);
    r.require("value_at_1", b);
    r.finish();
    CARDIOTWIN_CHECK(a > 0 && b > 0, InvalidInput, "bad APD range", "> 0 ms at both ends", a << ", " << b,
                     Where({}, "eikonal.apd_linear"));
  }
}

struct EikonalModel::Impl {
  EikonalModelOptions opt;
  TetMesh mesh;  // geometry only
  EikonalSolution sol;
  ApTemplate tmpl;
  Eigen::VectorXd act;   // NaN where unreached
  Eigen::VectorXd apd;   // per node (ms)
  Eigen::VectorXd warp;  // per node factor of the time warp after the upstroke
  double t = 0, peak = 0, setup_s = 0, output_s = 0;
  int threads = 1;
  mutable Eigen::VectorXd vm_cache;
  mutable double vm_cache_t = kNaN;
  std::vector<std::int64_t> probe_nodes;
  std::vector<double> probe_t, probe_v;
  std::int64_t probe_count = 0, snapshot_count = 0;
  std::vector<io::PvdEntry> pvd;

  double vm_node(std::int64_t i, double time) const {
    const double a = act[i];
    if (std::isnan(a)) return tmpl.vm_mv.front();
    const double tau = time - a, up = tmpl.upstroke_end_ms;
    if (tau <= up) return tmpl.at(tau);
    if (!opt.reaction) return peak;
    return tmpl.at(up + (tau - up) * warp[i]);
  }

  void write_snapshot(double time) {
    const auto c0 = Clock::now();
    char name[64];
    std::snprintf(name, sizeof(name), "vm_%06zu.vtu", pvd.size());
    Eigen::VectorXd v(mesh.num_points());
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < mesh.num_points(); ++i) v[i] = vm_node(i, time);
    mesh.point_data["Vm"] = v;
    io::write_vtu((std::filesystem::path(opt.output_dir) / name).string(), mesh, io::VtkEncoding::binary);
    mesh.point_data.erase("Vm");
    pvd.push_back({time, name, 0});
    io::write_pvd((std::filesystem::path(opt.output_dir) / "vm.pvd").string(), pvd);
    output_s += seconds_since(c0);
  }

  // Probes and snapshots due at or before `time` (sample k at k * interval).
  void outputs_up_to(double time) {
    const double eps = 1e-9;
    if (!probe_nodes.empty())
      while (static_cast<double>(probe_count) * opt.probe_every_ms <= time + eps) {
        const double tp = static_cast<double>(probe_count++) * opt.probe_every_ms;
        probe_t.push_back(tp);
        for (const auto i : probe_nodes) probe_v.push_back(vm_node(i, tp));
      }
    if (opt.snapshot_every_ms > 0)
      while (static_cast<double>(snapshot_count) * opt.snapshot_every_ms <= time + eps)
        write_snapshot(static_cast<double>(snapshot_count++) * opt.snapshot_every_ms);
  }
};

EikonalModel::EikonalModel(const TetMesh& mesh, EikonalModelOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const auto c0 = Clock::now();
  options.validate();
  s.opt = std::move(options);
  const auto& o = s.opt;
  validate_mesh(mesh, "mesh");
  const std::int64_t n = mesh.num_points();
  s.threads = effective_threads(o.eikonal.threads, n);
  ThreadScope scope(s.threads);
  s.mesh.points = mesh.points;
  s.mesh.tets = mesh.tets;
  s.mesh.region = mesh.region;
  s.sol = solve_eikonal(mesh, o.eikonal);
  s.act = s.sol.activation_ms;
  for (std::int64_t i = 0; i < n; ++i)
    if (std::isinf(s.act[i])) s.act[i] = kNaN;
  s.tmpl = make_ap_template(o.ap_template, o.activation_threshold_mv, o.repolarisation_threshold_mv);
  s.peak = s.tmpl.at(s.tmpl.upstroke_end_ms);

  // Per-node APD.
  s.apd = Eigen::VectorXd::Constant(n, s.tmpl.apd_ms);
  auto scalar_field = [&](const std::string& name) {
    const auto it = mesh.point_data.find(name);
    CARDIOTWIN_CHECK(it != mesh.point_data.end() && it->second.cols() == 1, InvalidInput, "APD field missing",
                     "a scalar point field '" << name << "'", "none", Where("mesh", "point_data"));
    return Eigen::VectorXd(it->second.col(0));
  };
  const bool linear = o.apd_linear.is_object() && !o.apd_linear.empty();
  if (!o.apd_field.empty()) {
    s.apd = scalar_field(o.apd_field);
  } else if (linear) {
    const Eigen::VectorXd f = scalar_field(o.apd_linear.at("field").get<std::string>());
    const double a = o.apd_linear.at("value_at_0").get<double>(), b = o.apd_linear.at("value_at_1").get<double>();
    for (std::int64_t i = 0; i < n; ++i) s.apd[i] = a + (b - a) * std::clamp(f[i], 0.0, 1.0);
  } else if (!o.region_apd_ms.empty()) {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(n), count = Eigen::VectorXd::Zero(n);
    for (std::int64_t e = 0; e < mesh.num_tets(); ++e) {
      const auto it = o.region_apd_ms.find(mesh.region_of(e));
      const double v = it == o.region_apd_ms.end() ? s.tmpl.apd_ms : it->second;
      for (int a = 0; a < 4; ++a) sum[mesh.tets(e, a)] += v, count[mesh.tets(e, a)] += 1;
    }
    for (std::int64_t i = 0; i < n; ++i)
      if (count[i] > 0) s.apd[i] = sum[i] / count[i];
  }
  const double up = s.tmpl.upstroke_end_ms;
  s.warp.resize(n);
  for (std::int64_t i = 0; i < n; ++i) {
    CARDIOTWIN_CHECK(std::isfinite(s.apd[i]) && s.apd[i] > up + 1, InvalidInput, "bad APD",
                     "> " << up + 1 << " ms (the template's upstroke plus 1 ms)", s.apd[i], Where("mesh", "apd", i));
    s.warp[i] = (s.tmpl.apd_ms - up) / (s.apd[i] - up);
  }
  for (const auto& p : o.probes) {
    Eigen::Index best = 0;
    (mesh.points.rowwise() - p.transpose()).rowwise().squaredNorm().minCoeff(&best);
    s.probe_nodes.push_back(best);
  }
  if (o.snapshot_every_ms > 0) {
    std::error_code ec;
    std::filesystem::create_directories(o.output_dir, ec);
    CARDIOTWIN_CHECK(!ec, FileIOError, "cannot create output folder", "a writable folder", ec.message(),
                     Where(o.output_dir));
  }
  s.setup_s = seconds_since(c0);
  s.outputs_up_to(0);
}

EikonalModel::~EikonalModel() = default;

void EikonalModel::run(double t_end_ms, const ProgressCallback& progress) {
  Impl& s = *impl_;
  CARDIOTWIN_CHECK(std::isfinite(t_end_ms), InvalidInput, "bad end time", "a finite time in ms", t_end_ms,
                   Where({}, "t_end_ms"));
  ThreadScope scope(s.threads);
  if (t_end_ms <= s.t) return;
  // Advance in 1% steps so that progress can report and cancel.
  const double t_start = s.t, step = (t_end_ms - t_start) / 100;
  for (int k = 1; k <= 100; ++k) {
    const double tn = k == 100 ? t_end_ms : t_start + step * k;
    s.outputs_up_to(tn);
    s.t = tn;
    if (progress && !progress(s.t, t_end_ms)) break;
  }
}

double EikonalModel::time_ms() const { return impl_->t; }

void EikonalModel::vm_at(double t_ms, Eigen::VectorXd& out) const {
  const Impl& s = *impl_;
  const std::int64_t n = s.act.size();
  out.resize(n);
  ThreadScope scope(s.threads);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) out[i] = s.vm_node(i, t_ms);
}

void EikonalModel::vm_block(const double* times_ms, Eigen::Index num_times, std::int64_t first, std::int64_t count,
                            double* out, Eigen::Index stride) const {
  const Impl& s = *impl_;
  CARDIOTWIN_CHECK(first >= 0 && count >= 0 && first + count <= s.act.size(), InvalidInput, "bad node range",
                   "nodes within [0, " << s.act.size() << ")", "[" << first << ", " << first + count << ")",
                   Where({}, "vm_block"));
  for (Eigen::Index k = 0; k < num_times; ++k) {
    double* o = out + k * stride;
    const double t = times_ms[k];
    for (std::int64_t i = 0; i < count; ++i) o[i] = s.vm_node(first + i, t);
  }
}

std::int64_t EikonalModel::num_nodes() const { return impl_->act.size(); }

const Eigen::VectorXd& EikonalModel::vm() const {
  const Impl& s = *impl_;
  if (!(s.vm_cache_t == s.t) || s.vm_cache.size() != s.act.size()) {
    vm_at(s.t, s.vm_cache);
    s.vm_cache_t = s.t;
  }
  return s.vm_cache;
}

EPResult EikonalModel::result() const {
  const Impl& s = *impl_;
  EPResult r;
  r.activation_ms = s.act;
  r.repolarisation_ms = s.opt.reaction ? Eigen::VectorXd(s.act + s.apd)
                                       : Eigen::VectorXd::Constant(s.act.size(), kNaN);
  const std::int64_t np = static_cast<std::int64_t>(s.probe_nodes.size());
  if (np > 0 && !s.probe_t.empty()) {
    const std::int64_t nt = static_cast<std::int64_t>(s.probe_t.size());
    r.probes.time_ms = Eigen::Map<const Eigen::VectorXd>(s.probe_t.data(), nt);
    r.probes.values = Eigen::Map<const Field>(s.probe_v.data(), nt, np);
    for (std::int64_t k = 0; k < np; ++k) r.probes.names.push_back("probe" + std::to_string(k));
    r.probes.metadata["nodes"] = s.probe_nodes;
  }
  if (!s.pvd.empty()) r.snapshots_pvd = (std::filesystem::path(s.opt.output_dir) / "vm.pvd").string();
  nlohmann::json eik = s.sol.to_json();
  if (s.sol.unreached > 0)
    eik["warning"] = std::to_string(s.sol.unreached) +
                     " nodes are not reached from any root (disconnected parts of the mesh); their activation "
                     "and repolarisation are NaN";
  r.metadata = {{"model", s.opt.reaction ? "reaction-eikonal" : "eikonal"},
                {"options", s.opt.to_json()},
                {"num_points", s.mesh.num_points()},
                {"num_tets", s.mesh.num_tets()},
                {"time_ms", s.t},
                {"threads", s.threads},
                {"eikonal", eik},
                {"template", {{"apd_ms", s.tmpl.apd_ms}, {"upstroke_end_ms", s.tmpl.upstroke_end_ms},
                              {"rest_mv", s.tmpl.vm_mv.front()}, {"peak_mv", s.peak}}},
                {"timings", {{"setup_s", s.setup_s}, {"eikonal_s", s.sol.seconds}, {"output_s", s.output_s}}},
                {"units", {{"time", "ms"}, {"vm", "mV"}, {"length", "mm"}}}};
  return r;
}

const EikonalModelOptions& EikonalModel::options() const { return impl_->opt; }
const EikonalSolution& EikonalModel::solution() const { return impl_->sol; }
const ApTemplate& EikonalModel::ap_template() const { return impl_->tmpl; }
const Eigen::VectorXd& EikonalModel::apd_ms() const { return impl_->apd; }

// ---- default root nodes ------------------------------------------------------------------------

nlohmann::json VentricularRootOptions::to_json() const {
  return {{"lv_septal_ab", lv_septal_ab},       {"lv_septal_rot", lv_septal_rot},
          {"lv_anterior_ab", lv_anterior_ab},   {"lv_anterior_rot", lv_anterior_rot},
          {"lv_posterior_ab", lv_posterior_ab}, {"lv_posterior_rot", lv_posterior_rot},
          {"rv_septal_ab", rv_septal_ab},       {"rv_free_wall_ab", rv_free_wall_ab},
          {"rv_delay_ms", rv_delay_ms},         {"endo_transmural", endo_transmural},
          {"anterior_sign", anterior_sign},     {"start_ms", start_ms}};
}

VentricularRootOptions VentricularRootOptions::from_json(const nlohmann::json& j) {
  JsonReader r(j, "roots");
  VentricularRootOptions o;
  r.get("lv_septal_ab", o.lv_septal_ab);
  r.get("lv_septal_rot", o.lv_septal_rot);
  r.get("lv_anterior_ab", o.lv_anterior_ab);
  r.get("lv_anterior_rot", o.lv_anterior_rot);
  r.get("lv_posterior_ab", o.lv_posterior_ab);
  r.get("lv_posterior_rot", o.lv_posterior_rot);
  r.get("rv_septal_ab", o.rv_septal_ab);
  r.get("rv_free_wall_ab", o.rv_free_wall_ab);
  r.get("rv_delay_ms", o.rv_delay_ms);
  r.get("endo_transmural", o.endo_transmural);
  r.get("anterior_sign", o.anterior_sign);
  r.get("start_ms", o.start_ms);
  r.finish();
  CARDIOTWIN_CHECK(o.anterior_sign == 1 || o.anterior_sign == -1, InvalidInput, "bad anterior sign", "+1 or -1",
                   o.anterior_sign, Where({}, "roots.anterior_sign"));
  CARDIOTWIN_CHECK(o.endo_transmural >= 0 && o.endo_transmural < 1, InvalidInput, "bad endocardial threshold",
                   "in [0, 1)", o.endo_transmural, Where({}, "roots.endo_transmural"));
  return o;
}

std::vector<EikonalRoot> default_ventricular_roots(const TetMesh& mesh, const Eigen::VectorXd& transmural,
                                                   const Eigen::VectorXd& apicobasal,
                                                   const Eigen::VectorXd& rotational, const Eigen::VectorXd& lv_rv,
                                                   const VentricularRootOptions& o) {
  const std::int64_t n = mesh.num_points();
  const Eigen::VectorXd* fields[4] = {&transmural, &apicobasal, &rotational, &lv_rv};
  const char* names[4] = {"transmural", "apicobasal", "rotational", "lv_rv"};
  for (int k = 0; k < 4; ++k)
    CARDIOTWIN_CHECK(fields[k]->size() == n, InvalidInput, "coordinate field size mismatch", n << " values (one per node)",
                     fields[k]->size(), Where({}, names[k]));
  const double pi = 3.14159265358979323846;
  auto angle_diff = [&](double a, double b) {
    double d = std::fmod(std::abs(a - b), 2 * pi);
    return d > pi ? 2 * pi - d : d;
  };
  std::vector<std::int64_t> lv, rv;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!(transmural[i] <= o.endo_transmural)) continue;
    (lv_rv[i] < 0.5 ? lv : rv).push_back(i);
  }
  CARDIOTWIN_CHECK(!lv.empty(), InvalidInput, "no LV endocardium",
                   "nodes with transmural <= " << o.endo_transmural << " and lv_rv < 0.5", "none",
                   Where("mesh", "transmural"));
  std::vector<EikonalRoot> roots;
  auto lv_site = [&](double ab, double rot, const char* name) {
    std::int64_t best = -1;
    double bd = kInf;
    for (const auto i : lv) {
      const double d = std::pow(apicobasal[i] - ab, 2) + std::pow(angle_diff(rotational[i], rot) / pi, 2);
      if (d < bd) bd = d, best = i;
    }
    roots.push_back(EikonalRoot::at_node(best, o.start_ms, name));
  };
  const double sgn = o.anterior_sign;
  lv_site(o.lv_septal_ab, o.lv_septal_rot, "lv_septal");
  lv_site(o.lv_anterior_ab, sgn * o.lv_anterior_rot, "lv_anterior");
  lv_site(o.lv_posterior_ab, sgn * o.lv_posterior_rot, "lv_posterior");
  if (!rv.empty()) {
    // LV long axis: from the centroid of apical LV endocardial nodes to that of basal ones.
    Eigen::Vector3d lo = Eigen::Vector3d::Zero(), hi = Eigen::Vector3d::Zero(), c = Eigen::Vector3d::Zero();
    double nlo = 0, nhi = 0;
    for (const auto i : lv) {
      c += mesh.points.row(i).transpose();
      if (apicobasal[i] < 0.2) lo += mesh.points.row(i).transpose(), nlo += 1;
      if (apicobasal[i] > 0.8) hi += mesh.points.row(i).transpose(), nhi += 1;
    }
    c /= static_cast<double>(lv.size());
    Eigen::Vector3d axis = (nlo > 0 && nhi > 0) ? Eigen::Vector3d(hi / nhi - lo / nlo) : Eigen::Vector3d::UnitZ();
    axis.normalize();
    auto radial = [&](std::int64_t i) {
      const Eigen::Vector3d d = mesh.points.row(i).transpose() - c;
      return (d - d.dot(axis) * axis).norm();
    };
    auto rv_site = [&](double ab, bool septal, const char* name) {
      // Nodes within 0.05 of the level (widened until some are found), then nearest/farthest.
      for (double band = 0.05; band < 2; band *= 2) {
        std::int64_t best = -1;
        double br = septal ? kInf : -kInf;
        for (const auto i : rv) {
          if (std::abs(apicobasal[i] - ab) > band) continue;
          const double r = radial(i);
          if (septal ? r < br : r > br) br = r, best = i;
        }
        if (best >= 0) {
          roots.push_back(EikonalRoot::at_node(best, o.start_ms + o.rv_delay_ms, name));
          return;
        }
      }
    };
    rv_site(o.rv_septal_ab, true, "rv_septal");
    rv_site(o.rv_free_wall_ab, false, "rv_free_wall");
  }
  return roots;
}

std::vector<EikonalRoot> default_ventricular_roots(const TetMesh& mesh, const VentricularRootOptions& options) {
  auto field = [&](const char* name) {
    const auto it = mesh.point_data.find(name);
    CARDIOTWIN_CHECK(it != mesh.point_data.end() && it->second.cols() == 1, InvalidInput,
                     "ventricular coordinate missing", "a scalar point field '" << name << "' (anatomy coordinates)",
                     "none", Where("mesh", "point_data"));
    return Eigen::VectorXd(it->second.col(0));
  };
  return default_ventricular_roots(mesh, field("transmural"), field("apicobasal"), field("rotational"),
                                   field("lv_rv"), options);
}

}  // namespace cardiotwin::ep
