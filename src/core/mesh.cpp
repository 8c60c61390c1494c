#include "cardiotwin/core/mesh.hpp"

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <vector>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin {

nlohmann::json MeshCheck::to_json() const {
  return {{"num_points", num_points},         {"num_cells", num_cells},
          {"out_of_range", out_of_range},     {"repeated_nodes", repeated_nodes},
          {"inverted", inverted},             {"degenerate", degenerate},
          {"unused_points", unused_points},   {"non_finite_points", non_finite_points},
          {"first_bad_cell", first_bad_cell}, {"min_measure", min_measure},
          {"max_measure", max_measure},       {"total_measure", total_measure},
          {"ok", ok()}};
}

namespace {

// Shared part of the tet and triangle checks: index range, repeats, point use.
// `measure(c)` returns the signed volume/area of cell c and its tolerance scale.
template <class Cells, class Measure>
MeshCheck check_cells(const Points& points, const Cells& cells, bool oriented, double rel_tol,
                      Measure measure) {
  MeshCheck r;
  r.num_points = points.rows();
  r.num_cells = cells.rows();
  std::vector<char> used(static_cast<std::size_t>(points.rows()), 0);
  for (std::int64_t p = 0; p < points.rows(); ++p)
    if (!points.row(p).allFinite()) ++r.non_finite_points;
  bool first = true;
  auto mark_bad = [&r](std::int64_t c) {
    if (r.first_bad_cell < 0) r.first_bad_cell = c;
  };
  for (std::int64_t c = 0; c < cells.rows(); ++c) {
    bool in_range = true, repeated = false;
    for (int a = 0; a < cells.cols(); ++a) {
      const auto v = cells(c, a);
      if (v < 0 || v >= points.rows()) {
        in_range = false;
        continue;
      }
      used[static_cast<std::size_t>(v)] = 1;
      for (int b = 0; b < a; ++b) repeated |= (cells(c, b) == v);
    }
    if (!in_range) {
      ++r.out_of_range;
      mark_bad(c);
      continue;
    }
    if (repeated) {
      ++r.repeated_nodes;
      mark_bad(c);
      continue;
    }
    const auto [m, scale] = measure(c);
    if (!std::isfinite(m)) {
      mark_bad(c);
      continue;  // counted through non_finite_points
    }
    if (std::abs(m) <= rel_tol * scale) {
      ++r.degenerate;
      mark_bad(c);
    } else if (oriented && m < 0) {
      ++r.inverted;
      mark_bad(c);
    }
    const double am = oriented ? m : std::abs(m);
    r.min_measure = first ? am : std::min(r.min_measure, am);
    r.max_measure = first ? am : std::max(r.max_measure, am);
    r.total_measure += am;
    first = false;
  }
  r.unused_points = std::count(used.begin(), used.end(), 0);
  return r;
}

template <class Mesh>
void check_field_rows(const FieldMap& fields, std::int64_t rows, const char* what,
                      const std::string& name) {
  for (const auto& [key, f] : fields)
    CARDIOTWIN_CHECK(f.rows() == rows, InvalidInput, "field size mismatch",
                     rows << " rows (one per " << what << ")", f.rows() << " rows",
                     Where(name, key));
}

void throw_first_problem(const MeshCheck& r, const std::string& name, const char* cell_kind) {
  if (r.ok()) return;
  const std::int64_t e = r.first_bad_cell;
  std::string found;
  if (r.non_finite_points) found += std::to_string(r.non_finite_points) + " non-finite points; ";
  if (r.out_of_range) found += std::to_string(r.out_of_range) + " with node indices out of range; ";
  if (r.repeated_nodes) found += std::to_string(r.repeated_nodes) + " using a node twice; ";
  if (r.inverted) found += std::to_string(r.inverted) + " inverted; ";
  if (r.degenerate) found += std::to_string(r.degenerate) + " degenerate (zero size); ";
  found.resize(found.size() - 2);
  throw InvalidInput(std::string("invalid ") + cell_kind,
                     "valid, positively oriented " + std::string(cell_kind) + "s with node indices in [0, " +
                         std::to_string(r.num_points) + ")",
                     found + "; first bad " + cell_kind + " is element " + std::to_string(e),
                     Where(name, cell_kind == std::string("tetrahedron") ? "tets" : "triangles", e));
}

}  // namespace

Eigen::VectorXd tet_volumes(const TetMesh& mesh) {
  Eigen::VectorXd v(mesh.tets.rows());
  for (std::int64_t c = 0; c < mesh.tets.rows(); ++c) {
    const Eigen::Vector3d p0 = mesh.points.row(mesh.tets(c, 0));
    const Eigen::Vector3d a = mesh.points.row(mesh.tets(c, 1)).transpose() - p0;
    const Eigen::Vector3d b = mesh.points.row(mesh.tets(c, 2)).transpose() - p0;
    const Eigen::Vector3d d = mesh.points.row(mesh.tets(c, 3)).transpose() - p0;
    v[c] = a.dot(b.cross(d)) / 6.0;
  }
  return v;
}

MeshCheck check_mesh(const TetMesh& mesh, double rel_tol) {
  return check_cells(mesh.points, mesh.tets, true, rel_tol, [&mesh](std::int64_t c) {
    Eigen::Vector3d p[4];
    for (int a = 0; a < 4; ++a) p[a] = mesh.points.row(mesh.tets(c, a));
    double longest = 0;
    for (int a = 0; a < 4; ++a)
      for (int b = a + 1; b < 4; ++b) longest = std::max(longest, (p[a] - p[b]).norm());
    const double vol = (p[1] - p[0]).dot((p[2] - p[0]).cross(p[3] - p[0])) / 6.0;
    return std::pair<double, double>(vol, longest * longest * longest);
  });
}

MeshCheck check_mesh(const SurfaceMesh& mesh, double rel_tol) {
  return check_cells(mesh.points, mesh.triangles, false, rel_tol, [&mesh](std::int64_t c) {
    Eigen::Vector3d p[3];
    for (int a = 0; a < 3; ++a) p[a] = mesh.points.row(mesh.triangles(c, a));
    double longest = 0;
    for (int a = 0; a < 3; ++a) longest = std::max(longest, (p[a] - p[(a + 1) % 3]).norm());
    const double area = 0.5 * (p[1] - p[0]).cross(p[2] - p[0]).norm();
    return std::pair<double, double>(area, longest * longest);
  });
}

void validate_mesh(const TetMesh& mesh, const std::string& name) {
  const std::int64_t m = mesh.tets.rows();
  CARDIOTWIN_CHECK(mesh.region.size() == 0 || mesh.region.size() == m, InvalidInput,
                   "region tag count mismatch", m << " (one per tet) or none", mesh.region.size(),
                   Where(name, "region"));
  const std::pair<const char*, const Directions*> dirs[] = {
      {"fibre", &mesh.fibre}, {"sheet", &mesh.sheet}, {"normal", &mesh.normal}};
  for (const auto& [label, d] : dirs) {
    CARDIOTWIN_CHECK(d->rows() == 0 || d->rows() == m, InvalidInput, "direction count mismatch",
                     m << " rows (one per tet) or none", d->rows() << " rows", Where(name, label));
    for (std::int64_t e = 0; e < d->rows(); ++e) {
      const double n = d->row(e).norm();
      CARDIOTWIN_CHECK(std::isfinite(n) && std::abs(n - 1.0) < 1e-3, InvalidInput,
                       "direction is not a unit vector", "length 1", "length " << n,
                       Where(name, label, e));
    }
  }
  check_field_rows<TetMesh>(mesh.point_data, mesh.points.rows(), "point", name);
  check_field_rows<TetMesh>(mesh.cell_data, m, "tet", name);
  throw_first_problem(check_mesh(mesh), name, "tetrahedron");
}

void validate_mesh(const SurfaceMesh& mesh, const std::string& name) {
  CARDIOTWIN_CHECK(mesh.tags.size() == 0 || mesh.tags.size() == mesh.triangles.rows(), InvalidInput,
                   "face tag count mismatch", mesh.triangles.rows() << " (one per triangle) or none",
                   mesh.tags.size(), Where(name, "tags"));
  check_field_rows<SurfaceMesh>(mesh.point_data, mesh.points.rows(), "point", name);
  check_field_rows<SurfaceMesh>(mesh.cell_data, mesh.triangles.rows(), "triangle", name);
  throw_first_problem(check_mesh(mesh), name, "triangle");
}

std::int64_t fix_orientation(TetMesh& mesh) {
  const Eigen::VectorXd v = tet_volumes(mesh);
  std::int64_t flipped = 0;
  for (std::int64_t c = 0; c < v.size(); ++c)
    if (v[c] < 0) {
      std::swap(mesh.tets(c, 2), mesh.tets(c, 3));
      ++flipped;
    }
  return flipped;
}

std::int64_t remove_unused_points(TetMesh& mesh) {
  const std::int64_t n = mesh.points.rows();
  std::vector<Index> new_id(static_cast<std::size_t>(n), -1);
  for (std::int64_t c = 0; c < mesh.tets.rows(); ++c)
    for (int a = 0; a < 4; ++a) {
      const auto v = mesh.tets(c, a);
      CARDIOTWIN_CHECK(v >= 0 && v < n, InvalidInput, "node index out of range",
                       "an index in [0, " << n << ")", v, Where("mesh", "tets", c));
      new_id[static_cast<std::size_t>(v)] = 0;
    }
  Index next = 0;
  for (auto& id : new_id)
    if (id == 0) id = next++;
  const std::int64_t removed = n - next;
  if (removed == 0) return 0;
  auto compact = [&](auto& rows) {
    std::remove_reference_t<decltype(rows)> out(next, rows.cols());
    for (std::int64_t p = 0; p < n; ++p)
      if (new_id[static_cast<std::size_t>(p)] >= 0) out.row(new_id[static_cast<std::size_t>(p)]) = rows.row(p);
    rows = std::move(out);
  };
  compact(mesh.points);
  for (auto& [key, f] : mesh.point_data) compact(f);
  for (std::int64_t c = 0; c < mesh.tets.rows(); ++c)
    for (int a = 0; a < 4; ++a) mesh.tets(c, a) = new_id[static_cast<std::size_t>(mesh.tets(c, a))];
  return removed;
}

}  // namespace cardiotwin
