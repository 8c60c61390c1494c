#include "cardiotwin/mesh/surface.hpp"

#include <Eigen/Geometry>
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::mesh {

namespace {

std::uint64_t edge_key(Index a, Index b) {
  if (a > b) std::swap(a, b);
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
}

// Faces sharing an edge: for each face, its edge-neighbours (non-manifold edges link all faces).
std::vector<std::vector<std::int64_t>> face_adjacency(const SurfaceMesh& s) {
  std::unordered_map<std::uint64_t, std::vector<std::int64_t>> by_edge;
  by_edge.reserve(static_cast<std::size_t>(s.num_triangles()) * 2);
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    for (int e = 0; e < 3; ++e) by_edge[edge_key(s.triangles(f, e), s.triangles(f, (e + 1) % 3))].push_back(f);
  std::vector<std::vector<std::int64_t>> adj(static_cast<std::size_t>(s.num_triangles()));
  for (const auto& [key, faces] : by_edge)
    for (const auto f : faces)
      for (const auto g : faces)
        if (f != g) adj[f].push_back(g);
  return adj;
}

Index tag_of(const SurfaceMesh& s, std::int64_t f) { return s.tags.size() ? s.tags[f] : 0; }

}  // namespace

std::string surface_tag_name(Index tag) {
  switch (tag) {
    case kUntagged: return "untagged";
    case kLvEndo: return "lv_endo";
    case kRvEndo: return "rv_endo";
    case kEpi: return "epi";
    case kBase: return "base";
    default: return "tag " + std::to_string(tag);
  }
}

Index surface_tag_from_name(const std::string& name) {
  for (const Index t : {kUntagged, kLvEndo, kRvEndo, kEpi, kBase})
    if (surface_tag_name(t) == name) return t;
  CARDIOTWIN_CHECK(false, InvalidInput, "unknown surface tag", "one of untagged, lv_endo, rv_endo, epi, base",
                   "'" << name << "'", Where({}, "tag"));
  return kUntagged;
}

namespace {
// Face f of a tet is opposite local vertex f; listed so that the normal points away from it for a
// positively oriented tet.
const int kFace[4][3] = {{1, 2, 3}, {0, 3, 2}, {0, 1, 3}, {0, 2, 1}};

struct TetFace {
  std::array<Index, 3> nodes;  // sorted
  std::int64_t tet;
  int face;
};
// Every face of every tet, sorted by its nodes, so that copies of one face are adjacent
// (a sort is several times faster than hashing for millions of faces).
std::vector<TetFace> sorted_tet_faces(const TetMesh& mesh) {
  std::vector<TetFace> faces(static_cast<std::size_t>(mesh.num_tets()) * 4);
  for (std::int64_t t = 0; t < mesh.num_tets(); ++t)
    for (int f = 0; f < 4; ++f) {
      auto& x = faces[static_cast<std::size_t>(4 * t + f)];
      x.nodes = {mesh.tets(t, kFace[f][0]), mesh.tets(t, kFace[f][1]), mesh.tets(t, kFace[f][2])};
      std::sort(x.nodes.begin(), x.nodes.end());
      x.tet = t;
      x.face = f;
    }
  std::sort(faces.begin(), faces.end(), [](const TetFace& a, const TetFace& b) {
    return a.nodes != b.nodes ? a.nodes < b.nodes : a.tet < b.tet;
  });
  return faces;
}
}  // namespace

SurfaceMesh boundary_surface(const TetMesh& mesh, bool region_interfaces) {
  const std::vector<TetFace> faces = sorted_tet_faces(mesh);
  std::vector<const TetFace*> keep;
  for (std::size_t i = 0; i < faces.size();) {
    std::size_t j = i + 1;
    while (j < faces.size() && faces[j].nodes == faces[i].nodes) ++j;
    if (j - i == 1) {
      keep.push_back(&faces[i]);
    } else if (region_interfaces && j - i == 2) {
      const TetFace *a = &faces[i], *b = &faces[i + 1];
      // an interface, oriented out of the lower region tag
      if (mesh.region_of(a->tet) != mesh.region_of(b->tet))
        keep.push_back(mesh.region_of(a->tet) < mesh.region_of(b->tet) ? a : b);
    }
    i = j;
  }
  SurfaceMesh s;
  s.points = mesh.points;
  s.triangles.resize(static_cast<std::int64_t>(keep.size()), 3);
  s.tags = Tags::Zero(static_cast<std::int64_t>(keep.size()));
  Field tet_field(static_cast<std::int64_t>(keep.size()), 1), region_field(static_cast<std::int64_t>(keep.size()), 1);
  for (std::size_t r = 0; r < keep.size(); ++r) {
    const std::int64_t t = keep[r]->tet;
    for (int a = 0; a < 3; ++a) s.triangles(static_cast<std::int64_t>(r), a) = mesh.tets(t, kFace[keep[r]->face][a]);
    tet_field(static_cast<std::int64_t>(r), 0) = static_cast<double>(t);
    region_field(static_cast<std::int64_t>(r), 0) = mesh.region_of(t);
  }
  s.cell_data["tet"] = std::move(tet_field);
  s.cell_data["region"] = std::move(region_field);
  return s;
}

SurfaceMesh extract_faces(const SurfaceMesh& surface, const std::vector<Index>& tags) {
  std::vector<std::int64_t> faces;
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f)
    if (tags.empty() || std::find(tags.begin(), tags.end(), tag_of(surface, f)) != tags.end()) faces.push_back(f);
  std::vector<Index> new_id(static_cast<std::size_t>(surface.num_points()), -1);
  std::vector<std::int64_t> old_id;
  SurfaceMesh out;
  out.triangles.resize(static_cast<std::int64_t>(faces.size()), 3);
  out.tags.resize(static_cast<std::int64_t>(faces.size()));
  for (std::size_t r = 0; r < faces.size(); ++r) {
    for (int a = 0; a < 3; ++a) {
      const Index v = surface.triangles(faces[r], a);
      CARDIOTWIN_CHECK(v >= 0 && v < surface.num_points(), InvalidInput, "node index out of range",
                       "an index in [0, " << surface.num_points() << ")", v, Where("surface", "triangles", faces[r]));
      if (new_id[v] < 0) {
        new_id[v] = static_cast<Index>(old_id.size());
        old_id.push_back(v);
      }
      out.triangles(static_cast<std::int64_t>(r), a) = new_id[v];
    }
    out.tags[static_cast<std::int64_t>(r)] = tag_of(surface, faces[r]);
  }
  out.points.resize(static_cast<std::int64_t>(old_id.size()), 3);
  Field node(static_cast<std::int64_t>(old_id.size()), 1);
  for (std::size_t p = 0; p < old_id.size(); ++p) {
    out.points.row(static_cast<std::int64_t>(p)) = surface.points.row(old_id[p]);
    node(static_cast<std::int64_t>(p), 0) = static_cast<double>(old_id[p]);
  }
  for (const auto& [name, f] : surface.point_data) {
    Field g(static_cast<std::int64_t>(old_id.size()), f.cols());
    for (std::size_t p = 0; p < old_id.size(); ++p) g.row(static_cast<std::int64_t>(p)) = f.row(old_id[p]);
    out.point_data[name] = std::move(g);
  }
  for (const auto& [name, f] : surface.cell_data) {
    Field g(static_cast<std::int64_t>(faces.size()), f.cols());
    for (std::size_t r = 0; r < faces.size(); ++r) g.row(static_cast<std::int64_t>(r)) = f.row(faces[r]);
    out.cell_data[name] = std::move(g);
  }
  out.point_data["node"] = std::move(node);
  return out;
}

Directions face_normals(const SurfaceMesh& s) {
  Directions n(s.num_triangles(), 3);
  for (std::int64_t f = 0; f < s.num_triangles(); ++f) {
    const Eigen::Vector3d a = s.points.row(s.triangles(f, 0)), b = s.points.row(s.triangles(f, 1)),
                          c = s.points.row(s.triangles(f, 2));
    Eigen::Vector3d v = (b - a).cross(c - a);
    const double len = v.norm();
    if (len > 0) n.row(f) = (v / len).transpose();
    else n.row(f).setZero();
  }
  return n;
}

Points face_centroids(const SurfaceMesh& s) {
  Points c(s.num_triangles(), 3);
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    c.row(f) = (s.points.row(s.triangles(f, 0)) + s.points.row(s.triangles(f, 1)) + s.points.row(s.triangles(f, 2))) / 3.0;
  return c;
}

Eigen::VectorXd face_areas(const SurfaceMesh& s) {
  Eigen::VectorXd a(s.num_triangles());
  for (std::int64_t f = 0; f < s.num_triangles(); ++f) {
    const Eigen::Vector3d p = s.points.row(s.triangles(f, 0)), q = s.points.row(s.triangles(f, 1)),
                          r = s.points.row(s.triangles(f, 2));
    a[f] = 0.5 * (q - p).cross(r - p).norm();
  }
  return a;
}

std::map<Index, std::int64_t> tag_from_labels(SurfaceMesh& surface, const LabelMap& labels,
                                              const LabelTagOptions& options) {
  std::array<bool, 256> meshed{};
  std::vector<int> ml = options.meshed_labels;
  if (ml.empty()) {
    const auto it = surface.cell_data.find("region");
    CARDIOTWIN_CHECK(it != surface.cell_data.end(), InvalidInput, "meshed labels unknown",
                     "LabelTagOptions::meshed_labels or a 'region' cell field on the surface", "neither",
                     Where({}, "meshed_labels"));
    for (std::int64_t f = 0; f < it->second.rows(); ++f) ml.push_back(static_cast<int>(it->second(f, 0)));
  }
  for (const int l : ml)
    if (l >= 0 && l < 256) meshed[l] = true;
  const double voxel = labels.spacing().maxCoeff();
  const double max_d = options.max_distance_mm > 0 ? options.max_distance_mm : 3 * voxel;
  const double step = 0.25 * labels.spacing().minCoeff();
  const Directions n = face_normals(surface);
  const Points c = face_centroids(surface);
  const auto& sh = labels.shape();
  const Eigen::Matrix3d to_index = (labels.direction() * labels.spacing().asDiagonal()).inverse();
  if (surface.tags.size() != surface.num_triangles()) surface.tags = Tags::Zero(surface.num_triangles());
  std::map<Index, std::int64_t> counts;
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f) {
    int found = -1;
    for (double d = 0.5 * step; d <= max_d && found < 0; d += step) {
      const Eigen::Vector3d x = c.row(f).transpose() + d * n.row(f).transpose();
      const Eigen::Vector3d ijk = to_index * (x - labels.origin());
      std::int64_t idx[3];
      bool inside = true;
      for (int a = 0; a < 3; ++a) {
        idx[a] = std::llround(ijk[a]);
        inside = inside && idx[a] >= 0 && idx[a] < sh[a];
      }
      const int l = inside ? labels(idx[0], idx[1], idx[2]) : 0;
      if (!meshed[l]) found = l;
    }
    Index tag = options.default_tag;
    if (found >= 0) {
      const auto it = options.label_to_tag.find(found);
      if (it != options.label_to_tag.end()) tag = it->second;
    }
    surface.tags[f] = tag;
    ++counts[tag];
  }
  return counts;
}

std::int64_t tag_cap(SurfaceMesh& surface, const Eigen::Vector3d& direction, double max_angle_deg, double depth_mm,
                     Index tag) {
  const double len = direction.norm();
  CARDIOTWIN_CHECK(std::isfinite(len) && len > 0, InvalidInput, "bad base direction", "a non-zero vector",
                   direction.transpose(), Where({}, "direction"));
  const Eigen::Vector3d d = direction / len;
  if (surface.tags.size() != surface.num_triangles()) surface.tags = Tags::Zero(surface.num_triangles());
  const Directions n = face_normals(surface);
  const Points c = face_centroids(surface);
  double top = -std::numeric_limits<double>::infinity();
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f)
    for (int a = 0; a < 3; ++a) top = std::max(top, surface.points.row(surface.triangles(f, a)).dot(d));
  const double cos_max = std::cos(max_angle_deg * 3.14159265358979323846 / 180.0);
  std::int64_t changed = 0;
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f)
    if (n.row(f).dot(d) >= cos_max && c.row(f).dot(d) >= top - depth_mm) {
      surface.tags[f] = tag;
      ++changed;
    }
  return changed;
}

namespace {
// Edge-connected patches of equal tag: patch id per face.
std::vector<std::int64_t> patches(const SurfaceMesh& s, const std::vector<std::vector<std::int64_t>>& adj,
                                  std::int64_t& num) {
  std::vector<std::int64_t> id(static_cast<std::size_t>(s.num_triangles()), -1);
  num = 0;
  for (std::int64_t f = 0; f < s.num_triangles(); ++f) {
    if (id[f] >= 0) continue;
    std::vector<std::int64_t> stack{f};
    id[f] = num;
    while (!stack.empty()) {
      const auto g = stack.back();
      stack.pop_back();
      for (const auto h : adj[g])
        if (id[h] < 0 && tag_of(s, h) == tag_of(s, f)) {
          id[h] = num;
          stack.push_back(h);
        }
    }
    ++num;
  }
  return id;
}
}  // namespace

std::int64_t merge_small_patches(SurfaceMesh& surface, double min_fraction) {
  if (surface.tags.size() != surface.num_triangles()) surface.tags = Tags::Zero(surface.num_triangles());
  const auto adj = face_adjacency(surface);
  const Eigen::VectorXd area = face_areas(surface);
  std::int64_t changed_total = 0;
  for (int round = 0; round < 20; ++round) {
    std::int64_t num = 0;
    const auto id = patches(surface, adj, num);
    std::vector<double> patch_area(static_cast<std::size_t>(num), 0.0);
    std::vector<Index> patch_tag(static_cast<std::size_t>(num), 0);
    for (std::int64_t f = 0; f < surface.num_triangles(); ++f) {
      patch_area[id[f]] += area[f];
      patch_tag[id[f]] = surface.tags[f];
    }
    std::map<Index, double> largest;
    for (std::int64_t p = 0; p < num; ++p) largest[patch_tag[p]] = std::max(largest[patch_tag[p]], patch_area[p]);
    // Smallest patches first, so that a small patch joins a big neighbour rather than another small one.
    std::vector<std::int64_t> order(static_cast<std::size_t>(num));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return patch_area[a] < patch_area[b]; });
    std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(num));
    for (std::int64_t f = 0; f < surface.num_triangles(); ++f) members[id[f]].push_back(f);
    std::vector<char> touched(static_cast<std::size_t>(num), 0);
    std::int64_t changed = 0;
    for (const auto p : order) {
      if (patch_area[p] >= min_fraction * largest[patch_tag[p]] || touched[p]) continue;
      std::map<Index, double> around;
      for (const auto f : members[p])
        for (const auto g : adj[f])
          if (id[g] != p) {
            around[surface.tags[g]] += 1.0;
            touched[id[g]] = 1;  // its neighbourhood changes; revisit next round
          }
      if (around.empty()) continue;  // a whole separate surface component: leave it
      const Index to = std::max_element(around.begin(), around.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; })
                           ->first;
      for (const auto f : members[p]) surface.tags[f] = to;
      changed += static_cast<std::int64_t>(members[p].size());
    }
    changed_total += changed;
    if (changed == 0) break;
  }
  return changed_total;
}

nlohmann::json SurfaceTagCheck::to_json() const {
  nlohmann::json t = nlohmann::json::object();
  for (const auto& [tag, v] : tags)
    t[surface_tag_name(tag)] = {{"tag", tag}, {"faces", v.faces}, {"area_mm2", v.area_mm2}, {"components", v.components}};
  nlohmann::json miss = nlohmann::json::array(), disc = nlohmann::json::array();
  for (const auto m : missing) miss.push_back(surface_tag_name(m));
  for (const auto d : disconnected) disc.push_back(surface_tag_name(d));
  return {{"tags", t}, {"missing", miss}, {"disconnected", disc}, {"ok", ok()}};
}

void SurfaceTagCheck::throw_if_bad(const std::string& name) const {
  if (ok()) return;
  std::ostringstream found;
  for (const auto m : missing) found << surface_tag_name(m) << " has no face; ";
  for (const auto d : disconnected)
    found << surface_tag_name(d) << " has " << tags.at(d).components << " separate patches; ";
  std::string f = found.str();
  f.resize(f.size() - 2);
  CARDIOTWIN_CHECK(false, InvalidInput, "surface tags are incomplete", "each surface present and connected", f,
                   Where(name, "tags"));
}

SurfaceTagCheck check_surface_tags(const SurfaceMesh& surface, const std::vector<Index>& expected) {
  SurfaceTagCheck r;
  const auto adj = face_adjacency(surface);
  const Eigen::VectorXd area = face_areas(surface);
  std::int64_t num = 0;
  const auto id = patches(surface, adj, num);
  std::vector<char> counted(static_cast<std::size_t>(num), 0);
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f) {
    auto& t = r.tags[tag_of(surface, f)];
    ++t.faces;
    t.area_mm2 += area[f];
    if (!counted[id[f]]) {
      counted[id[f]] = 1;
      ++t.components;
    }
  }
  for (const auto e : expected) {
    const auto it = r.tags.find(e);
    if (it == r.tags.end()) r.missing.push_back(e);
    else if (it->second.components > 1) r.disconnected.push_back(e);
  }
  return r;
}

nlohmann::json ManifoldCheck::to_json() const {
  return {{"triangles", triangles},
          {"vertices", vertices},
          {"edges", edges},
          {"boundary_edges", boundary_edges},
          {"non_manifold_edges", non_manifold_edges},
          {"inconsistent_edges", inconsistent_edges},
          {"non_manifold_vertices", non_manifold_vertices},
          {"components", components},
          {"signed_volume_mm3", signed_volume_mm3},
          {"watertight", watertight()}};
}

ManifoldCheck check_manifold(const SurfaceMesh& s) {
  ManifoldCheck r;
  r.triangles = s.num_triangles();
  std::unordered_map<std::uint64_t, std::array<std::int64_t, 2>> edges;  // key -> (uses, net direction)
  std::vector<std::vector<std::int64_t>> vertex_faces(static_cast<std::size_t>(s.num_points()));
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    for (int e = 0; e < 3; ++e) {
      const Index a = s.triangles(f, e), b = s.triangles(f, (e + 1) % 3);
      CARDIOTWIN_CHECK(a >= 0 && a < s.num_points() && b >= 0 && b < s.num_points(), InvalidInput,
                       "node index out of range", "an index in [0, " << s.num_points() << ")", std::min(a, b),
                       Where("surface", "triangles", f));
      auto& u = edges[edge_key(a, b)];
      ++u[0];
      u[1] += a < b ? 1 : -1;
      vertex_faces[a].push_back(f);
    }
  r.edges = static_cast<std::int64_t>(edges.size());
  for (const auto& [key, u] : edges) {
    if (u[0] == 1) ++r.boundary_edges;
    else if (u[0] > 2) ++r.non_manifold_edges;
    else if (u[1] != 0) ++r.inconsistent_edges;
  }
  const auto adj = face_adjacency(s);
  // A vertex is manifold when its faces form one edge-connected fan around it.
  for (std::size_t v = 0; v < vertex_faces.size(); ++v) {
    const auto& fs = vertex_faces[v];
    if (fs.empty()) continue;
    ++r.vertices;
    std::vector<std::int64_t> stack{fs[0]}, seen{fs[0]};
    while (!stack.empty()) {
      const auto f = stack.back();
      stack.pop_back();
      for (const auto g : adj[f]) {
        if (std::find(fs.begin(), fs.end(), g) == fs.end() || std::find(seen.begin(), seen.end(), g) != seen.end())
          continue;
        // f and g both hold v and share an edge, so that edge holds v: g is next in v's fan
        seen.push_back(g);
        stack.push_back(g);
      }
    }
    if (seen.size() != fs.size()) ++r.non_manifold_vertices;
  }
  std::vector<char> done(static_cast<std::size_t>(s.num_triangles()), 0);
  for (std::int64_t f = 0; f < s.num_triangles(); ++f) {
    if (done[f]) continue;
    ++r.components;
    std::vector<std::int64_t> stack{f};
    done[f] = 1;
    while (!stack.empty()) {
      const auto g = stack.back();
      stack.pop_back();
      for (const auto h : adj[g])
        if (!done[h]) {
          done[h] = 1;
          stack.push_back(h);
        }
    }
  }
  for (std::int64_t f = 0; f < s.num_triangles(); ++f) {
    const Eigen::Vector3d a = s.points.row(s.triangles(f, 0)), b = s.points.row(s.triangles(f, 1)),
                          c = s.points.row(s.triangles(f, 2));
    r.signed_volume_mm3 += a.dot(b.cross(c)) / 6.0;
  }
  return r;
}

std::int64_t orient_outward(SurfaceMesh& s) {
  std::unordered_map<std::uint64_t, std::vector<std::int64_t>> by_edge;
  by_edge.reserve(static_cast<std::size_t>(s.num_triangles()) * 2);
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    for (int e = 0; e < 3; ++e) by_edge[edge_key(s.triangles(f, e), s.triangles(f, (e + 1) % 3))].push_back(f);
  // Does face f (as stored, before flips) traverse edge (a, b) from a to b?
  auto forward = [&](std::int64_t f, Index a, Index b) {
    for (int e = 0; e < 3; ++e)
      if (s.triangles(f, e) == a && s.triangles(f, (e + 1) % 3) == b) return true;
    return false;
  };
  std::vector<char> done(static_cast<std::size_t>(s.num_triangles()), 0), flip(done.size(), 0);
  for (std::int64_t seed = 0; seed < s.num_triangles(); ++seed) {
    if (done[seed]) continue;
    std::vector<std::int64_t> comp{seed};
    done[seed] = 1;
    for (std::size_t h = 0; h < comp.size(); ++h) {
      const auto f = comp[h];
      for (int e = 0; e < 3; ++e) {
        Index a = s.triangles(f, e), b = s.triangles(f, (e + 1) % 3);
        if (flip[f]) std::swap(a, b);  // f's edge direction after its flip
        const auto& faces = by_edge[edge_key(a, b)];
        if (faces.size() != 2) continue;  // boundary or non-manifold edge
        const auto g = faces[0] == f ? faces[1] : faces[0];
        if (done[g]) continue;
        flip[g] = forward(g, a, b);  // g must run b -> a
        done[g] = 1;
        comp.push_back(g);
      }
    }
    double vol = 0;
    for (const auto f : comp) {
      const Eigen::Vector3d a = s.points.row(s.triangles(f, 0)), b = s.points.row(s.triangles(f, 1)),
                            c = s.points.row(s.triangles(f, 2));
      vol += (flip[f] ? -1.0 : 1.0) * a.dot(b.cross(c));
    }
    if (vol < 0)
      for (const auto f : comp) flip[f] = !flip[f];
  }
  std::int64_t flipped = 0;
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    if (flip[f]) {
      std::swap(s.triangles(f, 1), s.triangles(f, 2));
      ++flipped;
    }
  return flipped;
}

ComponentRemoval remove_small_components(TetMesh& mesh, double min_fraction) {
  CARDIOTWIN_CHECK(min_fraction >= 0 && min_fraction <= 1, InvalidInput, "bad component threshold",
                   "a fraction in [0, 1]", min_fraction, Where({}, "min_fraction"));
  const std::int64_t m = mesh.num_tets();
  std::vector<std::int64_t> parent(static_cast<std::size_t>(m));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::int64_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  const std::vector<TetFace> faces = sorted_tet_faces(mesh);
  for (std::size_t i = 1; i < faces.size(); ++i)
    if (faces[i].nodes == faces[i - 1].nodes) parent[find(faces[i].tet)] = find(faces[i - 1].tet);
  const Eigen::VectorXd vol = tet_volumes(mesh);
  std::unordered_map<std::int64_t, double> piece;
  for (std::int64_t t = 0; t < m; ++t) piece[find(t)] += std::abs(vol[t]);
  ComponentRemoval r;
  r.components = static_cast<std::int64_t>(piece.size());
  double largest = 0;
  for (const auto& [root, v] : piece) largest = std::max(largest, v);
  std::vector<std::int64_t> keep;
  for (std::int64_t t = 0; t < m; ++t) {
    if (piece[find(t)] >= min_fraction * largest) keep.push_back(t);
    else {
      ++r.removed_tets;
      r.removed_volume_mm3 += std::abs(vol[t]);
    }
  }
  for (const auto& [root, v] : piece)
    if (v < min_fraction * largest) ++r.removed_components;
  if (r.removed_tets == 0) return r;
  TetMesh out;
  out.points = mesh.points;
  out.point_data = mesh.point_data;
  out.tets.resize(static_cast<std::int64_t>(keep.size()), 4);
  if (mesh.region.size()) out.region.resize(static_cast<std::int64_t>(keep.size()));
  auto take = [&](const Directions& d, Directions& o) {
    if (!d.rows()) return;
    o.resize(static_cast<std::int64_t>(keep.size()), 3);
    for (std::size_t i = 0; i < keep.size(); ++i) o.row(static_cast<std::int64_t>(i)) = d.row(keep[i]);
  };
  for (std::size_t i = 0; i < keep.size(); ++i) {
    out.tets.row(static_cast<std::int64_t>(i)) = mesh.tets.row(keep[i]);
    if (mesh.region.size()) out.region[static_cast<std::int64_t>(i)] = mesh.region[keep[i]];
  }
  take(mesh.fibre, out.fibre);
  take(mesh.sheet, out.sheet);
  take(mesh.normal, out.normal);
  for (const auto& [name, f] : mesh.cell_data) {
    Field g(static_cast<std::int64_t>(keep.size()), f.cols());
    for (std::size_t i = 0; i < keep.size(); ++i) g.row(static_cast<std::int64_t>(i)) = f.row(keep[i]);
    out.cell_data[name] = std::move(g);
  }
  remove_unused_points(out);
  mesh = std::move(out);
  return r;
}

SurfaceMesh printable_surface(const TetMesh& mesh, int region) {
  validate_mesh(mesh, "mesh");
  SurfaceMesh s;
  if (region < 0) {
    s = boundary_surface(mesh);
  } else {
    TetMesh sub;
    std::vector<std::int64_t> keep;
    for (std::int64_t t = 0; t < mesh.num_tets(); ++t)
      if (mesh.region_of(t) == region) keep.push_back(t);
    CARDIOTWIN_CHECK(!keep.empty(), InvalidInput, "region absent from the mesh", "tets with region " << region,
                     "none", Where("mesh", "region"));
    sub.points = mesh.points;
    sub.tets.resize(static_cast<std::int64_t>(keep.size()), 4);
    for (std::size_t r = 0; r < keep.size(); ++r) sub.tets.row(static_cast<std::int64_t>(r)) = mesh.tets.row(keep[r]);
    s = boundary_surface(sub);
  }
  s = extract_faces(s);
  s.point_data.clear();
  s.cell_data.clear();
  const ManifoldCheck m = check_manifold(s);
  CARDIOTWIN_CHECK(m.watertight(), InvalidInput, "surface is not watertight",
                   "a closed, manifold, consistently oriented surface",
                   m.boundary_edges << " boundary edges, " << m.non_manifold_edges << " non-manifold edges, "
                                    << m.non_manifold_vertices << " non-manifold vertices, "
                                    << m.inconsistent_edges << " inconsistently oriented edges",
                   Where("mesh", region < 0 ? std::string("surface") : "region " + std::to_string(region)));
  return s;
}

}  // namespace cardiotwin::mesh
