"""Reading and writing images, meshes and surfaces, chosen by file extension.

The high-level functions pick the reader or writer from the path:

=================  ==========================================================
images             ``.nii``, ``.nii.gz``; a folder of DICOM files (read only)
tet meshes         ``.vtu``; openCARP ``basename`` / ``.pts`` / ``.elem`` / ``.lon``
surfaces           ``.vtp``, ``.stl``
=================  ==========================================================

The low-level readers and writers of the compiled module (``read_nifti``, ``write_vtu``, ...)
are re-exported unchanged. Lengths are mm in memory for every format (openCARP's um are
converted by its reader and writer).

Conversions to other Python libraries: :func:`to_meshio` / :func:`from_meshio` and
:func:`to_pyvista` / :func:`from_pyvista` (both libraries are optional and imported lazily).
"""

from __future__ import annotations

import os
import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal, Union, cast

import numpy as np

from ._core import FileFormatError, FileIOError, InvalidInput
from ._core import io as _io
from .core import Image, LabelMap, SurfaceMesh, TetMesh

PathLike = Union[str, "os.PathLike[str]"]


# ---- the low-level readers and writers of the compiled module --------------------------------
# The same functions as cardiotwin._core.io, accepting any path-like (pathlib.Path) too.


def read_nifti(path: PathLike, dtype: str = "auto", volume: int = 0) -> Image | LabelMap:
    """Read a NIfTI-1 image (``.nii``/``.nii.gz``). `dtype` ``"auto"`` gives a `LabelMap` for
    unscaled uint8 files, else a float32 `Image` (scl_slope/scl_inter applied); ``"float32"`` or
    ``"uint8"`` force the type. `volume` picks one volume of a 4-D file."""
    return _io.read_nifti(os.fspath(path), dtype, volume)


def read_labels(path: PathLike, volume: int = 0) -> LabelMap:
    """Read a NIfTI label map of any integer type whose values are in 0..255."""
    return _io.read_labels(os.fspath(path), volume)


def read_nifti_info(path: PathLike) -> dict[str, Any]:
    """The header of a NIfTI-1 file as a dict (shape, datatype, qform/sform and their codes, the
    affine used, scl_slope, scl_inter, description, ...)."""
    return _io.read_nifti_info(os.fspath(path))


def write_nifti(path: PathLike, image: Image | LabelMap) -> None:
    """Write an `Image` (float32) or `LabelMap` (uint8) as NIfTI-1 with sform and qform (code 1);
    ``.gz`` compresses. Atomic."""
    _io.write_nifti(os.fspath(path), image)


def read_vtu(path: PathLike) -> TetMesh:
    """Read a VTK XML unstructured grid of tetrahedra."""
    return _io.read_vtu(os.fspath(path))


def write_vtu(path: PathLike, mesh: TetMesh, encoding: str = "binary") -> None:
    """Write a `TetMesh` as ``.vtu`` (``"binary"``, ``"compressed"`` or ``"ascii"``). Atomic."""
    _io.write_vtu(os.fspath(path), mesh, _encoding(encoding))


def read_vtp(path: PathLike, tag_array: str = "tag") -> SurfaceMesh:
    """Read a VTK XML polydata surface of triangles; `tag_array` names the face-tag cell array."""
    return _io.read_vtp(os.fspath(path), tag_array)


def write_vtp(path: PathLike, surface: SurfaceMesh, encoding: str = "binary") -> None:
    """Write a `SurfaceMesh` as ``.vtp`` (face tags as cell array ``"tag"``). Atomic."""
    _io.write_vtp(os.fspath(path), surface, _encoding(encoding))


def read_pvd(path: PathLike) -> list[tuple[float, str, int]]:
    """Read a ParaView ``.pvd`` collection as ``(time_ms, file, part)`` tuples."""
    return _io.read_pvd(os.fspath(path))


def write_pvd(path: PathLike, entries: Sequence[tuple[float, str, int]]) -> None:
    """Write a ``.pvd`` collection of ``(time_ms, file, part)`` (files relative to it). Atomic."""
    _io.write_pvd(os.fspath(path), [(float(t), os.fspath(f), int(p)) for t, f, p in entries])


def read_opencarp(basename: PathLike) -> TetMesh:
    """Read openCARP ``basename.pts/.elem`` and, if present, ``.lon`` (um on disk, mm here)."""
    return _io.read_opencarp(os.fspath(basename))


def write_opencarp(basename: PathLike, mesh: TetMesh) -> None:
    """Write openCARP ``basename.pts/.elem`` and, with fibres, ``.lon`` (um on disk)."""
    _io.write_opencarp(os.fspath(basename), mesh)


def read_stl(path: PathLike) -> SurfaceMesh:
    """Read a binary or ASCII STL; coincident vertices are merged."""
    return _io.read_stl(os.fspath(path))


def write_stl(path: PathLike, surface: SurfaceMesh, binary: bool = True) -> None:
    """Write a `SurfaceMesh` as binary (default) or ASCII STL. Atomic."""
    _io.write_stl(os.fspath(path), surface, binary)


__all__ = [
    "IMAGE_EXTENSIONS",
    "MESH_EXTENSIONS",
    "SURFACE_EXTENSIONS",
    "file_kind",
    "from_meshio",
    "from_pyvista",
    "read_dicom_series",
    "read_image",
    "read_labels",
    "read_mesh",
    "read_nifti",
    "read_nifti_info",
    "read_opencarp",
    "read_pvd",
    "read_stl",
    "read_surface",
    "read_vtp",
    "read_vtu",
    "to_meshio",
    "to_pyvista",
    "write_image",
    "write_mesh",
    "write_nifti",
    "write_opencarp",
    "write_pvd",
    "write_stl",
    "write_surface",
    "write_vtp",
    "write_vtu",
]

IMAGE_EXTENSIONS = (".nii", ".nii.gz")
MESH_EXTENSIONS = (".vtu", ".pts", ".elem", ".lon")
SURFACE_EXTENSIONS = (".vtp", ".stl")
_OPENCARP_EXTENSIONS = (".pts", ".elem", ".lon")
_ENCODINGS = ("binary", "ascii", "compressed")
Encoding = Literal["binary", "ascii", "compressed"]


# ---- helpers ---------------------------------------------------------------------------------


def _error(cls: type, message: str, *, expected: str = "", found: str = "", file: PathLike = "",
           field: str = "", element: int = -1) -> Exception:
    """An instance of one of cardiotwin's exception classes, with the attributes C++ sets."""
    err = cls(message)
    for name, value in (("description", message), ("expected", expected), ("found", found),
                        ("file", os.fspath(file)), ("field", field),
                        ("element", element if element >= 0 else None)):
        try:
            setattr(err, name, value)
        except AttributeError:  # pragma: no cover - depends on how the class was bound
            pass
    return err


def _suffix(path: PathLike) -> str:
    """Lower-case extension of `path`, with the double extension ``.nii.gz`` kept whole."""
    name = os.path.basename(os.fspath(path)).lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return os.path.splitext(name)[1]


def _supported(kind: str) -> str:
    if kind == "image":
        return "images: .nii, .nii.gz, or a folder of DICOM files"
    if kind == "mesh":
        return "tet meshes: .vtu, or an openCARP basename / .pts / .elem / .lon"
    if kind == "surface":
        return "surfaces: .vtp, .stl"
    return "; ".join(_supported(k) for k in ("image", "mesh", "surface"))


def _unsupported(path: PathLike, kind: str, writing: bool = False) -> Exception:
    verb = "write" if writing else "read"
    what = {"image": "an image", "mesh": "a tet mesh", "surface": "a surface"}.get(kind, "a file")
    return _error(InvalidInput,
                  f"cannot {verb} {what} as '{os.fspath(path)}': unsupported extension "
                  f"'{_suffix(path) or '(none)'}'; supported {_supported(kind)}",
                  expected=_supported(kind), found=_suffix(path) or "(no extension)",
                  file=path)


def file_kind(path: PathLike, *, writing: bool = False) -> str | None:
    """What `path` holds, judged by its extension: ``"image"``, ``"mesh"``, ``"surface"``, or None.

    An existing folder is a DICOM image series. A path without extension is an openCARP mesh
    basename when reading and ``basename.pts`` exists, and always when writing.
    """
    p = os.fspath(path)
    if not writing and os.path.isdir(p):
        return "image"
    ext = _suffix(p)
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in MESH_EXTENSIONS:
        return "mesh"
    if ext in SURFACE_EXTENSIONS:
        return "surface"
    if ext == "" and (writing or os.path.exists(p + ".pts")):
        return "mesh"
    return None


def _encoding(encoding: str) -> Encoding:
    if encoding not in _ENCODINGS:
        raise _error(InvalidInput,
                     f"unknown encoding '{encoding}'; expected one of {', '.join(_ENCODINGS)}",
                     expected=", ".join(_ENCODINGS), found=str(encoding), field="encoding")
    return cast(Encoding, encoding)


# ---- images ----------------------------------------------------------------------------------


def read_image(path: PathLike, dtype: str = "auto", **dicom_options: Any) -> Image | LabelMap:
    """Read an image from a NIfTI file (``.nii``, ``.nii.gz``) or a folder of DICOM files.

    `dtype` is ``"auto"`` (NIfTI: a `LabelMap` when the file holds unscaled uint8, else an
    `Image`; DICOM: an `Image`), ``"float32"`` (always an `Image`) or ``"uint8"`` (a `LabelMap`;
    any integer values 0..255 are accepted). `dicom_options` (``series_uid``, ``phase``, ...) are
    passed to :func:`read_dicom_series` for folders.
    """
    if dtype not in ("auto", "float32", "uint8"):
        raise _error(InvalidInput, f"unknown dtype '{dtype}'; expected auto, float32 or uint8",
                     expected="auto, float32, uint8", found=str(dtype), field="dtype")
    p = os.fspath(path)
    if os.path.isdir(p):
        image = read_dicom_series(p, **dicom_options)
        return _to_labels(image, p) if dtype == "uint8" else image
    if dicom_options:
        raise TypeError(f"options {sorted(dicom_options)} apply to DICOM folders only")
    if _suffix(p) in IMAGE_EXTENSIONS:
        return _io.read_nifti(p, dtype)
    if _suffix(p) == ".dcm":
        raise _error(InvalidInput,
                     f"'{p}' is a single DICOM file; pass the folder that holds its series",
                     expected="a folder of DICOM files", found="a .dcm file", file=p)
    raise _unsupported(p, "image")


def _to_labels(image: Image, source: str) -> LabelMap:
    a = np.asarray(image.array)
    if a.size and (a.min() < 0 or a.max() > 255 or not np.array_equal(a, np.round(a))):
        raise _error(InvalidInput, f"'{source}' does not hold labels: values must be "
                     f"integers 0..255, found range {a.min()}..{a.max()}",
                     expected="integers 0..255", found=f"{a.min()}..{a.max()}", file=source)
    return LabelMap(np.asfortranarray(a, dtype=np.uint8), spacing=image.spacing,
                          origin=image.origin, direction=image.direction)


def write_image(path: PathLike, image: Image | LabelMap) -> None:
    """Write `image` as NIfTI-1 (``.nii``, or gzip-compressed ``.nii.gz``)."""
    if _suffix(path) not in IMAGE_EXTENSIONS:
        raise _unsupported(path, "image", writing=True)
    _io.write_nifti(os.fspath(path), image)


# ---- DICOM -----------------------------------------------------------------------------------


def _import_pydicom() -> Any:
    try:
        import pydicom
    except ImportError as e:
        raise ImportError("reading DICOM needs pydicom: pip install pydicom") from e
    return pydicom


def _float_list(ds: Any, keyword: str, n: int) -> np.ndarray | None:
    value = ds.get(keyword)
    if value is None:
        return None
    try:
        a = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        return None
    return a if a.shape == (n,) and np.all(np.isfinite(a)) else None


def _number(ds: Any, keyword: str, default: float) -> float:
    value = ds.get(keyword)
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


class _Slice:
    """The parts of one DICOM file that build a volume."""

    def __init__(self, path: str, ds: Any):
        self.path = path
        self.ds = ds
        self.series_uid = str(ds.get("SeriesInstanceUID", ""))
        # None when absent or invalid; _assemble checks before using them.
        self.iop: Any = _float_list(ds, "ImageOrientationPatient", 6)
        self.ipp: Any = _float_list(ds, "ImagePositionPatient", 3)
        self.pixel_spacing: Any = _float_list(ds, "PixelSpacing", 2)
        self.rows = int(ds.get("Rows", 0) or 0)
        self.columns = int(ds.get("Columns", 0) or 0)
        self.trigger_time = _number(ds, "TriggerTime", float("nan"))
        self.instance = _number(ds, "InstanceNumber", float("nan"))
        self.position = 0.0  # along the slice normal, set when the series is assembled

    def describe(self) -> str:
        return os.path.basename(self.path)


def _read_dicom_files(directory: str) -> list[_Slice]:
    pydicom = _import_pydicom()
    from pydicom.errors import InvalidDicomError

    names = sorted(n for n in os.listdir(directory) if not n.startswith("."))
    files = [os.path.join(directory, n) for n in names if os.path.isfile(os.path.join(directory, n))]
    slices, skipped = [], []
    with warnings.catch_warnings():
        # Real scanner files carry UIDs with leading zeros, placeholder dates (00000000) and the
        # like; pydicom warns about each such value, which says nothing about the geometry.
        warnings.filterwarnings("ignore", message=r"Invalid value for VR", category=UserWarning)
        warnings.filterwarnings("ignore", module=r"pydicom\..*", category=UserWarning)
        for f in files:
            try:
                try:
                    ds = pydicom.dcmread(f)
                except InvalidDicomError:
                    # No 128-byte preamble + "DICM": older files start directly with the dataset.
                    ds = pydicom.dcmread(f, force=True)
            except Exception as e:  # noqa: BLE001 - any parse failure means "not DICOM"
                skipped.append(f"{os.path.basename(f)} ({type(e).__name__}: {e})")
                continue
            if "PixelData" not in ds or "Rows" not in ds:
                skipped.append(f"{os.path.basename(f)} (no image data)")
                continue
            slices.append(_Slice(f, ds))
    if skipped:
        warnings.warn(f"read_dicom_series: skipped {len(skipped)} file(s) in '{directory}' that are "
                      f"not DICOM images: {'; '.join(skipped[:5])}"
                      + (" ..." if len(skipped) > 5 else ""), stacklevel=3)
    return slices


def _describe_series(uid: str, members: list[_Slice]) -> str:
    ds = members[0].ds
    parts = [f"'{uid}' ({len(members)} files"]
    for key in ("SeriesNumber", "SeriesDescription", "Modality"):
        value = ds.get(key)
        if value not in (None, ""):
            parts.append(f"{key} {value}")
    return ", ".join(parts) + ")"


def read_dicom_series(directory: PathLike, series_uid: str | None = None, phase: int | None = None,
                      *, spacing_tolerance: float = 0.01) -> Image:
    """Read one series of 2-D DICOM slices from `directory` into a float32 `Image`.

    Voxel axes: i is the DICOM column index, j the row index (so ``array[:, :, k].T`` shows a
    slice as a DICOM viewer does) and k the slice index, ascending along the slice normal
    (ImageOrientationPatient row direction x column direction). Slices are ordered and spaced by
    ImagePositionPatient, never by SliceLocation, which scanners do not keep consistent.
    Values are scaled by RescaleSlope/RescaleIntercept. The geometry is converted from DICOM's LPS
    to the RAS+ frame of NIfTI (x and y negated), in mm.

    Parameters
    ----------
    directory:
        Folder with the files (not searched recursively). Files that are not DICOM images are
        skipped with a warning.
    series_uid:
        SeriesInstanceUID to read when the folder holds several series.
    phase:
        For a series with several images at each position (cine MRI: one per cardiac phase), the
        0-based index of the image to take at every position, in order of TriggerTime, then
        InstanceNumber.
    spacing_tolerance:
        Largest allowed deviation of a slice step from the mean step, relative to the mean step.

    Raises
    ------
    ImportError
        pydicom is not installed.
    InvalidInput
        No DICOM images, several series without `series_uid`, several phases without `phase`,
        mixed orientations or sizes, or non-uniform slice spacing.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise _error(FileIOError, f"'{directory}' is not a folder of DICOM files",
                     expected="a folder", found="missing" if not os.path.exists(directory)
                     else "a file", file=directory)
    slices = _read_dicom_files(directory)
    if not slices:
        raise _error(InvalidInput, f"no DICOM images in '{directory}'",
                     expected="DICOM image files", found="none", file=directory)

    by_series: dict[str, list[_Slice]] = defaultdict(list)
    for s in slices:
        by_series[s.series_uid].append(s)
    if series_uid is not None:
        if series_uid not in by_series:
            raise _error(InvalidInput,
                         f"series '{series_uid}' is not in '{directory}'; it holds "
                         + "; ".join(_describe_series(u, m) for u, m in by_series.items()),
                         expected="a SeriesInstanceUID present in the folder", found=series_uid,
                         file=directory, field="SeriesInstanceUID")
        members = by_series[series_uid]
    elif len(by_series) > 1:
        raise _error(InvalidInput,
                     f"'{directory}' holds {len(by_series)} DICOM series; choose one with "
                     "series_uid=...: " + "; ".join(_describe_series(u, m)
                                                     for u, m in by_series.items()),
                     expected="one series", found=f"{len(by_series)} series", file=directory,
                     field="SeriesInstanceUID")
    else:
        members = next(iter(by_series.values()))
    array, affine = _assemble(members, directory, phase, spacing_tolerance)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    return Image(array, spacing=spacing, origin=affine[:3, 3],
                       direction=affine[:3, :3] / spacing)


def _check_same(members: list[_Slice], attr: str, what: str, directory: str, tol: float) -> None:
    ref = getattr(members[0], attr)
    for s in members[1:]:
        value = getattr(s, attr)
        same = np.allclose(value, ref, atol=tol, rtol=0) if tol else value == ref
        if not same:
            raise _error(InvalidInput,
                         f"DICOM series in '{directory}' mixes {what}: {members[0].describe()} has "
                         f"{ref}, {s.describe()} has {value}", expected=f"one {what}",
                         found=f"{ref} and {value}", file=s.path, field=what)


def _assemble(members: list[_Slice], directory: str, phase: int | None,
              spacing_tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Voxels (float32, Fortran order, shape columns x rows x slices) and the RAS+ affine."""
    for s in members:
        for attr, keyword in (("iop", "ImageOrientationPatient"), ("ipp", "ImagePositionPatient"),
                              ("pixel_spacing", "PixelSpacing")):
            if getattr(s, attr) is None:
                raise _error(FileFormatError,
                             f"DICOM file '{s.path}' has no valid {keyword}, so its position in "
                             "space is unknown", expected=f"a valid {keyword}", found="none",
                             file=s.path, field=keyword)
        frames = int(s.ds.get("NumberOfFrames", 1) or 1)
        if frames > 1:
            raise _error(InvalidInput,
                         f"'{s.path}' is a multi-frame DICOM ({frames} frames); only series of "
                         "single-frame files are supported", expected="1 frame per file",
                         found=f"{frames} frames", file=s.path, field="NumberOfFrames")
    _check_same(members, "iop", "ImageOrientationPatient", directory, 1e-4)
    _check_same(members, "pixel_spacing", "PixelSpacing", directory, 1e-6)
    for attr, what in (("rows", "Rows"), ("columns", "Columns")):
        _check_same(members, attr, what, directory, 0)

    row_dir = members[0].iop[:3]  # direction of increasing column index (along a row)
    col_dir = members[0].iop[3:]  # direction of increasing row index
    row_dir = row_dir / np.linalg.norm(row_dir)
    col_dir = col_dir / np.linalg.norm(col_dir)
    normal = np.cross(row_dir, col_dir)
    for s in members:
        s.position = float(np.dot(s.ipp, normal))

    # Group images at the same position (cine series repeat each position once per phase).
    members = sorted(members, key=lambda s: s.position)
    groups: list[list[_Slice]] = []
    for s in members:
        if groups and abs(s.position - groups[-1][0].position) < 1e-3:
            groups[-1].append(s)
        else:
            groups.append([s])
    counts = sorted({len(g) for g in groups})
    if counts != [1] or phase is not None:
        if len(counts) > 1:
            raise _error(InvalidInput,
                         f"DICOM series in '{directory}' has {len(members)} images at "
                         f"{len(groups)} positions, with differing numbers per position "
                         f"({counts}); it is incomplete or mixes acquisitions",
                         expected="the same number of images at every position",
                         found=f"{counts}", file=directory)
        n_phases = counts[0]
        if phase is None:
            raise _error(InvalidInput,
                         f"DICOM series in '{directory}' has {len(members)} images at "
                         f"{len(groups)} positions ({n_phases} per position, e.g. cardiac "
                         f"phases): pass phase=0..{n_phases - 1} (ordered by TriggerTime, then "
                         "InstanceNumber), or split the files into one folder per phase",
                         expected="one image per position", found=f"{n_phases} per position",
                         file=directory, field="ImagePositionPatient")
        if not 0 <= phase < n_phases:
            raise _error(InvalidInput,
                         f"phase {phase} is out of range: the series has {n_phases} image(s) "
                         "per position", expected=f"0..{n_phases - 1}", found=str(phase),
                         file=directory, field="phase")

        def order(s: _Slice) -> tuple[float, float]:
            tt = s.trigger_time if np.isfinite(s.trigger_time) else 0.0
            inst = s.instance if np.isfinite(s.instance) else 0.0
            return tt, inst

        members = [sorted(g, key=order)[phase] for g in groups]
    else:
        members = [g[0] for g in groups]

    ps = members[0].pixel_spacing  # (between rows, between columns) in mm
    n = len(members)
    ipp = np.array([s.ipp for s in members])
    if n > 1:
        steps = np.diff(ipp, axis=0)
        step = (ipp[-1] - ipp[0]) / (n - 1)
        length = float(np.linalg.norm(step))
        deviation = np.linalg.norm(steps - step, axis=1)
        worst = int(np.argmax(deviation))
        if deviation[worst] > spacing_tolerance * length:
            gaps = ", ".join(f"{np.linalg.norm(d):.4g}" for d in steps)
            raise _error(InvalidInput,
                         f"DICOM series in '{directory}' has non-uniform slice spacing: the step "
                         f"from {members[worst].describe()} to {members[worst + 1].describe()} "
                         f"differs from the mean step {length:.4g} mm by "
                         f"{deviation[worst]:.4g} mm (steps in mm: {gaps}); slices missing?",
                         expected=f"steps within {spacing_tolerance:g} x {length:.4g} mm",
                         found=f"deviation {deviation[worst]:.4g} mm",
                         file=members[worst + 1].path, field="ImagePositionPatient")
        along = float(np.dot(step, normal))
        if np.linalg.norm(step - along * normal) <= 1e-3 * length:
            step = along * normal  # a straight stack: keep the axes exactly orthogonal
        # else: a tilted stack (gantry tilt); the sheared axis keeps every slice in place
    else:
        thickness = _number(members[0].ds, "SpacingBetweenSlices", 0.0) or _number(
            members[0].ds, "SliceThickness", 1.0)
        step = normal * (thickness if thickness > 0 else 1.0)

    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    affine = np.eye(4)
    affine[:3, 0] = lps_to_ras @ row_dir * ps[1]
    affine[:3, 1] = lps_to_ras @ col_dir * ps[0]
    affine[:3, 2] = lps_to_ras @ step
    affine[:3, 3] = lps_to_ras @ ipp[0]

    rows, columns = members[0].rows, members[0].columns
    array = np.empty((columns, rows, n), dtype=np.float32, order="F")
    for k, s in enumerate(members):
        try:
            pixels = s.ds.pixel_array
        except Exception as e:
            raise _error(FileFormatError,
                         f"cannot decode the pixels of DICOM file '{s.path}': {e} (compressed "
                         "transfer syntaxes need pydicom's optional decoders, e.g. pip install "
                         "pylibjpeg pylibjpeg-libjpeg)", expected="decodable pixel data",
                         found=str(s.ds.file_meta.get("TransferSyntaxUID", "unknown"))
                         if hasattr(s.ds, "file_meta") else "unknown", file=s.path,
                         field="PixelData") from e
        if pixels.shape != (rows, columns):
            raise _error(FileFormatError,
                         f"DICOM file '{s.path}' has pixel data of shape {pixels.shape}, not "
                         f"Rows x Columns = {rows} x {columns}", expected=f"{rows} x {columns}",
                         found=str(pixels.shape), file=s.path, field="PixelData")
        slope = _number(s.ds, "RescaleSlope", 1.0)
        intercept = _number(s.ds, "RescaleIntercept", 0.0)
        values = pixels.astype(np.float64) * slope + intercept if (slope, intercept) != (1.0, 0.0) \
            else pixels
        array[:, :, k] = values.T
    return array, affine


# ---- meshes and surfaces ---------------------------------------------------------------------


def _opencarp_basename(path: str) -> str:
    ext = _suffix(path)
    return path[: -len(ext)] if ext in _OPENCARP_EXTENSIONS else path


def read_mesh(path: PathLike) -> TetMesh:
    """Read a tet mesh from ``.vtu`` or openCARP files (a basename, or its ``.pts/.elem/.lon``)."""
    p = os.fspath(path)
    ext = _suffix(p)
    if ext == ".vtu":
        return _io.read_vtu(p)
    if ext in _OPENCARP_EXTENSIONS or (ext == "" and os.path.exists(p + ".pts")):
        return _io.read_opencarp(_opencarp_basename(p))
    raise _unsupported(p, "mesh")


def write_mesh(path: PathLike, mesh: TetMesh, encoding: str = "binary") -> None:
    """Write a tet mesh as ``.vtu`` or as openCARP files.

    A path ending in ``.pts``, ``.elem`` or ``.lon``, or with no extension, is an openCARP
    basename: ``.pts``, ``.elem`` and (with fibres) ``.lon`` are written next to it.
    `encoding` (``"binary"``, ``"ascii"`` or ``"compressed"``) applies to ``.vtu``.
    """
    p = os.fspath(path)
    ext = _suffix(p)
    enc = _encoding(encoding)
    if ext == ".vtu":
        _io.write_vtu(p, mesh, encoding=enc)
    elif ext in _OPENCARP_EXTENSIONS or ext == "":
        _io.write_opencarp(_opencarp_basename(p), mesh)
    else:
        raise _unsupported(p, "mesh", writing=True)


def read_surface(path: PathLike, tag_array: str = "tag") -> SurfaceMesh:
    """Read a triangle surface from ``.vtp`` or ``.stl``.

    `tag_array` names the integer cell array of a ``.vtp`` that holds the face tags (for example
    ``"surface-id"``); STL has no tags (all 0).
    """
    p = os.fspath(path)
    ext = _suffix(p)
    if ext == ".vtp":
        return _io.read_vtp(p, tag_array=tag_array)
    if ext == ".stl":
        return _io.read_stl(p)
    raise _unsupported(p, "surface")


def write_surface(path: PathLike, surface: SurfaceMesh, encoding: str = "binary") -> None:
    """Write a triangle surface as ``.vtp`` or ``.stl``.

    `encoding` is ``"binary"``, ``"ascii"`` or ``"compressed"`` for ``.vtp``; for STL,
    ``"ascii"`` writes ASCII STL and anything else binary STL (tags and fields are not kept).
    """
    p = os.fspath(path)
    ext = _suffix(p)
    enc = _encoding(encoding)
    if ext == ".vtp":
        _io.write_vtp(p, surface, encoding=enc)
    elif ext == ".stl":
        _io.write_stl(p, surface, binary=encoding != "ascii")
    else:
        raise _unsupported(p, "surface", writing=True)


# ---- meshio ----------------------------------------------------------------------------------

_DIRECTIONS = ("fibre", "sheet", "normal")
# Cell arrays other tools use for what we call region (gmsh physical groups, medit references).
_REGION_ALIASES = ("region", "gmsh:physical", "medit:ref", "cell_tags")


def _import_meshio() -> Any:
    try:
        import meshio
    except ImportError as e:
        raise ImportError("this conversion needs meshio: pip install meshio") from e
    return meshio


def _fields(field_map: Any) -> dict[str, np.ndarray]:
    """Named fields as arrays, one column squeezed to 1-D (as meshio and pyvista store scalars)."""
    out = {}
    for name in list(field_map.keys()):
        a = np.asarray(field_map[name])
        out[name] = a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a
    return out


def to_meshio(mesh: TetMesh | SurfaceMesh) -> Any:
    """A ``meshio.Mesh`` with the points, cells and fields of `mesh` (arrays are copied).

    A `TetMesh` gives one ``"tetra"`` cell block with cell data ``"region"`` and, when present,
    ``"fibre"``, ``"sheet"``, ``"normal"``; a `SurfaceMesh` one ``"triangle"`` block with cell data
    ``"tag"``. Named fields follow under their names (single-column fields as 1-D arrays).
    """
    meshio = _import_meshio()
    points = np.array(mesh.points, dtype=np.float64)
    cell_data: dict[str, list[np.ndarray]] = {}
    if isinstance(mesh, SurfaceMesh):
        cells = [("triangle", np.array(mesh.triangles, dtype=np.int64))]
        n = mesh.num_triangles
        tags = np.asarray(mesh.tags)
        cell_data["tag"] = [np.array(tags, dtype=np.int32) if len(tags) == n
                            else np.zeros(n, dtype=np.int32)]
    else:
        cells = [("tetra", np.array(mesh.tets, dtype=np.int64))]
        n = mesh.num_tets
        region = np.asarray(mesh.region)
        cell_data["region"] = [np.array(region, dtype=np.int32) if len(region) == n
                               else np.zeros(n, dtype=np.int32)]
        for name in _DIRECTIONS:
            d = np.asarray(getattr(mesh, name))
            if d.shape == (n, 3):
                cell_data[name] = [np.array(d)]
    for name, a in _fields(mesh.cell_data).items():
        cell_data.setdefault(name, [np.array(a)])
    point_data = {name: np.array(a) for name, a in _fields(mesh.point_data).items()}
    return meshio.Mesh(points, cells, point_data=point_data, cell_data=cell_data)


def from_meshio(m: Any) -> TetMesh | SurfaceMesh:
    """A `TetMesh` from the ``"tetra"`` cells of a ``meshio.Mesh``, or a `SurfaceMesh` from its
    ``"triangle"`` cells when it has no tetrahedra.

    Cell data ``"region"`` (or ``"gmsh:physical"`` / ``"medit:ref"``) becomes the region tags
    (``"tag"`` the face tags of a surface); ``"fibre"``, ``"sheet"`` and ``"normal"`` with 3
    components the directions; numeric arrays become named fields. Other cell blocks (lines,
    boundary triangles of a tet mesh, ...) are dropped with a warning.
    """
    points = np.asarray(m.points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] not in (2, 3):
        raise _error(InvalidInput, f"meshio points have shape {points.shape}",
                     expected="(N, 3)", found=str(points.shape), field="points")
    if points.shape[1] == 2:
        points = np.column_stack([points, np.zeros(len(points))])
    types = [block.type for block in m.cells]
    kind = "tetra" if "tetra" in types else "triangle" if "triangle" in types else None
    if kind is None:
        raise _error(InvalidInput, "meshio mesh has neither tetra nor triangle cells; found "
                     + (", ".join(sorted(set(types))) or "no cells"),
                     expected="tetra or triangle cells", found=", ".join(sorted(set(types))),
                     field="cells")
    keep = [i for i, t in enumerate(types) if t == kind]
    dropped = sorted({t for t in types if t != kind})
    if dropped:
        warnings.warn(f"from_meshio: kept the {kind} cells, dropped {', '.join(dropped)}",
                      stacklevel=2)
    conn = np.concatenate([np.asarray(m.cells[i].data) for i in keep]).astype(np.int32)

    data: dict[str, np.ndarray] = {}
    for name, blocks in m.cell_data.items():
        parts = [np.asarray(blocks[i]) for i in keep if i < len(blocks)]
        if len(parts) == len(keep) and all(np.issubdtype(p.dtype, np.number) for p in parts):
            data[name] = np.concatenate(parts)

    mesh: TetMesh | SurfaceMesh = TetMesh(points=points, tets=conn) if kind == "tetra" \
        else SurfaceMesh(points=points, triangles=conn)
    _set_arrays(mesh, data, {name: np.asarray(a) for name, a in m.point_data.items()})
    return mesh


def _set_arrays(mesh: TetMesh | SurfaceMesh, cells: dict[str, np.ndarray],
                points: dict[str, np.ndarray]) -> None:
    """Put other libraries' cell and point arrays on `mesh`: the first tag array found becomes
    the region (or face) tags, 3-component fibre/sheet/normal the directions, and the other
    numeric arrays named fields."""
    is_surface = isinstance(mesh, SurfaceMesh)
    n = mesh.num_triangles if isinstance(mesh, SurfaceMesh) else mesh.num_tets
    cells = dict(cells)
    for name in (("tag",) + _REGION_ALIASES) if is_surface else _REGION_ALIASES:
        if name in cells and cells[name].shape in ((n,), (n, 1)):
            tags = cells.pop(name).reshape(n).astype(np.int32)
            if isinstance(mesh, SurfaceMesh):
                mesh.tags = tags
            else:
                mesh.region = tags
            break
    if isinstance(mesh, TetMesh):
        for name in _DIRECTIONS:
            if name in cells and cells[name].shape == (n, 3):
                setattr(mesh, name, cells.pop(name).astype(np.float64))
    for name, a in cells.items():
        if np.issubdtype(a.dtype, np.number):
            mesh.cell_data[name] = _as_field(a, n)
    for name, a in points.items():
        if np.issubdtype(a.dtype, np.number):
            mesh.point_data[name] = _as_field(a, mesh.num_points)


def _as_field(a: np.ndarray, rows: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(rows, -1)


# ---- pyvista ---------------------------------------------------------------------------------


def _import_pyvista() -> Any:
    try:
        import pyvista
    except ImportError as e:
        raise ImportError("this conversion needs pyvista: pip install pyvista") from e
    return pyvista


def to_pyvista(mesh: TetMesh | SurfaceMesh) -> Any:
    """A ``pyvista.UnstructuredGrid`` (tet mesh) or ``pyvista.PolyData`` (surface) with the same
    points, cells and fields (copied). Cell data ``"region"`` / ``"tag"`` and the fibre, sheet and
    normal directions are included as in :func:`to_meshio`.
    """
    pv = _import_pyvista()
    points = np.array(mesh.points, dtype=np.float64)
    if isinstance(mesh, SurfaceMesh):
        tri = np.asarray(mesh.triangles, dtype=np.int64)
        faces = np.column_stack([np.full(len(tri), 3, dtype=np.int64), tri]).ravel()
        out = pv.PolyData(points, faces=faces)
        n = len(tri)
        tags = np.asarray(mesh.tags)
        out.cell_data["tag"] = np.array(tags, dtype=np.int32) if len(tags) == n \
            else np.zeros(n, dtype=np.int32)
    else:
        tets = np.asarray(mesh.tets, dtype=np.int64)
        n = len(tets)
        cells = np.column_stack([np.full(n, 4, dtype=np.int64), tets]).ravel()
        celltypes = np.full(n, pv.CellType.TETRA, dtype=np.uint8)
        out = pv.UnstructuredGrid(cells, celltypes, points)
        region = np.asarray(mesh.region)
        out.cell_data["region"] = np.array(region, dtype=np.int32) if len(region) == n \
            else np.zeros(n, dtype=np.int32)
        for name in _DIRECTIONS:
            d = np.asarray(getattr(mesh, name))
            if d.shape == (n, 3):
                out.cell_data[name] = np.array(d)
    for name, a in _fields(mesh.cell_data).items():
        if name not in out.cell_data:
            out.cell_data[name] = np.array(a)
    for name, a in _fields(mesh.point_data).items():
        out.point_data[name] = np.array(a)
    return out


def from_pyvista(obj: Any) -> TetMesh | SurfaceMesh:
    """A `TetMesh` from a ``pyvista.UnstructuredGrid`` of tetrahedra, or a `SurfaceMesh` from a
    triangulated ``pyvista.PolyData`` (call ``.triangulate()`` first for other polygons).

    Cell arrays ``"region"`` / ``"tag"`` and ``"fibre"``, ``"sheet"``, ``"normal"`` are mapped as
    in :func:`from_meshio`; other numeric arrays become named fields.
    """
    pv = _import_pyvista()
    points = np.asarray(obj.points, dtype=np.float64)
    if isinstance(obj, pv.UnstructuredGrid):
        celltypes = np.asarray(obj.celltypes)
        if len(celltypes) and np.any(celltypes != pv.CellType.TETRA):
            others = sorted({pv.CellType(int(t)).name for t in np.unique(celltypes)} - {"TETRA"})
            raise _error(InvalidInput,
                         f"pyvista grid has cells other than tetrahedra ({', '.join(others)}); "
                         "extract them first, e.g. grid.extract_cells_by_type(pyvista.CellType."
                         "TETRA)", expected="only TETRA cells", found=", ".join(others),
                         field="celltypes")
        conn = np.asarray(obj.cells).reshape(-1, 5)[:, 1:].astype(np.int32)
        mesh: TetMesh | SurfaceMesh = TetMesh(points=points, tets=conn)
    elif isinstance(obj, pv.PolyData):
        if obj.n_cells and not obj.is_all_triangles:
            raise _error(InvalidInput,
                         "pyvista PolyData has cells other than triangles; call .triangulate() "
                         "first (lines and vertices are not supported)",
                         expected="triangles only", found="other polygons", field="faces")
        conn = np.asarray(obj.faces).reshape(-1, 4)[:, 1:].astype(np.int32)
        mesh = SurfaceMesh(points=points, triangles=conn)
    else:
        raise _error(InvalidInput,
                     f"cannot convert a {type(obj).__name__}; expected pyvista.UnstructuredGrid "
                     "(tetrahedra) or pyvista.PolyData (triangles)",
                     expected="UnstructuredGrid or PolyData", found=type(obj).__name__)
    _set_arrays(mesh, {name: np.asarray(obj.cell_data[name]) for name in obj.cell_data},
                {name: np.asarray(obj.point_data[name]) for name in obj.point_data})
    return mesh
