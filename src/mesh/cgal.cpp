// Label map to tet mesh with CGAL Mesh_3. Every CGAL include of cardiotwin lives in this file.
#include "cardiotwin/mesh/cgal.hpp"

#include <CGAL/Exact_predicates_inexact_constructions_kernel.h>
#include <CGAL/Handle_hash_function.h>
#include <CGAL/Image_3.h>
#include <CGAL/ImageIO.h>
#include <CGAL/Labeled_mesh_domain_3.h>
#include <CGAL/Mesh_complex_3_in_triangulation_3.h>
#include <CGAL/Mesh_criteria_3.h>
#include <CGAL/Mesh_triangulation_3.h>
#ifdef CGAL_LINKED_WITH_TBB
#include <CGAL/Mesh_3/Worksharing_data_structures.h>  // Slivers_exuder.h uses it without including it
#endif
#include <CGAL/exude_mesh_3.h>
#include <CGAL/perturb_mesh_3.h>
#include <CGAL/refine_mesh_3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <unordered_map>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"

namespace cardiotwin::mesh {

namespace {

using K = CGAL::Exact_predicates_inexact_constructions_kernel;
using Domain = CGAL::Labeled_mesh_domain_3<K>;
#ifdef CGAL_LINKED_WITH_TBB
constexpr bool kHaveParallel = true;
#else
constexpr bool kHaveParallel = false;
#endif
using Clock = std::chrono::steady_clock;
// Precision of surface intersections, relative to the image diagonal (CGAL's default 1e-3 is
// 0.1 mm on a heart-sized box; bisection steps are cheap).
constexpr double kRelativeErrorBound = 1e-5;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// An Image_3 of 8-bit words on the grid of `m`, with the origin at 0: CGAL 5.5 ignores the origin
// in the weighted interpolation, so we mesh in image-aligned mm and map to the world afterwards.
CGAL::Image_3 to_cgal_image(const Image<std::uint8_t>& m) {
  const auto& s = m.shape();
  _image* im = _createImage(static_cast<std::size_t>(s[0]), static_cast<std::size_t>(s[1]),
                            static_cast<std::size_t>(s[2]), 1, m.spacing()[0], m.spacing()[1], m.spacing()[2], 1,
                            WK_FIXED, SGN_UNSIGNED);
  CARDIOTWIN_CHECK(im != nullptr && im->data != nullptr, InvalidInput, "cannot allocate the CGAL image",
                   "memory for " << m.size() << " voxels", "allocation failure", Where({}, "labels"));
  std::memcpy(im->data, m.data(), static_cast<std::size_t>(m.size()));
  im->tx = im->ty = im->tz = 0;
  CGAL::Image_3 image(im);  // takes ownership
  CARDIOTWIN_CHECK(image.image()->wdim == 1, InvalidInput, "unexpected CGAL image word size", 1,
                   image.image()->wdim, Where({}, "labels"));
  return image;
}

// Initial points: for every meshed label, points where the label boundary crosses the segment
// between a boundary voxel and its differing 6-neighbour, thinned to one per `spacing` mm cube.
// Unlike Mesh_3's default (a few random points) this cannot miss a thin wall or a small component.
template <class C3t3>
std::int64_t initialise_from_labels(C3t3& c3t3, const Domain& domain, const Image<std::uint8_t>& m,
                                    const std::vector<int>& labels, double spacing) {
  using Tr = typename C3t3::Triangulation;
  Tr& tr = c3t3.triangulation();
  const auto cwp = tr.geom_traits().construct_weighted_point_3_object();
  const auto intersect = domain.construct_intersection_object();
  const auto& s = m.shape();
  const Eigen::Vector3d h = m.spacing();
  std::array<bool, 256> meshed{};
  for (const int l : labels) meshed[l] = true;
  // Hash grid of accepted points (cells of `spacing` mm): a new point is kept only when no kept
  // point of the same label lies within `spacing`.
  std::unordered_map<std::uint64_t, std::vector<K::Point_3>> grid;
  auto cell = [&](double x) { return static_cast<std::int64_t>(std::floor(x / spacing)); };
  auto key = [](std::int64_t a, std::int64_t b, std::int64_t c, int l) {
    return (static_cast<std::uint64_t>(a & 0xFFFF) << 48) | (static_cast<std::uint64_t>(b & 0xFFFF) << 32) |
           (static_cast<std::uint64_t>(c & 0xFFFF) << 16) | static_cast<std::uint64_t>(l);
  };
  auto near_taken = [&](const K::Point_3& p, int l) {
    const std::int64_t a = cell(p.x()), b = cell(p.y()), c = cell(p.z());
    for (std::int64_t da = -1; da <= 1; ++da)
      for (std::int64_t db = -1; db <= 1; ++db)
        for (std::int64_t dc = -1; dc <= 1; ++dc) {
          const auto it = grid.find(key(a + da, b + db, c + dc, l));
          if (it == grid.end()) continue;
          for (const auto& q : it->second)
            if (CGAL::squared_distance(p, q) < spacing * spacing) return true;
        }
    return false;
  };
  std::int64_t inserted = 0;
  static const int kDir[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
  for (std::int64_t k = 0; k < s[2]; ++k)
    for (std::int64_t j = 0; j < s[1]; ++j)
      for (std::int64_t i = 0; i < s[0]; ++i) {
        const int l = m(i, j, k);
        if (!meshed[l]) continue;
        for (const auto& d : kDir) {
          const std::int64_t a = i + d[0], b = j + d[1], c = k + d[2];
          const bool in = a >= 0 && b >= 0 && c >= 0 && a < s[0] && b < s[1] && c < s[2];
          if (in && m(a, b, c) == l) continue;
          const K::Point_3 p0(i * h[0], j * h[1], k * h[2]), p1(a * h[0], b * h[1], c * h[2]);
          if (near_taken(p0, l)) break;
          const auto x = intersect(K::Segment_3(p0, p1));
          if (std::get<2>(x) == 0) continue;
          const K::Point_3& px = std::get<0>(x);
          grid[key(cell(px.x()), cell(px.y()), cell(px.z()), l)].push_back(px);
          const auto v = tr.insert(cwp(px));
          if (v == typename Tr::Vertex_handle()) break;
          c3t3.set_dimension(v, 2);
          c3t3.set_index(v, std::get<1>(x));
          ++inserted;
          break;
        }
      }
  return inserted;
}

std::string fmt_ml(double mm3) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << mm3 / 1000.0 << " mL";
  return s.str();
}

void check_options(const LabelMeshOptions& o) {
  auto positive = [](double v, const char* name) {
    CARDIOTWIN_CHECK(std::isfinite(v) && v > 0, InvalidInput, "bad meshing option", "a finite value > 0", v,
                     Where({}, name));
  };
  positive(o.size_mm, "size_mm");
  positive(o.cell_radius_edge_ratio, "cell_radius_edge_ratio");
  CARDIOTWIN_CHECK(o.facet_angle_deg > 0 && o.facet_angle_deg <= 30, InvalidInput, "bad facet angle bound",
                   "in (0, 30] deg (above 30 Mesh_3 may not terminate)", o.facet_angle_deg, Where({}, "facet_angle_deg"));
  CARDIOTWIN_CHECK(o.cell_radius_edge_ratio >= 2, InvalidInput, "bad radius-edge bound",
                   ">= 2 (below 2 Mesh_3 may not terminate)", o.cell_radius_edge_ratio,
                   Where({}, "cell_radius_edge_ratio"));
  CARDIOTWIN_CHECK(std::isfinite(o.facet_distance_mm) && o.facet_distance_mm >= 0, InvalidInput,
                   "bad facet distance", ">= 0 mm (0: size_mm / 4)", o.facet_distance_mm, Where({}, "facet_distance_mm"));
  CARDIOTWIN_CHECK(std::isfinite(o.smooth_sigma_mm) && o.smooth_sigma_mm >= 0, InvalidInput, "bad smoothing sigma",
                   ">= 0 mm", o.smooth_sigma_mm, Where({}, "smooth_sigma_mm"));
  CARDIOTWIN_CHECK(o.perturb_time_limit_s >= 0 && o.exude_time_limit_s >= 0, InvalidInput, "bad time limit",
                   ">= 0 s (0: none)", std::min(o.perturb_time_limit_s, o.exude_time_limit_s),
                   Where({}, "perturb_time_limit_s"));
  CARDIOTWIN_CHECK(o.exude_sliver_bound_deg >= 0 && o.exude_sliver_bound_deg < 70, InvalidInput,
                   "bad exudation bound", "in [0, 70) deg (0: as far as possible, slow)", o.exude_sliver_bound_deg,
                   Where({}, "exude_sliver_bound_deg"));
  check_choice(o.manifold, {"auto", "on", "off"}, "manifold");
  if (o.wall_source_label != 0) {
    CARDIOTWIN_CHECK(o.wall_label >= 1 && o.wall_label <= 255 && o.wall_label != o.wall_source_label, InvalidInput,
                     "bad wall label", "a label in 1..255 other than wall_source_label", o.wall_label,
                     Where({}, "wall_label"));
    positive(o.wall_thickness_mm, "wall_thickness_mm");
  }
}

// Initialise, refine, remove slivers and extract the cells (image-aligned mm mapped to the world
// frame of `m`) with a sequential or a TBB-parallel triangulation.
template <class Concurrency>
void run_mesh_3(const Domain& domain, const Image<std::uint8_t>& only, const std::vector<int>& meshed, const LabelMap& m,
                const LabelMeshOptions& o, LabelMeshResult& res, Clock::time_point t1,
                std::vector<std::array<Index, 4>>& tets, std::vector<Index>& region, std::vector<Eigen::Vector3d>& pts) {
  using Tr = typename CGAL::Mesh_triangulation_3<Domain, CGAL::Default, Concurrency>::type;
  using C3t3 = CGAL::Mesh_complex_3_in_triangulation_3<Tr>;
  using Criteria = CGAL::Mesh_criteria_3<Tr>;
  namespace p = CGAL::parameters;
  const double bound = 0.75 * o.size_mm;
  const double fd = o.facet_distance_mm > 0 ? o.facet_distance_mm : o.size_mm / 4;
  const Criteria criteria(p::facet_angle = o.facet_angle_deg, p::facet_size = bound, p::facet_distance = fd,
                          p::cell_radius_edge_ratio = o.cell_radius_edge_ratio, p::cell_size = bound);
  C3t3 c3t3;
  const std::int64_t initial = initialise_from_labels(c3t3, domain, only, meshed, 2 * o.size_mm);
  CARDIOTWIN_CHECK(c3t3.triangulation().dimension() == 3, InvalidInput, "label region too small to mesh",
                   "labelled regions spanning several voxels in 3-D",
                   initial << " initial surface points (flat or tiny region)", Where({}, "labels"));
  res.seconds_initialise = seconds_since(t1);
  auto tp = Clock::now();
  // The manifold criterion never terminates at junctions of several labels (measured: the
  // biventricular shape ran > 20 min and 9 GB), so "auto" uses it for a single label only.
  const bool manifold = o.manifold == "on" || (o.manifold == "auto" && meshed.size() == 1);
  if (manifold)
    CGAL::refine_mesh_3(c3t3, domain, criteria, p::no_perturb(), p::no_exude(), p::manifold());
  else
    CGAL::refine_mesh_3(c3t3, domain, criteria, p::no_perturb(), p::no_exude());
  res.seconds_refine = seconds_since(tp);
  tp = Clock::now();
  if (o.perturb) CGAL::perturb_mesh_3(c3t3, domain, p::time_limit = o.perturb_time_limit_s);
  res.seconds_perturb = seconds_since(tp);
  tp = Clock::now();
  if (o.exude) CGAL::exude_mesh_3(c3t3, p::time_limit = o.exude_time_limit_s, p::sliver_bound = o.exude_sliver_bound_deg);
  res.seconds_exude = seconds_since(tp);

  // Extract the cells in the complex; map image-aligned mm to world mm.
  const Tr& tr = c3t3.triangulation();
  std::unordered_map<typename Tr::Vertex_handle, Index, CGAL::Handle_hash_function> vid;
  vid.reserve(c3t3.triangulation().number_of_vertices());
  const Eigen::Matrix3d dir = m.direction();
  const Eigen::Vector3d origin = m.origin();
  for (auto c = c3t3.cells_in_complex_begin(); c != c3t3.cells_in_complex_end(); ++c) {
    std::array<Index, 4> t{};
    for (int a = 0; a < 4; ++a) {
      const typename Tr::Vertex_handle v = c->vertex(a);
      auto it = vid.find(v);
      if (it == vid.end()) {
        const auto& wp = tr.point(v);
        const Eigen::Vector3d local(CGAL::to_double(wp.x()), CGAL::to_double(wp.y()), CGAL::to_double(wp.z()));
        it = vid.emplace(v, static_cast<Index>(pts.size())).first;
        pts.push_back(origin + dir * local);
      }
      t[a] = it->second;
    }
    tets.push_back(t);
    region.push_back(static_cast<Index>(c3t3.subdomain_index(c)));
  }
}

}  // namespace

nlohmann::json LabelMeshOptions::to_json() const {
  return {{"labels", labels},
          {"size_mm", size_mm},
          {"facet_distance_mm", facet_distance_mm},
          {"facet_angle_deg", facet_angle_deg},
          {"cell_radius_edge_ratio", cell_radius_edge_ratio},
          {"smooth", smooth},
          {"smooth_sigma_mm", smooth_sigma_mm},
          {"interpolate", interpolate},
          {"max_anisotropy", max_anisotropy},
          {"interpolated_spacing_mm", interpolated_spacing_mm},
          {"min_island_fraction", min_island_fraction},
          {"crop", crop},
          {"wall_source_label", wall_source_label},
          {"wall_label", wall_label},
          {"wall_thickness_mm", wall_thickness_mm},
          {"manifold", manifold},
          {"perturb", perturb},
          {"exude", exude},
          {"perturb_time_limit_s", perturb_time_limit_s},
          {"exude_time_limit_s", exude_time_limit_s},
          {"exude_sliver_bound_deg", exude_sliver_bound_deg},
          {"seed", seed},
          {"parallel", parallel}};
}

LabelMeshOptions LabelMeshOptions::from_json(const nlohmann::json& j) {
  LabelMeshOptions o;
  JsonReader r(j, "mesh_label_map");
  r.get("labels", o.labels);
  r.get("size_mm", o.size_mm);
  r.get("facet_distance_mm", o.facet_distance_mm);
  r.get("facet_angle_deg", o.facet_angle_deg);
  r.get("cell_radius_edge_ratio", o.cell_radius_edge_ratio);
  r.get("smooth", o.smooth);
  r.get("smooth_sigma_mm", o.smooth_sigma_mm);
  r.get("interpolate", o.interpolate);
  r.get("max_anisotropy", o.max_anisotropy);
  r.get("interpolated_spacing_mm", o.interpolated_spacing_mm);
  r.get("min_island_fraction", o.min_island_fraction);
  r.get("crop", o.crop);
  r.get("wall_source_label", o.wall_source_label);
  r.get("wall_label", o.wall_label);
  r.get("wall_thickness_mm", o.wall_thickness_mm);
  r.get("manifold", o.manifold);
  r.get("perturb", o.perturb);
  r.get("exude", o.exude);
  r.get("perturb_time_limit_s", o.perturb_time_limit_s);
  r.get("exude_time_limit_s", o.exude_time_limit_s);
  r.get("exude_sliver_bound_deg", o.exude_sliver_bound_deg);
  r.get("seed", o.seed);
  r.get("parallel", o.parallel);
  r.finish();
  return o;
}

nlohmann::json LabelMeshResult::to_json() const {
  nlohmann::json isl = nlohmann::json::array();
  for (const auto& i : islands) isl.push_back(i.to_json());
  nlohmann::json vol = nlohmann::json::object();
  for (const auto& [l, v] : label_volume_mm3) vol[std::to_string(l)] = v;
  return {{"labels", labels},
          {"label_volume_mm3", vol},
          {"prepared_shape", prepared.shape()},
          {"prepared_spacing_mm", {prepared.spacing()[0], prepared.spacing()[1], prepared.spacing()[2]}},
          {"interpolation",
           {{"axis", interpolation.axis},
            {"factor", interpolation.factor},
            {"spacing_before_mm", interpolation.spacing_before_mm},
            {"spacing_after_mm", interpolation.spacing_after_mm}}},
          {"islands", isl},
          {"wall_voxels", wall_voxels},
          {"quality", quality.to_json()},
          {"warnings", warnings},
          {"seconds_prepare", seconds_prepare},
          {"seconds_mesh", seconds_mesh},
          {"seconds_initialise", seconds_initialise},
          {"seconds_refine", seconds_refine},
          {"seconds_perturb", seconds_perturb},
          {"seconds_exude", seconds_exude}};
}

LabelMeshResult mesh_label_map(const LabelMap& input, const LabelMeshOptions& o) {
  check_options(o);
  const auto t0 = Clock::now();
  LabelMeshResult res;
  const bool wall = o.wall_source_label != 0;
  std::vector<int> wanted = o.labels;  // the wall label need not exist before the wall is grown
  if (wall) wanted.erase(std::remove(wanted.begin(), wanted.end(), o.wall_label), wanted.end());
  std::vector<int> labels = wall && wanted.empty() && !o.labels.empty() ? std::vector<int>{}
                                                                        : check_labels_present(input, wanted, "labels");
  if (wall) {
    check_labels_present(input, {o.wall_source_label}, "wall_source_label");
    if (std::find(labels.begin(), labels.end(), o.wall_label) == labels.end()) labels.push_back(o.wall_label);
    std::sort(labels.begin(), labels.end());
  }
  res.labels = labels;

  // Crop (with room for the wall, the smoothing kernel and a border of background).
  LabelMap m;
  const double sigma_guess = o.smooth ? std::max(o.smooth_sigma_mm, input.spacing().maxCoeff()) : 0.0;
  if (o.crop) {
    std::vector<int> keep = labels;
    if (wall) keep.push_back(o.wall_source_label);
    const double reach = 3 * sigma_guess + (wall ? o.wall_thickness_mm : 0.0);
    const auto margin = static_cast<std::int64_t>(std::ceil(reach / input.spacing().minCoeff())) + 3;
    m = crop(input, label_bounding_box(input, keep), margin);
  } else {
    m = input;
  }
  if (wall) {
    res.wall_voxels = grow_wall(m, o.wall_source_label, o.wall_thickness_mm, o.wall_label);
    if (res.wall_voxels == 0)
      res.warnings.push_back("no wall grown around label " + std::to_string(o.wall_source_label) +
                             ": it has no background voxels within " + std::to_string(o.wall_thickness_mm) + " mm");
  }
  if (o.interpolate) m = interpolate_slices(m, o.max_anisotropy, o.interpolated_spacing_mm, &res.interpolation);
  res.islands = remove_islands(m, labels, o.min_island_fraction);
  for (const auto& isl : res.islands)
    if (isl.removed_voxels > 0) res.warnings.push_back("removed small islands: " + isl.message());
  const auto present = label_counts(m);
  std::vector<int> meshed;
  for (const int l : labels)
    if (present[l] > 0) meshed.push_back(l);
  CARDIOTWIN_CHECK(!meshed.empty(), InvalidInput, "nothing left to mesh", "voxels of labels to mesh",
                   "none after preparation; present: " << describe_labels(m), Where({}, "labels"));
  const auto volumes = label_volumes_mm3(m);
  for (const int l : meshed) res.label_volume_mm3[l] = volumes.at(l);

  // The image Mesh_3 sees: meshed labels kept, every other label background.
  Image<std::uint8_t> only = m.like<std::uint8_t>(0);
  std::array<bool, 256> is_meshed{};
  for (const int l : meshed) is_meshed[l] = true;
  for (std::size_t v = 0; v < only.values().size(); ++v)
    if (is_meshed[m.values()[v]]) only.values()[v] = m.values()[v];
  const CGAL::Image_3 image = to_cgal_image(only);
  CGAL::Image_3 weights;
  if (o.smooth) {
    const double sigma = o.smooth_sigma_mm > 0 ? o.smooth_sigma_mm : m.spacing().maxCoeff();
    weights = to_cgal_image(label_weights(only, meshed, sigma));
  }
  res.seconds_prepare = seconds_since(t0);

  const auto t1 = Clock::now();
  CGAL::Random rng(o.seed);
  namespace p = CGAL::parameters;
  const Domain domain = o.smooth ? Domain::create_labeled_image_mesh_domain(image, p::weights = weights,
                                                                            p::relative_error_bound = kRelativeErrorBound,
                                                                            p::p_rng = &rng)
                                 : Domain::create_labeled_image_mesh_domain(image, p::relative_error_bound = kRelativeErrorBound,
                                                                            p::p_rng = &rng);
  std::vector<std::array<Index, 4>> tets;
  std::vector<Index> region;
  std::vector<Eigen::Vector3d> pts;
  CARDIOTWIN_CHECK(!o.parallel || kHaveParallel, MissingComponent, "parallel meshing needs TBB",
                   "cardiotwin built with TBB found (apt-get install libtbb-dev)", "a build without it",
                   Where({}, "parallel"));
#ifdef CGAL_LINKED_WITH_TBB
  if (o.parallel)
    run_mesh_3<CGAL::Parallel_tag>(domain, only, meshed, m, o, res, t1, tets, region, pts);
  else
#endif
    run_mesh_3<CGAL::Sequential_tag>(domain, only, meshed, m, o, res, t1, tets, region, pts);
  CARDIOTWIN_CHECK(!tets.empty(), InvalidInput, "Mesh_3 produced no tetrahedra", "a mesh of labels " << meshed.size(),
                   "0 cells (labels too thin for size_mm " << o.size_mm << "?)", Where({}, "size_mm"));
  TetMesh& mesh = res.mesh;
  mesh.points.resize(static_cast<std::int64_t>(pts.size()), 3);
  for (std::size_t i = 0; i < pts.size(); ++i) mesh.points.row(static_cast<std::int64_t>(i)) = pts[i].transpose();
  mesh.tets.resize(static_cast<std::int64_t>(tets.size()), 4);
  mesh.region.resize(static_cast<std::int64_t>(tets.size()));
  for (std::size_t e = 0; e < tets.size(); ++e) {
    for (int a = 0; a < 4; ++a) mesh.tets(static_cast<std::int64_t>(e), a) = tets[e][a];
    mesh.region[static_cast<std::int64_t>(e)] = region[e];
  }
  fix_orientation(mesh);  // a left-handed image frame (e.g. LAS) mirrors the tets
  const ComponentRemoval pieces = remove_small_components(mesh, o.min_island_fraction);
  if (pieces.removed_tets > 0) {
    std::ostringstream w;
    w << "removed " << pieces.removed_components << " of " << pieces.components << " disconnected mesh pieces, "
      << pieces.removed_tets << " tets (" << std::setprecision(3) << pieces.removed_volume_mm3 / 1000.0 << " mL)";
    res.warnings.push_back(w.str());
  }
  res.seconds_mesh = seconds_since(t1);
  res.prepared = std::move(m);
  res.quality = quality_report(mesh);
  for (const int l : meshed) {
    const auto it = res.quality.region_volume_mm3.find(l);
    const double v = it == res.quality.region_volume_mm3.end() ? 0.0 : it->second;
    const double ref = res.label_volume_mm3.at(l);
    if (v == 0)
      res.warnings.push_back("label " + std::to_string(l) + " (" + fmt_ml(ref) + ") got no tetrahedra; is it thinner than size_mm?");
    else if (std::abs(v - ref) > 0.05 * ref)
      res.warnings.push_back("label " + std::to_string(l) + ": mesh volume " + fmt_ml(v) + " differs by more than 5% from the label volume " + fmt_ml(ref));
  }
  return res;
}

TaggedMesh biventricular_mesh(const BiventricularOptions& options, double size_mm) {
  const LabelMap labels = biventricular_label_map(options);
  LabelMeshOptions o;
  o.labels = {kBivLvMyo, kBivRvMyo};
  o.size_mm = size_mm;
  LabelMeshResult r = mesh_label_map(labels, o);
  TaggedMesh out;
  out.mesh = std::move(r.mesh);
  out.surface = boundary_surface(out.mesh);
  LabelTagOptions t;
  t.label_to_tag = {{kBivLvBlood, kLvEndo}, {kBivRvBlood, kRvEndo}, {0, kEpi}};
  t.meshed_labels = o.labels;
  tag_from_labels(out.surface, r.prepared, t);
  tag_cap(out.surface, Eigen::Vector3d::UnitZ(), 30, 0.25 * size_mm, kBase);
  merge_small_patches(out.surface, 0.1);
  return out;
}

}  // namespace cardiotwin::mesh
