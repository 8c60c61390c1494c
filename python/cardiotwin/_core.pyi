"""Type stubs for the compiled module ``cardiotwin._core`` (pybind11), written by hand.

Array layouts: points are ``(N, 3)`` float64 in mm, tetrahedra ``(M, 4)`` int32, triangles
``(K, 3)`` int32, tags ``(M,)`` int32, directions ``(M, 3)`` float64 (``(0, 3)`` when absent).
Arrays returned by attributes are views into C++ memory (no copy) that keep their owner alive.
Image voxels are indexed ``[i, j, k]`` with i fastest (Fortran order), like nibabel's
``img.dataobj``; the world frame is NIfTI's RAS+, in mm.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

_ArrayF32 = npt.NDArray[np.float32]
_ArrayF64 = npt.NDArray[np.float64]
_ArrayI32 = npt.NDArray[np.int32]
_ArrayU8 = npt.NDArray[np.uint8]
_Vec3 = npt.ArrayLike  # three numbers
_Mat = npt.ArrayLike
_Path = str | bytes | Any  # str or os.PathLike

__version__: str
has_cgal: bool
has_tetgen: bool
has_torch: bool
components: list[str]

def get_cmake_dir() -> str: ...

# ---- errors ----------------------------------------------------------------------------------

class Error(Exception):
    """Base of every cardiotwin error. Says what was expected, what was found, and where."""

    expected: str
    found: str
    file: str
    field: str
    element: int

class FileFormatError(Error, ValueError):
    """A file's content does not follow its format."""

class FileIOError(Error, OSError):
    """A file cannot be opened, read or written."""

class InvalidInput(Error, ValueError):
    """An argument or in-memory object is invalid."""

class SolverDiverged(Error, RuntimeError):
    """A numerical method failed to converge or blew up."""

class MissingComponent(Error, ImportError):
    """The feature needs an optional component that was not built."""

# ---- images ----------------------------------------------------------------------------------

class Image:
    """A 3-D float32 image with spacing (mm), origin (mm) and direction (unit axis columns)."""

    def __init__(
        self,
        array: npt.ArrayLike,
        spacing: _Vec3 = (1.0, 1.0, 1.0),
        origin: _Vec3 = (0.0, 0.0, 0.0),
        direction: _Mat = ...,
    ) -> None: ...
    @property
    def array(self) -> _ArrayF32:
        """``(nx, ny, nz)`` writable view of the voxels (Fortran order)."""
    @property
    def shape(self) -> tuple[int, int, int]: ...
    @property
    def spacing(self) -> _ArrayF64:
        """``(3,)`` voxel size along i, j, k in mm."""
    @property
    def origin(self) -> _ArrayF64:
        """``(3,)`` world position of voxel (0, 0, 0) in mm."""
    @property
    def direction(self) -> _ArrayF64:
        """``(3, 3)`` unit axis directions as columns."""
    @property
    def affine(self) -> _ArrayF64:
        """``(4, 4)`` voxel-index-to-world matrix, as nibabel's ``img.affine``."""
    @affine.setter
    def affine(self, value: _Mat) -> None: ...
    def index_to_world(self, ijk: _Vec3) -> _ArrayF64: ...
    def world_to_index(self, xyz: _Vec3) -> _ArrayF64: ...
    def set_geometry(self, spacing: _Vec3, origin: _Vec3, direction: _Mat) -> None: ...

class LabelMap:
    """A 3-D uint8 label image (0 is background) with the geometry of `Image`."""

    def __init__(
        self,
        array: npt.ArrayLike,
        spacing: _Vec3 = (1.0, 1.0, 1.0),
        origin: _Vec3 = (0.0, 0.0, 0.0),
        direction: _Mat = ...,
    ) -> None: ...
    @property
    def array(self) -> _ArrayU8:
        """``(nx, ny, nz)`` writable view of the labels (Fortran order)."""
    @property
    def shape(self) -> tuple[int, int, int]: ...
    @property
    def spacing(self) -> _ArrayF64: ...
    @property
    def origin(self) -> _ArrayF64: ...
    @property
    def direction(self) -> _ArrayF64: ...
    @property
    def affine(self) -> _ArrayF64: ...
    @affine.setter
    def affine(self, value: _Mat) -> None: ...
    def index_to_world(self, ijk: _Vec3) -> _ArrayF64: ...
    def world_to_index(self, xyz: _Vec3) -> _ArrayF64: ...
    def set_geometry(self, spacing: _Vec3, origin: _Vec3, direction: _Mat) -> None: ...

# ---- meshes ----------------------------------------------------------------------------------

class FieldMap:
    """Named fields: str -> 2-D float64 array (rows = points or cells, columns = components).

    A 1-D array assigned becomes ``(n, 1)``.
    """

    def __getitem__(self, name: str) -> _ArrayF64: ...
    def __setitem__(self, name: str, value: npt.ArrayLike) -> None: ...
    def __delitem__(self, name: str) -> None: ...
    def __contains__(self, name: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def keys(self) -> Iterator[str]: ...
    def items(self) -> Iterator[tuple[str, _ArrayF64]]: ...

class MeshCheck:
    """What ``check()`` found; counts are of cells unless named otherwise."""

    num_points: int
    num_cells: int
    out_of_range: int
    repeated_nodes: int
    inverted: int
    degenerate: int
    unused_points: int
    non_finite_points: int
    first_bad_cell: int
    min_measure: float
    max_measure: float
    total_measure: float
    @property
    def ok(self) -> bool:
        """True if nothing is wrong (unused points are allowed)."""
    def to_dict(self) -> dict[str, Any]: ...

class TetMesh:
    """A tetrahedral mesh in mm with region tags, optional fibre directions and named fields."""

    def __init__(
        self,
        points: npt.ArrayLike | None = None,
        tets: npt.ArrayLike | None = None,
        region: npt.ArrayLike | None = None,
    ) -> None: ...
    @property
    def points(self) -> _ArrayF64:
        """``(N, 3)`` in mm."""
    @points.setter
    def points(self, value: npt.ArrayLike) -> None: ...
    @property
    def tets(self) -> _ArrayI32:
        """``(M, 4)`` node indices, positively oriented."""
    @tets.setter
    def tets(self, value: npt.ArrayLike) -> None: ...
    @property
    def region(self) -> _ArrayI32:
        """``(M,)`` region tags (empty means all 0)."""
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
    def point_data(self) -> FieldMap: ...
    @property
    def cell_data(self) -> FieldMap: ...
    @property
    def num_points(self) -> int: ...
    @property
    def num_tets(self) -> int: ...
    def check(self) -> MeshCheck: ...
    def validate(self, name: str = "mesh") -> None:
        """Raise `InvalidInput` naming the first problem found."""

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
        """``(K,)`` face tags (empty means all 0)."""
    @tags.setter
    def tags(self, value: npt.ArrayLike) -> None: ...
    @property
    def point_data(self) -> FieldMap: ...
    @property
    def cell_data(self) -> FieldMap: ...
    @property
    def num_points(self) -> int: ...
    @property
    def num_triangles(self) -> int: ...
    def check(self) -> MeshCheck: ...
    def validate(self, name: str = "surface") -> None: ...

# ---- signals ---------------------------------------------------------------------------------

class Signals:
    """Named channels on one strictly increasing time axis (ms)."""

    def __init__(
        self,
        time_ms: npt.ArrayLike,
        names: Sequence[str],
        values: npt.ArrayLike,
        units: str = "mV",
        metadata: Mapping[str, Any] | None = None,
    ) -> None: ...
    @property
    def time_ms(self) -> _ArrayF64:
        """``(T,)`` sample times in ms."""
    @property
    def names(self) -> list[str]: ...
    @property
    def values(self) -> _ArrayF64:
        """``(T, C)`` samples, one column per channel."""
    @property
    def units(self) -> str: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    def channel(self, name: str) -> _ArrayF64:
        """Copy of channel `name`; `InvalidInput` lists the names when it is absent."""

# ---- low-level file I/O (submodule ``cardiotwin._core.io``) ---------------------------------

_Encoding = Literal["binary", "ascii", "compressed"]

class _IoModule:
    """The functions of the submodule ``cardiotwin._core.io``."""

    @overload
    def read_nifti(self, path: _Path, dtype: Literal["float32"]) -> Image: ...
    @overload
    def read_nifti(self, path: _Path, dtype: Literal["uint8"]) -> LabelMap: ...
    @overload
    def read_nifti(self, path: _Path, dtype: str = "auto") -> Image | LabelMap: ...
    def read_labels(self, path: _Path) -> LabelMap:
        """Any integer NIfTI with values 0..255."""
    def read_nifti_info(self, path: _Path) -> dict[str, Any]:
        """Keys: shape, datatype, qform_code, sform_code, qform, sform, affine, scl_slope,
        scl_inter, description."""
    def write_nifti(self, path: _Path, image: Image | LabelMap) -> None:
        """``.gz`` compresses."""
    def read_vtu(self, path: _Path) -> TetMesh: ...
    def write_vtu(self, path: _Path, mesh: TetMesh, encoding: _Encoding = "binary") -> None: ...
    def read_vtp(self, path: _Path, tag_array: str = "tag") -> SurfaceMesh: ...
    def write_vtp(
        self, path: _Path, surface: SurfaceMesh, encoding: _Encoding = "binary"
    ) -> None: ...
    def read_pvd(self, path: _Path) -> list[tuple[float, str, int]]:
        """``(time_ms, file, part)`` per frame; files relative to the ``.pvd``."""
    def write_pvd(self, path: _Path, entries: Sequence[tuple[float, str, int]]) -> None: ...
    def read_opencarp(self, basename: _Path) -> TetMesh:
        """``basename.pts/.elem`` and, if present, ``.lon``; um on disk, mm in memory."""
    def write_opencarp(self, basename: _Path, mesh: TetMesh) -> None: ...
    def read_stl(self, path: _Path) -> SurfaceMesh: ...
    def write_stl(self, path: _Path, surface: SurfaceMesh, binary: bool = True) -> None: ...

io: _IoModule
