"""Type stubs for the compiled module ``cardiotwin._core`` (pybind11), written by hand.

The module has submodules ``core`` (data types), ``io`` (file formats), ``mesh``
(meshing), ``anatomy`` (coordinates and fibres), ``ep`` (electrophysiology), ``ecg``, ``segment`` and
``emulate`` (designs and Gaussian-process emulators). A single stub file cannot declare submodules, so each
is written here as a class used as a namespace: ``_core.core.Image`` is the class ``Image``
nested in ``class core``, and the functions of ``io``, ``mesh`` and ``ep`` are static methods. The errors live in ``_core`` itself.

Array layouts: points ``(N, 3)`` float64 in mm, tetrahedra ``(M, 4)`` int32, triangles
``(K, 3)`` int32, tags ``(M,)`` int32, directions ``(M, 3)`` float64 (``(0, 3)`` when absent),
fields ``(rows, components)`` float64. Arrays returned by attributes are views into C++ memory
(no copy) that keep their owner alive; assigning an array copies it in after a shape check.
Image voxels are indexed ``[i, j, k]`` with i fastest (Fortran order), like nibabel's
``img.dataobj``; the world frame is NIfTI's RAS+, in mm. Paths are ``str``.
"""

from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import Any, Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

_ArrayF32: TypeAlias = npt.NDArray[np.float32]
_ArrayF64: TypeAlias = npt.NDArray[np.float64]
_ArrayI32: TypeAlias = npt.NDArray[np.int32]
_ArrayU8: TypeAlias = npt.NDArray[np.uint8]
_Vec3: TypeAlias = npt.ArrayLike  # three numbers
_Mat3: TypeAlias = npt.ArrayLike  # 3 x 3 numbers
_Encoding: TypeAlias = Literal["binary", "ascii", "compressed"]

__version__: str
has_cgal: bool
has_tetgen: bool
has_torch: bool
components: list[str]
"""Components compiled in, e.g. ``["core", "io", "mesh_tetgen"]``."""

# ---- errors ----------------------------------------------------------------------------------

class Error(Exception):
    """Base class of every cardiotwin error: what was expected, what was found, and where."""

    description: str
    expected: str
    found: str
    file: str
    field: str
    element: int | None

class FileFormatError(Error, ValueError):
    """A file's content does not follow its format."""

class FileIOError(Error, OSError):
    """A file cannot be opened, read or written."""

class InvalidInput(Error, ValueError):
    """An argument or object is invalid."""

class SolverDiverged(Error, RuntimeError):
    """A numerical method failed to converge or blew up."""

class MissingComponent(Error, ImportError):
    """The feature needs an optional component that was not built."""

# ---- cardiotwin._core.core -------------------------------------------------------------------

class core:
    """Data types: images, meshes, signals; mesh checks."""

    class FieldMap:
        """Named fields: str -> 2-D float64 array (rows = entities, columns = components).

        Values are views; a 1-D array assigned becomes one column ``(n, 1)``.
        """

        def __getitem__(self, name: str) -> _ArrayF64: ...
        def __setitem__(self, name: str, value: npt.ArrayLike) -> None: ...
        def __delitem__(self, name: str) -> None: ...
        def __contains__(self, name: object) -> bool: ...
        def __iter__(self) -> Iterator[str]: ...
        def __len__(self) -> int: ...
        def __bool__(self) -> bool: ...
        def keys(self) -> KeysView[str]: ...
        def values(self) -> ValuesView[_ArrayF64]: ...
        def items(self) -> ItemsView[str, _ArrayF64]: ...

    class Image:
        """A 3-D float32 image with geometry (spacing, origin, direction in RAS+ mm)."""

        def __init__(
            self,
            array: npt.ArrayLike,
            spacing: _Vec3 = ...,
            origin: _Vec3 = ...,
            direction: _Mat3 = ...,
        ) -> None:
            """Copy a ``(nx, ny, nz)`` array (or a 2-D slice); defaults: spacing 1 mm, origin 0,
            identity direction."""
        @property
        def array(self) -> _ArrayF32:
            """``(nx, ny, nz)`` writable view of the voxels, Fortran order (no copy)."""
        @property
        def shape(self) -> tuple[int, int, int]: ...
        @property
        def dtype(self) -> np.dtype[np.float32]: ...
        @property
        def spacing(self) -> _ArrayF64:
            """``(3,)`` voxel size along i, j, k in mm."""
        @spacing.setter
        def spacing(self, value: _Vec3) -> None: ...
        @property
        def origin(self) -> _ArrayF64:
            """``(3,)`` world position of voxel (0, 0, 0) in mm."""
        @origin.setter
        def origin(self, value: _Vec3) -> None: ...
        @property
        def direction(self) -> _ArrayF64:
            """``(3, 3)`` unit axis directions as columns."""
        @direction.setter
        def direction(self, value: _Mat3) -> None: ...
        @property
        def affine(self) -> _ArrayF64:
            """``(4, 4)`` voxel-index-to-world matrix in mm, as nibabel's ``img.affine``."""
        @affine.setter
        def affine(self, value: npt.ArrayLike) -> None: ...
        def set_geometry(self, spacing: _Vec3, origin: _Vec3, direction: _Mat3) -> None: ...
        def index_to_world(self, ijk: _Vec3) -> _ArrayF64: ...
        def world_to_index(self, xyz: _Vec3) -> _ArrayF64: ...

    class LabelMap:
        """A 3-D uint8 label map with geometry; 0 is background."""

        def __init__(
            self,
            array: npt.ArrayLike,
            spacing: _Vec3 = ...,
            origin: _Vec3 = ...,
            direction: _Mat3 = ...,
        ) -> None:
            """Copy an array of integers in 0..255 (else `InvalidInput`)."""
        @property
        def array(self) -> _ArrayU8:
            """``(nx, ny, nz)`` writable view of the labels, Fortran order (no copy)."""
        @property
        def shape(self) -> tuple[int, int, int]: ...
        @property
        def dtype(self) -> np.dtype[np.uint8]: ...
        @property
        def spacing(self) -> _ArrayF64: ...
        @spacing.setter
        def spacing(self, value: _Vec3) -> None: ...
        @property
        def origin(self) -> _ArrayF64: ...
        @origin.setter
        def origin(self, value: _Vec3) -> None: ...
        @property
        def direction(self) -> _ArrayF64: ...
        @direction.setter
        def direction(self, value: _Mat3) -> None: ...
        @property
        def affine(self) -> _ArrayF64: ...
        @affine.setter
        def affine(self, value: npt.ArrayLike) -> None: ...
        def set_geometry(self, spacing: _Vec3, origin: _Vec3, direction: _Mat3) -> None: ...
        def index_to_world(self, ijk: _Vec3) -> _ArrayF64: ...
        def world_to_index(self, xyz: _Vec3) -> _ArrayF64: ...

    class MeshCheck:
        """What a mesh check found; counts are of cells unless named otherwise."""

        @property
        def num_points(self) -> int: ...
        @property
        def num_cells(self) -> int: ...
        @property
        def out_of_range(self) -> int: ...
        @property
        def repeated_nodes(self) -> int: ...
        @property
        def inverted(self) -> int: ...
        @property
        def degenerate(self) -> int: ...
        @property
        def unused_points(self) -> int: ...
        @property
        def non_finite_points(self) -> int: ...
        @property
        def first_bad_cell(self) -> int:
            """Index of the first cell with a problem, -1 if none."""
        @property
        def min_measure(self) -> float:
            """Smallest tet volume (mm^3) or triangle area (mm^2)."""
        @property
        def max_measure(self) -> float: ...
        @property
        def total_measure(self) -> float: ...
        @property
        def ok(self) -> bool:
            """True if nothing is wrong (unused points are allowed)."""
        def to_dict(self) -> dict[str, Any]: ...

    class TetMesh:
        """A tetrahedral mesh in mm with region tags, optional fibres and named fields."""

        def __init__(
            self,
            points: npt.ArrayLike | None = None,
            tets: npt.ArrayLike | None = None,
            region: npt.ArrayLike | None = None,
        ) -> None: ...
        @property
        def points(self) -> _ArrayF64:
            """``(N, 3)`` coordinates in mm."""
        @points.setter
        def points(self, value: npt.ArrayLike) -> None: ...
        @property
        def tets(self) -> _ArrayI32:
            """``(M, 4)`` node indices, positively oriented."""
        @tets.setter
        def tets(self, value: npt.ArrayLike) -> None: ...
        @property
        def region(self) -> _ArrayI32:
            """``(M,)`` region tags; empty means all 0."""
        @region.setter
        def region(self, value: npt.ArrayLike) -> None: ...
        @property
        def fibre(self) -> _ArrayF64:
            """``(M, 3)`` unit fibre directions, or ``(0, 3)``."""
        @fibre.setter
        def fibre(self, value: npt.ArrayLike) -> None: ...
        @property
        def sheet(self) -> _ArrayF64: ...
        @sheet.setter
        def sheet(self, value: npt.ArrayLike) -> None: ...
        @property
        def normal(self) -> _ArrayF64: ...
        @normal.setter
        def normal(self, value: npt.ArrayLike) -> None: ...
        @property
        def point_data(self) -> core.FieldMap: ...
        @property
        def cell_data(self) -> core.FieldMap: ...
        @property
        def num_points(self) -> int: ...
        @property
        def num_tets(self) -> int: ...
        def check(self, rel_tol: float = 1e-10) -> core.MeshCheck: ...
        def validate(self, name: str = "mesh") -> None:
            """Raise `InvalidInput` naming the first problem."""
        def volumes(self) -> _ArrayF64:
            """``(M,)`` signed tet volumes in mm^3."""
        def fix_orientation(self) -> int:
            """Flip inverted tets; returns how many."""
        def remove_unused_points(self) -> int:
            """Drop points no tet uses (point fields follow); returns how many."""
        def copy(self) -> core.TetMesh: ...

    class SurfaceMesh:
        """A triangulated surface in mm with one tag per face."""

        def __init__(
            self,
            points: npt.ArrayLike | None = None,
            triangles: npt.ArrayLike | None = None,
            tags: npt.ArrayLike | None = None,
        ) -> None: ...
        @property
        def points(self) -> _ArrayF64: ...
        @points.setter
        def points(self, value: npt.ArrayLike) -> None: ...
        @property
        def triangles(self) -> _ArrayI32:
            """``(K, 3)`` node indices."""
        @triangles.setter
        def triangles(self, value: npt.ArrayLike) -> None: ...
        @property
        def tags(self) -> _ArrayI32:
            """``(K,)`` face tags; empty means all 0."""
        @tags.setter
        def tags(self, value: npt.ArrayLike) -> None: ...
        @property
        def point_data(self) -> core.FieldMap: ...
        @property
        def cell_data(self) -> core.FieldMap: ...
        @property
        def num_points(self) -> int: ...
        @property
        def num_triangles(self) -> int: ...
        def check(self, rel_tol: float = 1e-10) -> core.MeshCheck: ...
        def validate(self, name: str = "surface") -> None: ...
        def copy(self) -> core.SurfaceMesh: ...

    class Signals:
        """Named time series on one strictly increasing time axis (ms), e.g. ECG leads."""

        def __init__(
            self,
            time_ms: npt.ArrayLike,
            names: Sequence[str],
            values: npt.ArrayLike,
            units: str = "mV",
            metadata: Mapping[str, Any] | None = None,
        ) -> None:
            """Raises `InvalidInput` when sizes disagree, names repeat or time is not increasing."""
        @property
        def time_ms(self) -> _ArrayF64:
            """``(T,)`` sample times in ms (view)."""
        @time_ms.setter
        def time_ms(self, value: npt.ArrayLike) -> None: ...
        names: list[str]
        @property
        def values(self) -> _ArrayF64:
            """``(T, C)`` samples, one column per channel (view)."""
        @values.setter
        def values(self, value: npt.ArrayLike) -> None: ...
        units: str
        @property
        def metadata(self) -> dict[str, Any]:
            """Provenance (a copy; assign a new dict to change it)."""
        @metadata.setter
        def metadata(self, value: Mapping[str, Any]) -> None: ...
        @property
        def num_samples(self) -> int: ...
        @property
        def num_channels(self) -> int: ...
        def channel(self, name: str) -> _ArrayF64:
            """Copy of channel `name`; `InvalidInput` lists the names when it is absent."""
        def validate(self) -> None: ...

    @overload
    @staticmethod
    def check_mesh(mesh: core.TetMesh, rel_tol: float = 1e-10) -> core.MeshCheck: ...
    @overload
    @staticmethod
    def check_mesh(mesh: core.SurfaceMesh, rel_tol: float = 1e-10) -> core.MeshCheck: ...
    @overload
    @staticmethod
    def validate_mesh(mesh: core.TetMesh, name: str = "mesh") -> None: ...
    @overload
    @staticmethod
    def validate_mesh(mesh: core.SurfaceMesh, name: str = "surface") -> None: ...

# ---- cardiotwin._core.io ---------------------------------------------------------------------

class io:
    """File formats: NIfTI, VTK XML, openCARP, STL. Lengths are mm in memory."""

    @staticmethod
    def read_nifti_info(path: str) -> dict[str, Any]:
        """Header as a dict: shape, num_volumes, datatype, scl_slope, scl_inter, qform_code,
        sform_code, qform, sform, affine (the one used), description, big_endian."""
    @overload
    @staticmethod
    def read_nifti(path: str, dtype: Literal["float32"], volume: int = 0) -> core.Image: ...
    @overload
    @staticmethod
    def read_nifti(path: str, dtype: Literal["uint8"], volume: int = 0) -> core.LabelMap: ...
    @overload
    @staticmethod
    def read_nifti(
        path: str, dtype: str = "auto", volume: int = 0
    ) -> core.Image | core.LabelMap:
        """``"auto"``: a LabelMap for unscaled uint8 files, else a float32 Image (scaled)."""
    @staticmethod
    def read_labels(path: str, volume: int = 0) -> core.LabelMap:
        """Any integer NIfTI whose values are in 0..255."""
    @overload
    @staticmethod
    def write_nifti(path: str, image: core.Image) -> None: ...
    @overload
    @staticmethod
    def write_nifti(path: str, image: core.LabelMap) -> None: ...
    @staticmethod
    def read_vtu(path: str) -> core.TetMesh: ...
    @staticmethod
    def write_vtu(path: str, mesh: core.TetMesh, encoding: _Encoding = "binary") -> None: ...
    @staticmethod
    def read_vtp(path: str, tag_array: str = "tag") -> core.SurfaceMesh: ...
    @staticmethod
    def write_vtp(path: str, surface: core.SurfaceMesh, encoding: _Encoding = "binary") -> None: ...
    @staticmethod
    def read_pvd(path: str) -> list[tuple[float, str, int]]:
        """``(time_ms, file, part)`` per frame; files relative to the ``.pvd``."""
    @staticmethod
    def write_pvd(path: str, entries: Sequence[tuple[float, str, int]]) -> None: ...
    @staticmethod
    def read_opencarp(basename: str) -> core.TetMesh:
        """``basename.pts/.elem`` and, if present, ``.lon``; um on disk, mm in memory."""
    @staticmethod
    def write_opencarp(basename: str, mesh: core.TetMesh) -> None: ...
    @staticmethod
    def read_stl(path: str) -> core.SurfaceMesh:
        """Binary or ASCII STL; coincident vertices merged."""
    @staticmethod
    def write_stl(path: str, surface: core.SurfaceMesh, binary: bool = True) -> None: ...

# ---- cardiotwin._core.mesh -------------------------------------------------------------------

class mesh:
    """Meshing: procedural shapes, label maps (CGAL) and surfaces (TetGen) to tetrahedra, surface
    tags, quality. Options travel as dicts validated by C++ (unknown keys raise `InvalidInput`)."""

    UNTAGGED: int
    LV_ENDO: int
    RV_ENDO: int
    EPI: int
    BASE: int

    class TaggedMesh:
        """A tet mesh and its tagged boundary surface in the mesh's node numbering."""

        mesh: core.TetMesh
        surface: core.SurfaceMesh
        def __init__(self, mesh: core.TetMesh, surface: core.SurfaceMesh) -> None: ...

    class QualityReport:
        """Element count, dihedral angles (deg), radius-edge ratios, volumes (mm^3)."""

        num_points: int
        num_tets: int
        inverted: int
        degenerate: int
        min_dihedral_deg: float
        max_dihedral_deg: float
        mean_dihedral_deg: float
        max_radius_edge_ratio: float
        mean_radius_edge_ratio: float
        mean_edge_mm: float
        total_volume_mm3: float
        region_volume_mm3: dict[int, float]
        def to_dict(self) -> dict[str, Any]: ...

    class LabelMeshResult:
        """Result of `mesh_label_map` (only with CGAL)."""

        mesh: core.TetMesh
        prepared: core.LabelMap
        quality: mesh.QualityReport
        warnings: list[str]
        labels: list[int]
        def to_dict(self) -> dict[str, Any]: ...

    @staticmethod
    def box_mesh(size: _Vec3, dx: float) -> core.TetMesh:
        """Box ``[0, size]`` (mm) on a regular grid of about `dx` mm, 6 tets per cube, fibres along
        x, sheets along y, region 1."""
    @staticmethod
    def niederer_slab(dx: float) -> core.TetMesh:
        """The 20 x 7 x 3 mm slab of the Niederer et al. 2011 benchmark at spacing `dx` mm."""
    @staticmethod
    def surface_tag_name(tag: int) -> str: ...
    @staticmethod
    def surface_tag_from_name(name: str) -> int: ...
    @staticmethod
    def boundary_surface(mesh: core.TetMesh, region_interfaces: bool = False) -> core.SurfaceMesh: ...
    @staticmethod
    def extract_faces(surface: core.SurfaceMesh, tags: Sequence[int] = ()) -> core.SurfaceMesh: ...
    @staticmethod
    def face_normals(surface: core.SurfaceMesh) -> _ArrayF64: ...
    @staticmethod
    def face_areas(surface: core.SurfaceMesh) -> _ArrayF64: ...
    @staticmethod
    def tag_from_labels(surface: core.SurfaceMesh, labels: core.LabelMap, label_to_tag: Mapping[int, int],
                        default_tag: int = 3, meshed_labels: Sequence[int] = (),
                        max_distance_mm: float = 0.0) -> dict[int, int]: ...
    @staticmethod
    def tag_cap(surface: core.SurfaceMesh, direction: _Vec3, max_angle_deg: float = 30.0, depth_mm: float = 1.0,
                tag: int = 4) -> int: ...
    @staticmethod
    def merge_small_patches(surface: core.SurfaceMesh, min_fraction: float = 0.1) -> int: ...
    @staticmethod
    def check_surface_tags(surface: core.SurfaceMesh, expected: Sequence[int]) -> dict[str, Any]: ...
    @staticmethod
    def check_manifold(surface: core.SurfaceMesh) -> dict[str, Any]: ...
    @staticmethod
    def orient_outward(surface: core.SurfaceMesh) -> int: ...
    @staticmethod
    def printable_surface(mesh: core.TetMesh, region: int = -1) -> core.SurfaceMesh: ...
    @staticmethod
    def quality_report(mesh: core.TetMesh) -> mesh.QualityReport: ...
    @staticmethod
    def ellipsoidal_lv(options: Mapping[str, Any] | None = None) -> mesh.TaggedMesh: ...
    @staticmethod
    def ellipsoidal_lv_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    @staticmethod
    def ellipsoidal_lv_volumes(options: Mapping[str, Any] | None = None) -> tuple[float, float]: ...
    @staticmethod
    def biventricular_label_map(options: Mapping[str, Any] | None = None) -> core.LabelMap: ...
    @staticmethod
    def biventricular_mesh(options: Mapping[str, Any] | None = None, size_mm: float = 1.0) -> mesh.TaggedMesh: ...
    @staticmethod
    def label_volumes_mm3(labels: core.LabelMap) -> dict[int, float]: ...
    @staticmethod
    def crop_to_labels(labels: core.LabelMap, wanted: Sequence[int] = (), margin: int = 2) -> core.LabelMap: ...
    @staticmethod
    def interpolate_slices(labels: core.LabelMap, max_anisotropy: float = 2.0,
                           target_spacing_mm: float = 0.0) -> tuple[core.LabelMap, dict[str, Any]]: ...
    @staticmethod
    def remove_islands(labels: core.LabelMap, wanted: Sequence[int], min_fraction: float = 0.05) -> list[dict[str, Any]]: ...
    @staticmethod
    def grow_wall(labels: core.LabelMap, source_label: int, thickness_mm: float, new_label: int,
                  into: Sequence[int] = (0,)) -> int: ...
    @staticmethod
    def mesh_label_map(labels: core.LabelMap, options: Mapping[str, Any] | None = None) -> mesh.LabelMeshResult:
        """Label map to tet mesh with CGAL Mesh_3; raises `MissingComponent` without CGAL."""
    @staticmethod
    def label_mesh_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    @staticmethod
    def tetrahedralize(
        surface: core.SurfaceMesh,
        max_radius_edge_ratio: float = 1.4,
        min_dihedral_deg: float = 0.0,
        max_volume_mm3: float = 0.0,
        extra_switches: str = "",
        check_self_intersections: bool = True,
    ) -> core.TetMesh:
        """Fill a closed surface with tetrahedra (region 1); raises `MissingComponent` without
        TetGen."""
    @staticmethod
    def tetrahedralize_tagged(
        surface: core.SurfaceMesh,
        max_radius_edge_ratio: float = 1.4,
        min_dihedral_deg: float = 0.0,
        max_volume_mm3: float = 0.0,
        extra_switches: str = "",
        check_self_intersections: bool = True,
    ) -> mesh.TaggedMesh:
        """Like `tetrahedralize`, plus the boundary surface carrying the input face tags."""

# ---- cardiotwin._core.anatomy ----------------------------------------------------------------

class anatomy:
    """Anatomy: Laplace solves, ventricular coordinates, rule-based fibres."""

    class VentricularCoordinates:
        """Node fields (read-only views) and the long-axis frame."""

        transmural: _ArrayF64
        apicobasal: _ArrayF64
        rotational: _ArrayF64
        phi_lv: _ArrayF64
        phi_rv: _ArrayF64
        lv_rv: _ArrayF64
        ventricle: _ArrayF64
        apex: _ArrayF64
        base_centre: _ArrayF64
        long_axis: _ArrayF64
        has_rv: bool
        iterations: int
        def add_to(self, mesh: core.TetMesh) -> None: ...
        @staticmethod
        def from_point_data(mesh: core.TetMesh) -> anatomy.VentricularCoordinates: ...

    @staticmethod
    def ventricular_coordinates(mesh: core.TetMesh, surface: core.SurfaceMesh,
                                options: Mapping[str, Any] | None = None) -> anatomy.VentricularCoordinates: ...
    @staticmethod
    def coordinate_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    @staticmethod
    def compute_fibres(mesh: core.TetMesh, coordinates: anatomy.VentricularCoordinates,
                       options: Mapping[str, Any] | None = None) -> dict[str, _ArrayF64]: ...
    @staticmethod
    def assign_fibres(mesh: core.TetMesh, coordinates: anatomy.VentricularCoordinates,
                      options: Mapping[str, Any] | None = None) -> None: ...
    @staticmethod
    def fibre_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    @staticmethod
    def helix_angle_deg(fibre: _Vec3, longitudinal: _Vec3, transmural: _Vec3) -> float: ...
    @staticmethod
    def solve_laplace(mesh: core.TetMesh, nodes: Sequence[int], values: Sequence[float],
                      rel_tol: float = 1e-8) -> _ArrayF64: ...

# ---- cardiotwin._core.ep ---------------------------------------------------------------------

class ep:
    """Electrophysiology: ionic models, the monodomain solver, single-cell pacing.

    Options travel as dicts (JSON) validated by C++: unknown keys or bad values raise
    `InvalidInput` naming the key and listing the valid choices.
    """

    @staticmethod
    def ionic_model_names() -> list[str]:
        """Registered ionic models, e.g. ``["aliev_panfilov", "mitchell_schaeffer", "passive",
        "tp06"]``."""
    @staticmethod
    def ionic_model_info(name: str) -> dict[str, Any]:
        """``{"name", "description", "cell_types", "state_names", "parameter_names"}``; an
        unknown name raises `InvalidInput` listing the models."""
    @staticmethod
    def default_monodomain_options() -> dict[str, Any]:
        """Every monodomain option with its default (dt_ms, t_end_ms, ionic_model, stimuli, ...)."""
    @staticmethod
    def validate_monodomain_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate `options` (raises `InvalidInput`); returns them with defaults filled in."""
    @staticmethod
    def default_pacing_protocol() -> dict[str, Any]:
        """Every single-cell pacing protocol option with its default."""
    @staticmethod
    def simulate_single_cell(
        model_name: str,
        protocol: Mapping[str, Any] | None = None,
        ionic_options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Pace one cell: ``{"trace": Signals ("Vm" in mV against ms), "beats": [{"beat",
        "stim_time_ms", "resting_vm_mv", "peak_vm_mv", "dvdt_max_mv_per_ms",
        "activation_time_ms", "apd50_ms", "apd90_ms"}, ...], "final_vm_mv": float,
        "final_state": (S,) float64}``."""
    @staticmethod
    def num_threads() -> int:
        """Threads used by parallel loops."""
    @staticmethod
    def set_num_threads(n: int) -> None:
        """Set the thread count (0 = all cores)."""

    class EPResult:
        """Activation, repolarisation, probes and metadata of a tissue simulation."""

        @property
        def activation_ms(self) -> _ArrayF64:
            """``(N,)`` first upward crossing of the activation threshold (ms); NaN: never."""
        @property
        def repolarisation_ms(self) -> _ArrayF64:
            """``(N,)`` first downward crossing of the repolarisation threshold after
            activation (ms); NaN: none."""
        @property
        def apd_ms(self) -> _ArrayF64:
            """``(N,)`` repolarisation - activation (ms), a copy."""
        @property
        def probes(self) -> core.Signals:
            """Vm (mV) at the probe points, channels ``probe0``, ``probe1``, ...; metadata
            ``{"nodes": [...]}`` (the nearest node of each point)."""
        @property
        def snapshots_pvd(self) -> str:
            """Path of the Vm snapshot series (``.pvd``), or ``""``."""
        @property
        def metadata(self) -> dict[str, Any]:
            """``{"model", "num_points", "num_tets", "options", "threads", "time_ms", "timings",
            "units"}``."""

    class Monodomain:
        """Monodomain P1-FEM solver; the matrices are assembled on construction."""

        def __init__(self, mesh: core.TetMesh, options: Mapping[str, Any] | None = None) -> None:
            """`options`: see ``default_monodomain_options()``; raises `InvalidInput`."""
        def run(
            self,
            t_end_ms: float | None = None,
            progress: Callable[[float, float], bool | None] | None = None,
        ) -> None:
            """Advance to `t_end_ms` (default ``options["t_end_ms"]``) without the GIL.
            ``progress(t, t_end)`` is called about every 1 %; returning False stops early; an
            exception it raises (KeyboardInterrupt included) stops the run and propagates.
            Raises `SolverDiverged` (naming time and node) when Vm blows up."""
        def step(self) -> None:
            """One time step of ``dt_ms``."""
        @property
        def time_ms(self) -> float: ...
        @property
        def vm(self) -> _ArrayF64:
            """``(N,)`` current Vm in mV (read-only view)."""
        def set_vm(self, vm: npt.ArrayLike) -> None:
            """Replace Vm (one value per node, mV)."""
        def result(self) -> ep.EPResult: ...
        @property
        def options(self) -> dict[str, Any]:
            """The options in use, defaults filled in."""
        @property
        def timings(self) -> dict[str, float]:
            """``{"assembly_s", "ionic_s", "diffusion_s", "output_s", "steps", "cg_iterations",
            "cg_iterations_per_step"}``."""
        @property
        def stimulus_nodes(self) -> list[list[int]]:
            """Nodes stimulated by each stimulus, in ``options["stimuli"]`` order."""
        def save_checkpoint(self, path: str) -> None:
            """Write the whole state atomically."""
        def load_checkpoint(self, path: str) -> None:
            """Continue from a checkpoint of a solver with the same mesh and options
            (bit-identical for the same thread count)."""

    # ---- Eikonal models ----
    @staticmethod
    def default_eikonal_options(reaction: bool = True) -> dict[str, Any]:
        """Every (reaction-)Eikonal option with its default (``roots`` empty: at least one is
        needed)."""
    @staticmethod
    def solve_eikonal(mesh: core.TetMesh, options: Mapping[str, Any]) -> dict[str, Any]:
        """Anisotropic Eikonal: ``{"activation_ms": (N,) float64 (+inf where unreached),
        "unreached", "root_nodes", "root_times_ms", "iterations", "local_solves", "seconds",
        "threads"}``; raises `InvalidInput` for bad velocities, roots or missing fibres."""
    @staticmethod
    def ap_template(
        options: Mapping[str, Any] | None = None,
        activation_mv: float = 0.0,
        repolarisation_mv: float = -70.0,
    ) -> dict[str, Any]:
        """``{"time_ms": (K,), "vm_mv": (K,), "apd_ms", "upstroke_end_ms"}``, time 0 at
        activation."""
    @staticmethod
    def default_ventricular_roots(
        mesh: core.TetMesh,
        options: Mapping[str, Any] | None = None,
        *,
        transmural: npt.ArrayLike | None = None,
        apicobasal: npt.ArrayLike | None = None,
        rotational: npt.ArrayLike | None = None,
        lv_rv: npt.ArrayLike | None = None,
    ) -> list[dict[str, Any]]:
        """Root dicts (``node``, ``time_ms``, ``name``) for normal ventricular activation."""

    class EikonalModel:
        """Eikonal or reaction-Eikonal tissue model (activation solved on construction)."""

        def __init__(self, mesh: core.TetMesh, config: Mapping[str, Any]) -> None:
            """`config`: ``{"model": "eikonal" | "reaction-eikonal", ...}``, see
            ``default_eikonal_options()``; raises `InvalidInput`."""
        def run(
            self,
            t_end_ms: float | None = None,
            progress: Callable[[float, float], bool | None] | None = None,
        ) -> None:
            """Move the clock to `t_end_ms`, writing probes and snapshots."""
        @property
        def time_ms(self) -> float: ...
        @property
        def vm(self) -> _ArrayF64:
            """``(N,)`` Vm at the current time (mV)."""
        def vm_at(self, t_ms: float) -> _ArrayF64:
            """``(N,)`` Vm at `t_ms` (the clock does not move)."""
        def vm_series(self, times_ms: npt.ArrayLike) -> _ArrayF64:
            """``(T, N)`` Vm at each time."""
        def result(self) -> ep.EPResult: ...
        @property
        def apd_ms(self) -> _ArrayF64:
            """``(N,)`` APD per node (ms)."""
        @property
        def solution(self) -> dict[str, Any]:
            """As returned by ``solve_eikonal``."""
        @property
        def options(self) -> dict[str, Any]: ...

class segment:
    """Segmentation with TorchScript models (component ``segment``, libtorch). Without it only
    ``load_model`` exists, raising `MissingComponent`."""

    class SegmentResult:
        @property
        def labels(self) -> core.LabelMap:
            """Labels on the input image's geometry."""
        @property
        def voxel_counts(self) -> list[int]:
            """Voxels per model label, ordered by label value."""
        @property
        def volumes_ml(self) -> list[float]:
            """Volume per model label (mL), ordered by label value."""
        @property
        def warnings(self) -> list[str]:
            """Empty result, labels not found or removed as implausibly small."""
        @property
        def empty(self) -> bool: ...

    class Model:
        @staticmethod
        def load(path: str) -> segment.Model:
            """Load ``model.pt`` and ``metadata.json`` from the folder `path`."""
        @staticmethod
        def load_files(model_path: str, metadata_path: str) -> segment.Model: ...
        @property
        def info(self) -> dict[str, Any]:
            """Metadata: name, labels {name: value}, output_channels, spacing_mm, patch_size, ..."""
        def segment(self, image: core.Image, options: Mapping[str, Any] | None = None) -> segment.SegmentResult:
            """Options: overlap, gaussian_sigma, mirror, largest_component, fill_holes, min_volume,
            threads, batch; unknown keys raise `InvalidInput`."""
        def probabilities(self, image: core.Image, options: Mapping[str, Any] | None = None) -> list[core.Image]:
            """Class probabilities on the input grid, one image per output channel."""

    @staticmethod
    def keep_largest_components(labels: core.LabelMap) -> int: ...
    @staticmethod
    def fill_holes(labels: core.LabelMap, axis: int = 2) -> int: ...
    @staticmethod
    def default_options() -> dict[str, Any]: ...
    @staticmethod
    def set_num_threads(threads: int) -> None: ...

# ---- cardiotwin._core.emulate ----------------------------------------------------------------

_Bounds: TypeAlias = Sequence[tuple[str, float, float]]

class emulate:
    """Designs of experiments and Gaussian-process emulators. Bounds are lists of
    ``(name, lower, upper)``; designs and inputs are ``(n, d)`` float64, outputs ``(n, k)``."""

    @staticmethod
    def latin_hypercube_unit(n: int, d: int, seed: int = 0, maximin_candidates: int = 1) -> _ArrayF64: ...
    @staticmethod
    def sobol_unit(n: int, d: int, seed: int = 0, scramble: bool = True, skip: int = 0) -> _ArrayF64: ...
    @staticmethod
    def sobol_max_dimension() -> int: ...
    @staticmethod
    def latin_hypercube(n: int, bounds: _Bounds, seed: int = 0, maximin_candidates: int = 1) -> _ArrayF64: ...
    @staticmethod
    def sobol(n: int, bounds: _Bounds, seed: int = 0, scramble: bool = True, skip: int = 0) -> _ArrayF64: ...
    @staticmethod
    def validate_bounds(bounds: _Bounds) -> None: ...
    @staticmethod
    def scale_to_bounds(unit: npt.ArrayLike, bounds: _Bounds) -> _ArrayF64: ...
    @staticmethod
    def scale_to_unit(x: npt.ArrayLike, bounds: _Bounds) -> _ArrayF64: ...
    @staticmethod
    def l2_star_discrepancy(unit: npt.ArrayLike) -> float: ...
    @staticmethod
    def min_pairwise_distance(points: npt.ArrayLike) -> float: ...
    @staticmethod
    def default_gp_options() -> dict[str, Any]: ...
    @staticmethod
    def gp_log_marginal_likelihood(x_unit: npt.ArrayLike, y: npt.ArrayLike, options: Mapping[str, Any] | None,
                                   log_params: npt.ArrayLike) -> tuple[float, _ArrayF64]:
        """(log marginal likelihood, gradient) for log (length scales, signal variance[, noise variance])."""

    class GaussianProcess:
        def __init__(self, options: Mapping[str, Any] | None = None) -> None: ...
        def fit(self, x: npt.ArrayLike, y: npt.ArrayLike, input_names: Sequence[str] = ...,
                output_names: Sequence[str] = ...) -> emulate.GaussianProcess: ...
        def predict(self, x: npt.ArrayLike) -> tuple[_ArrayF64, _ArrayF64]:
            """(mean, variance), each (m, k)."""
        def predict_mean(self, x: npt.ArrayLike) -> _ArrayF64: ...
        @property
        def fitted(self) -> bool: ...
        @property
        def num_inputs(self) -> int: ...
        @property
        def num_outputs(self) -> int: ...
        @property
        def num_training_points(self) -> int: ...
        @property
        def input_names(self) -> list[str]: ...
        @property
        def output_names(self) -> list[str]: ...
        @property
        def options(self) -> dict[str, Any]: ...
        def hyperparameters(self, output: int) -> dict[str, Any]: ...
        def lengthscales(self, output: int) -> _ArrayF64: ...
        @property
        def noise_variance(self) -> _ArrayF64: ...
        def training_inputs(self) -> _ArrayF64: ...
        def training_outputs(self) -> _ArrayF64: ...
        def to_json(self) -> str: ...
        @staticmethod
        def from_json(text: str) -> emulate.GaussianProcess: ...
        def save(self, path: str) -> None: ...
        @staticmethod
        def load(path: str) -> emulate.GaussianProcess: ...
