"""cardiotwin: cardiac digital twins from a clinical image to a simulated heartbeat and ECG.

The compiled core (``cardiotwin._core``) holds the data types and the numerics; this package adds
file-format dispatch, DICOM, conversions, plots and the ``cardiotwin`` command line.

Units everywhere: length mm, time ms, potential mV, conductivity S/m.
"""
from __future__ import annotations

import os as _os

try:
    from . import _core
except ImportError as _e:  # built with libtorch, whose libraries the loader did not find:
    if "torch" not in str(_e) and "c10" not in str(_e):  # importing torch first loads them
        raise
    import torch as _torch  # noqa: F401

    from . import _core
from ._core import (
    Error,
    FileFormatError,
    FileIOError,
    InvalidInput,
    MissingComponent,
    SolverDiverged,
    __version__,
)
from .core import (
    FieldMap,
    Image,
    LabelMap,
    MeshCheck,
    Signals,
    SurfaceMesh,
    TetMesh,
    check_mesh,
    validate_mesh,
)

#: True when the CGAL meshing component (``cardiotwin::mesh_cgal``) was built.
has_cgal: bool = bool(_core.has_cgal)
#: True when the TetGen meshing component (``cardiotwin::mesh_tetgen``) was built.
has_tetgen: bool = bool(_core.has_tetgen)
#: True when the libtorch segmentation component (``cardiotwin::segment``) was built.
has_torch: bool = bool(_core.has_torch)
#: Components compiled into this installation.
components: list[str] = list(_core.components)


def get_cmake_dir() -> str:
    """Folder holding ``cardiotwinConfig.cmake`` of this installation.

    Pass it to CMake as ``-Dcardiotwin_DIR=...`` (or its prefix in ``CMAKE_PREFIX_PATH``) to
    build C++ code against the very library Python uses. Raises ``FileNotFoundError`` for an
    in-tree developer build, which installs no CMake package.
    """
    here = _os.path.dirname(_os.path.abspath(__file__))
    for libdir in ("lib", "lib64"):
        path = _os.path.join(here, libdir, "cmake", "cardiotwin")
        if _os.path.isfile(_os.path.join(path, "cardiotwinConfig.cmake")):
            return path
    raise FileNotFoundError(
        f"no cardiotwinConfig.cmake under {here}: this copy of cardiotwin was not installed with "
        "'pip install', so it carries no CMake package; use 'cmake --install' for C++ users"
    )


def __getattr__(name: str) -> object:
    # cardiotwin.Twin is imported on first use (it pulls in the pipeline and its stages)
    if name == "Twin":
        from .twin import Twin

        return Twin
    raise AttributeError(f"module 'cardiotwin' has no attribute '{name}'")


__all__ = [
    "Twin",
    "Error", "FileFormatError", "FileIOError", "InvalidInput", "MissingComponent", "SolverDiverged",
    "FieldMap", "Image", "LabelMap", "MeshCheck", "Signals", "SurfaceMesh", "TetMesh",
    "check_mesh", "validate_mesh", "has_cgal", "has_tetgen", "has_torch", "components",
    "get_cmake_dir", "__version__",
]
