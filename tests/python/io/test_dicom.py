"""Reading a DICOM series: the Sunnybrook ED phase must reproduce the bundled NIfTI."""

from __future__ import annotations

import json
import shutil
import sys
import warnings

import cardiotwin
import nibabel as nib
import numpy as np
import pydicom
import pytest
from cardiotwin import io
from conftest import SUNNYBROOK_DICOM, SUNNYBROOK_ED, SUNNYBROOK_JSON

FILES = sorted(SUNNYBROOK_DICOM.glob("*.dcm"), key=lambda p: int(p.stem))


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the files' UIDs have leading zeros
        return pydicom.dcmread(path)


def _series_uid(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(_read(path).SeriesInstanceUID)


def _save(ds, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path)


def _copy_series(dest, files=FILES):
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, dest / f.name)
    return dest


def test_series_reproduces_nifti():
    ref = nib.load(str(SUNNYBROOK_ED))
    image = io.read_dicom_series(SUNNYBROOK_DICOM)
    assert isinstance(image, cardiotwin.Image)
    assert image.shape == (256, 256, 12)
    np.testing.assert_array_equal(image.array, np.asarray(ref.dataobj).astype(np.float32))
    np.testing.assert_allclose(image.affine, ref.affine, atol=1e-3)
    np.testing.assert_allclose(image.spacing, [1.367188, 1.367188, 10.0], atol=1e-4)
    meta = json.loads(SUNNYBROOK_JSON.read_text())
    np.testing.assert_allclose(image.affine, meta["affine_ras"], atol=1e-3)


def test_read_image_dispatches_folders():
    image = io.read_image(SUNNYBROOK_DICOM)
    ref = io.read_image(SUNNYBROOK_ED)
    np.testing.assert_array_equal(image.array, ref.array)
    np.testing.assert_allclose(image.affine, ref.affine, atol=1e-3)


def test_slices_follow_image_position_not_slice_location():
    image = io.read_dicom_series(SUNNYBROOK_DICOM)
    datasets = [_read(f) for f in FILES]
    iop = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    by_position = sorted(datasets, key=lambda d: np.dot(normal, np.array(d.ImagePositionPatient,
                                                                           dtype=float)))
    lps_to_ras = np.array([-1.0, -1.0, 1.0])
    for k, ds in enumerate(by_position):
        # Voxel (0, 0, k) sits at that slice's ImagePositionPatient (in RAS).
        np.testing.assert_allclose(image.index_to_world([0, 0, k]),
                                   np.array(ds.ImagePositionPatient, dtype=float) * lps_to_ras,
                                   atol=1e-2)
        np.testing.assert_array_equal(image.array[:, :, k], ds.pixel_array.T)
    # SliceLocation steps by 6.72 mm, not the true 10 mm.
    locations = np.array([float(d.SliceLocation) for d in by_position])
    assert np.allclose(np.abs(np.diff(locations)), 6.72, atol=0.01)
    assert image.spacing[2] == pytest.approx(10.0, abs=1e-3)


def test_tilted_stack_keeps_every_slice_in_place(tmp_path):
    dest = tmp_path / "tilted"
    dest.mkdir()
    datasets = [_read(f) for f in FILES]
    iop = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda d: np.dot(normal, np.array(d.ImagePositionPatient, dtype=float)))
    for k, ds in enumerate(datasets):  # gantry tilt: each slice shifted 2 mm more along a row
        ds.ImagePositionPatient = list(np.array(ds.ImagePositionPatient, dtype=float)
                                       + 2.0 * k * iop[:3])
        _save(ds, dest / f"{k}.dcm")
    image = io.read_dicom_series(dest)
    lps_to_ras = np.array([-1.0, -1.0, 1.0])
    for k, ds in enumerate(datasets):
        np.testing.assert_allclose(image.index_to_world([0, 0, k]),
                                   np.array(ds.ImagePositionPatient, dtype=float) * lps_to_ras,
                                   atol=1e-2)
    k_axis = image.direction[:, 2]
    assert abs(np.dot(k_axis, image.direction[:, 0])) > 0.1  # sheared, not orthogonal
    assert image.spacing[2] == pytest.approx(np.hypot(10.0, 2.0), abs=1e-3)


def test_file_names_and_order_do_not_matter(tmp_path):
    rng = np.random.default_rng(3)
    dest = tmp_path / "shuffled"
    dest.mkdir()
    for i, f in zip(rng.permutation(len(FILES)), FILES):
        shutil.copy(f, dest / f"IM{i:04d}")  # no extension, random order
    image = io.read_dicom_series(dest)
    ref = io.read_dicom_series(SUNNYBROOK_DICOM)
    np.testing.assert_array_equal(image.array, ref.array)
    np.testing.assert_allclose(image.affine, ref.affine, atol=1e-9)


def test_non_dicom_files_are_skipped_with_a_warning(tmp_path):
    dest = _copy_series(tmp_path / "series")
    (dest / "notes.txt").write_text("scanned on a Tuesday\n")
    (dest / "thumbs.db").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.warns(UserWarning, match="notes.txt"):
        image = io.read_dicom_series(dest)
    assert image.shape == (256, 256, 12)


def test_several_series_need_a_choice(tmp_path):
    dest = _copy_series(tmp_path / "two")
    other_uid = "1.2.3.4.5.6.7"
    for f in FILES[:3]:
        ds = _read(f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.SeriesInstanceUID = other_uid
        ds.SeriesNumber = 301
        _save(ds, dest / f"other_{f.name}")
    with pytest.raises(cardiotwin.InvalidInput) as info:
        io.read_dicom_series(dest)
    message = str(info.value)
    assert other_uid in message and _series_uid(FILES[0]) in message
    assert "series_uid" in message
    assert io.read_dicom_series(dest, series_uid=other_uid).shape == (256, 256, 3)
    first = io.read_dicom_series(dest, series_uid=_series_uid(FILES[0]))
    assert first.shape == (256, 256, 12)
    with pytest.raises(cardiotwin.InvalidInput, match="9.9.9"):
        io.read_dicom_series(dest, series_uid="9.9.9")


def test_several_phases_need_a_choice(tmp_path):
    dest = _copy_series(tmp_path / "cine")
    for f in FILES:  # a second phase: later trigger time, other pixels
        ds = _read(f)
        ds.TriggerTime = float(ds.TriggerTime) + 30.0
        ds.InstanceNumber = int(ds.InstanceNumber) + 1
        pixels = ds.pixel_array.astype(np.int16) + 5
        ds.PixelData = pixels.tobytes()
        _save(ds, dest / f"phase2_{f.name}")
    with pytest.raises(cardiotwin.InvalidInput) as info:
        io.read_dicom_series(dest)
    message = str(info.value)
    assert "phase" in message and "TriggerTime" in message and "24 images" in message
    ref = io.read_dicom_series(SUNNYBROOK_DICOM)
    np.testing.assert_array_equal(io.read_dicom_series(dest, phase=0).array, ref.array)
    np.testing.assert_array_equal(io.read_dicom_series(dest, phase=1).array, ref.array + 5)
    np.testing.assert_allclose(io.read_dicom_series(dest, phase=1).affine, ref.affine)
    with pytest.raises(cardiotwin.InvalidInput, match="phase"):
        io.read_dicom_series(dest, phase=2)


def test_missing_slice_is_non_uniform_spacing(tmp_path):
    dest = _copy_series(tmp_path / "gap")
    middle = sorted(FILES, key=lambda f: float(_read(f).SliceLocation))[5]
    (dest / middle.name).unlink()
    with pytest.raises(cardiotwin.InvalidInput, match="non-uniform"):
        io.read_dicom_series(dest)


def test_rescale_slope_and_intercept(tmp_path):
    dest = tmp_path / "rescaled"
    dest.mkdir()
    for f in FILES:
        ds = _read(f)
        ds.RescaleSlope = 2.5
        ds.RescaleIntercept = -100
        _save(ds, dest / f.name)
    ref = io.read_dicom_series(SUNNYBROOK_DICOM)
    image = io.read_dicom_series(dest)
    np.testing.assert_allclose(image.array, ref.array * 2.5 - 100)


def test_single_slice_uses_slice_spacing(tmp_path):
    dest = _copy_series(tmp_path / "one", FILES[:1])
    image = io.read_dicom_series(dest)
    assert image.shape == (256, 256, 1)
    assert image.spacing[2] == pytest.approx(10.0)


def test_label_dtype_from_dicom(tmp_path):
    dest = tmp_path / "masks"
    dest.mkdir()
    for f in FILES:
        ds = _read(f)
        ds.PixelData = (ds.pixel_array > 400).astype(np.int16).tobytes()
        _save(ds, dest / f.name)
    labels = io.read_image(dest, dtype="uint8")
    assert isinstance(labels, cardiotwin.LabelMap)
    np.testing.assert_array_equal(labels.array, io.read_image(SUNNYBROOK_DICOM).array > 400)
    with pytest.raises(cardiotwin.InvalidInput, match="0..255"):
        io.read_image(SUNNYBROOK_DICOM, dtype="uint8")  # intensities up to 1165


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(cardiotwin.InvalidInput, match="no DICOM"):
        io.read_dicom_series(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.txt").write_text("hello")
    with pytest.warns(UserWarning), pytest.raises(cardiotwin.InvalidInput, match="no DICOM"):
        io.read_dicom_series(tmp_path / "junk")
    with pytest.raises(cardiotwin.FileIOError):
        io.read_dicom_series(tmp_path / "nowhere")


def test_single_file_is_pointed_to_its_folder():
    with pytest.raises(cardiotwin.InvalidInput, match="folder"):
        io.read_image(FILES[0])


def test_without_pydicom_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(ImportError, match="pip install pydicom"):
        io.read_dicom_series(SUNNYBROOK_DICOM)
