/// @file surface.hpp
/// @brief Boundary surfaces of tet meshes, surface tags (LV/RV endocardium, epicardium, base),
/// tagging from label adjacency or geometry, tag checks, and closed-manifold checks for STL export.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cardiotwin/core/image.hpp"
#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::mesh {

/// The surface tags cardiotwin uses for ventricular meshes (`SurfaceMesh::tags`).
enum SurfaceTag : Index {
  kUntagged = 0,
  kLvEndo = 1,  ///< LV endocardium
  kRvEndo = 2,  ///< RV endocardium
  kEpi = 3,     ///< epicardium
  kBase = 4,    ///< base: the cut at the valve plane, or faces touching atria / great vessels
};
/// "lv_endo", "rv_endo", "epi", "base", "untagged", or "tag <n>".
std::string surface_tag_name(Index tag);
/// The tag of a name from `surface_tag_name` (throws `InvalidInput` listing the names).
Index surface_tag_from_name(const std::string& name);

/// A volume mesh with its boundary faces tagged. `surface` uses the node numbering of `mesh`
/// (its points are a copy of `mesh.points`), so a triangle's nodes are mesh nodes.
struct TaggedMesh {
  TetMesh mesh;
  SurfaceMesh surface;
};

/// The boundary faces of `mesh` (faces of exactly one tet), oriented with normals pointing out of
/// the mesh, sharing the mesh's node numbering (points copied, unused ones included). Cell field
/// "tet" holds the owning tet, "region" its region tag; tags are 0. When `region_interfaces` is
/// true, faces between tets of different region tags are added too (oriented out of the lower
/// tag), so that per-region surfaces are closed.
SurfaceMesh boundary_surface(const TetMesh& mesh, bool region_interfaces = false);

/// Copy of the faces of `surface` whose tag is in `tags` (all faces when empty), with unused points
/// dropped. Point field "node" holds each point's index in `surface`.
SurfaceMesh extract_faces(const SurfaceMesh& surface, const std::vector<Index>& tags = {});

/// Unit outward normals (`#triangles by 3`, zero for degenerate faces) and face centroids.
Directions face_normals(const SurfaceMesh& surface);
Points face_centroids(const SurfaceMesh& surface);
/// Face areas in mm^2.
Eigen::VectorXd face_areas(const SurfaceMesh& surface);

/// Options of `tag_from_labels`.
struct LabelTagOptions {
  /// Tag of a face whose outside neighbour has this label, e.g. {{3, kLvEndo}, {5, kRvEndo},
  /// {0, kEpi}, {2, kBase}}. Labels not listed give `default_tag`.
  std::map<int, Index> label_to_tag;
  Index default_tag = kEpi;
  /// Labels that form the mesh; the probe walks outward past them (e.g. past RV wall voxels when
  /// tagging the LV myocardium). Empty: the labels in the mesh's region tags.
  std::vector<int> meshed_labels;
  /// How far outward to look for a non-meshed label, mm (0: 3 x the largest voxel size).
  double max_distance_mm = 0;
};

/// Tag every face of `surface` (normals pointing out of the mesh) by the label found just outside
/// it in `labels`: the probe steps from the face centroid along the normal in quarter-voxel steps
/// and takes the first label not in `meshed_labels`; faces where it finds none get `default_tag`.
/// Returns the number of faces per tag.
std::map<Index, std::int64_t> tag_from_labels(SurfaceMesh& surface, const LabelMap& labels,
                                              const LabelTagOptions& options);

/// Tag as `tag` the faces of the cap at the end of the mesh along `direction` (a cut base):
/// faces whose outward normal is within `max_angle_deg` of `direction` and whose centroid lies
/// within `depth_mm` of the furthest point of the surface along `direction`. Returns how many.
std::int64_t tag_cap(SurfaceMesh& surface, const Eigen::Vector3d& direction, double max_angle_deg = 30,
                     double depth_mm = 1.0, Index tag = kBase);

/// Merge small patches: every edge-connected patch of one tag with less than `min_fraction` of the
/// area of the largest patch of that tag takes the tag its neighbours share most (by edge length).
/// Repeats until nothing changes. Returns the number of faces retagged.
std::int64_t merge_small_patches(SurfaceMesh& surface, double min_fraction = 0.1);

/// Per-tag counts, areas and edge-connected components.
struct SurfaceTagCheck {
  struct Tag {
    std::int64_t faces = 0;
    double area_mm2 = 0;
    std::int64_t components = 0;
  };
  std::map<Index, Tag> tags;
  std::vector<Index> missing;       ///< expected tags with no face
  std::vector<Index> disconnected;  ///< expected tags with more than one component
  bool ok() const noexcept { return missing.empty() && disconnected.empty(); }
  nlohmann::json to_json() const;
  /// Throw `InvalidInput` naming the missing / disconnected tags (no-op when ok).
  void throw_if_bad(const std::string& name = "surface") const;
};
/// Check that each of `expected` is present and connected (faces joined through edges).
SurfaceTagCheck check_surface_tags(const SurfaceMesh& surface, const std::vector<Index>& expected);

/// Topology of a triangulated surface (only the triangles' nodes count).
struct ManifoldCheck {
  std::int64_t triangles = 0, vertices = 0, edges = 0;
  std::int64_t boundary_edges = 0;         ///< edges of one triangle (holes)
  std::int64_t non_manifold_edges = 0;     ///< edges of more than two triangles
  std::int64_t inconsistent_edges = 0;     ///< edges used twice in the same direction (orientation flips)
  std::int64_t non_manifold_vertices = 0;  ///< vertices whose triangles form more than one fan
  std::int64_t components = 0;
  double signed_volume_mm3 = 0;            ///< enclosed volume, positive for outward orientation
  /// Closed, manifold, consistently oriented, positive volume: watertight for 3-D printing.
  bool watertight() const noexcept {
    return triangles > 0 && boundary_edges == 0 && non_manifold_edges == 0 && inconsistent_edges == 0 &&
           non_manifold_vertices == 0 && signed_volume_mm3 > 0;
  }
  nlohmann::json to_json() const;
};
ManifoldCheck check_manifold(const SurfaceMesh& surface);

/// Make the orientation of every edge-connected component consistent (neighbouring faces use
/// their shared edge in opposite directions) and outward (positive enclosed volume), flipping
/// faces as needed; non-manifold edges are not used to propagate. Returns the number of faces flipped.
std::int64_t orient_outward(SurfaceMesh& surface);

/// What `remove_small_components` removed.
struct ComponentRemoval {
  std::int64_t components = 0;          ///< face-connected pieces of the mesh before
  std::int64_t removed_components = 0;
  std::int64_t removed_tets = 0;
  double removed_volume_mm3 = 0;
};
/// Drop the face-connected pieces of `mesh` whose volume is below `min_fraction` times the volume
/// of the largest piece (tiny fragments a mesher may leave at thin spots), then unused points.
ComponentRemoval remove_small_components(TetMesh& mesh, double min_fraction = 0.05);

/// Boundary surfaces for 3-D printing: the whole mesh (`region` < 0) or one region, compacted,
/// checked with `check_manifold`; throws `InvalidInput` when not watertight.
SurfaceMesh printable_surface(const TetMesh& mesh, int region = -1);

}  // namespace cardiotwin::mesh
