"""NIfTI reading and writing, checked against nibabel on synthetic and real files."""

from __future__ import annotations

import gzip
import json

import cardiotwin
import nibabel as nib
import numpy as np
import pytest
from cardiotwin import io
from conftest import SUNNYBROOK_ED, SUNNYBROOK_ED_LABELS, SUNNYBROOK_JSON, WHOLE_HEART_JSON


def _nib_save(path, data, affine, *, qform_code=1, sform_code=1, slope=None, inter=None,
              endianness=None):
    header = nib.Nifti1Header(endianness=endianness) if endianness else None
    img = nib.Nifti1Image(data, affine, header=header)
    img.set_qform(affine, code=qform_code)
    img.set_sform(affine, code=sform_code)
    if slope is not None:
        img.header.set_slope_inter(slope, inter)
    nib.save(img, str(path))
    return img


def _oblique_affine():
    c, s = np.cos(0.4), np.sin(0.4)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ np.diag([-1.0, 1.0, 1.0])
    affine = np.eye(4)
    affine[:3, :3] = rot * [0.7, 0.9, 2.5]
    affine[:3, 3] = [12.5, -40.0, 3.0]
    return affine


# ---- real files ------------------------------------------------------------------------------


def test_sunnybrook_image_matches_nibabel():
    ref = nib.load(str(SUNNYBROOK_ED))
    image = io.read_image(SUNNYBROOK_ED)
    assert isinstance(image, cardiotwin.Image)  # int16 on disk -> float32 image
    assert image.shape == ref.shape == (256, 256, 12)
    np.testing.assert_array_equal(image.array, np.asarray(ref.dataobj).astype(np.float32))
    np.testing.assert_allclose(image.affine, ref.affine, atol=1e-5)
    meta = json.loads(SUNNYBROOK_JSON.read_text())
    np.testing.assert_allclose(image.affine, meta["affine_ras"], atol=1e-3)
    np.testing.assert_allclose(image.spacing, [1.3672, 1.3672, 10.0], atol=1e-3)


def test_sunnybrook_labels_read_as_label_map():
    ref = nib.load(str(SUNNYBROOK_ED_LABELS))
    labels = io.read_image(SUNNYBROOK_ED_LABELS)
    assert isinstance(labels, cardiotwin.LabelMap)  # uint8 without scaling
    assert labels.array.dtype == np.uint8
    np.testing.assert_array_equal(labels.array, np.asarray(ref.dataobj))
    np.testing.assert_allclose(labels.affine, ref.affine, atol=1e-5)
    counts = np.bincount(labels.array.ravel(), minlength=3)
    meta = json.loads(SUNNYBROOK_JSON.read_text())
    assert counts.tolist() == [meta["phases"]["ED"]["label_voxels"][k] for k in "012"]
    # The image and its labels share the grid.
    np.testing.assert_allclose(labels.affine, io.read_image(SUNNYBROOK_ED).affine, atol=1e-9)


def test_sunnybrook_header_info():
    info = io.read_nifti_info(SUNNYBROOK_ED)
    ref = nib.load(str(SUNNYBROOK_ED)).header
    assert tuple(info["shape"]) == (256, 256, 12)
    assert info["qform_code"] == 1 and info["sform_code"] == 1
    np.testing.assert_allclose(info["affine"], ref.get_best_affine(), atol=1e-5)
    np.testing.assert_allclose(info["sform"], ref.get_sform(), atol=1e-5)
    np.testing.assert_allclose(info["qform"], ref.get_qform(), atol=1e-4)
    for key in ("datatype", "scl_slope", "scl_inter", "description"):
        assert key in info


def test_whole_heart_labels_match_nibabel(whole_heart_labels):
    ref = nib.load(str(whole_heart_labels))
    assert ref.header["sform_code"] == 0  # qform only: the reader must fall back to it
    labels = io.read_labels(whole_heart_labels)
    assert isinstance(labels, cardiotwin.LabelMap)
    assert labels.shape == (512, 512, 248)
    np.testing.assert_allclose(labels.affine, ref.affine, atol=1e-4)
    assert np.linalg.det(labels.affine[:3, :3]) < 0  # LAS: a left-handed voxel grid
    counts = np.bincount(labels.array.ravel(), minlength=8)
    expected = json.loads(WHOLE_HEART_JSON.read_text())["voxel_count"]
    assert counts.tolist() == [expected[str(k)] for k in range(8)]
    # Via the extension dispatcher and dtype="uint8" too.
    same = io.read_image(whole_heart_labels, dtype="uint8")
    assert np.array_equal(same.array, labels.array)


def test_our_written_sunnybrook_reads_identically_with_nibabel(tmp_path):
    image = io.read_image(SUNNYBROOK_ED)
    labels = io.read_image(SUNNYBROOK_ED_LABELS)
    io.write_image(tmp_path / "ed.nii.gz", image)
    io.write_image(tmp_path / "gt.nii", labels)
    ed = nib.load(str(tmp_path / "ed.nii.gz"))
    gt = nib.load(str(tmp_path / "gt.nii"))
    assert ed.get_data_dtype() == np.float32 and gt.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(ed.dataobj), image.array)
    np.testing.assert_array_equal(np.asarray(gt.dataobj), labels.array)
    ref = nib.load(str(SUNNYBROOK_ED))
    for written in (ed, gt):
        np.testing.assert_allclose(written.affine, ref.affine, atol=1e-4)
        assert written.header["sform_code"] == 1 and written.header["qform_code"] == 1
        np.testing.assert_allclose(written.header.get_qform(), ref.affine, atol=1e-4)
    with open(tmp_path / "ed.nii.gz", "rb") as f:
        assert f.read(2) == b"\x1f\x8b"  # really gzip


# ---- synthetic files written by nibabel ------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64,
                                   np.uint16, np.int8])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nibabel_written_types_read_back(tmp_path, dtype, suffix):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 100, size=(5, 4, 3)).astype(dtype)
    path = tmp_path / f"img{suffix}"
    ref = _nib_save(path, data, _oblique_affine())
    image = io.read_image(path)
    expected_type = cardiotwin.LabelMap if dtype == np.uint8 else cardiotwin.Image
    assert isinstance(image, expected_type)
    np.testing.assert_array_equal(image.array, data.astype(image.array.dtype))
    np.testing.assert_allclose(image.affine, ref.affine, atol=1e-5)
    as_float = io.read_image(path, dtype="float32")
    assert isinstance(as_float, cardiotwin.Image)
    np.testing.assert_array_equal(as_float.array, data.astype(np.float32))


def test_scaling_is_applied(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    _nib_save(tmp_path / "scaled.nii", data, np.eye(4), slope=0.5, inter=-3.0)
    image = io.read_image(tmp_path / "scaled.nii")
    assert isinstance(image, cardiotwin.Image)
    np.testing.assert_allclose(image.array, data * 0.5 - 3.0)


def test_qform_only_and_sheared_sform(tmp_path):
    data = np.zeros((3, 3, 3), dtype=np.float32)
    affine = _oblique_affine()
    _nib_save(tmp_path / "q.nii", data, affine, sform_code=0)
    np.testing.assert_allclose(io.read_image(tmp_path / "q.nii").affine, affine, atol=1e-5)

    sheared = affine.copy()
    sheared[0, 2] += 0.8  # a general (non-orthogonal) sform, kept exactly
    img = nib.Nifti1Image(data, sheared)
    img.set_sform(sheared, code=2)
    nib.save(img, str(tmp_path / "s.nii"))
    ref = nib.load(str(tmp_path / "s.nii"))
    np.testing.assert_allclose(io.read_image(tmp_path / "s.nii").affine, ref.affine, atol=1e-5)


def test_big_endian_file(tmp_path):
    data = np.arange(60, dtype=">i2").reshape(3, 4, 5)
    ref = _nib_save(tmp_path / "be.nii", data, _oblique_affine(), endianness=">")
    assert nib.load(str(tmp_path / "be.nii")).header.endianness == ">"
    image = io.read_image(tmp_path / "be.nii")
    np.testing.assert_array_equal(image.array, data.astype(np.float32))
    np.testing.assert_allclose(image.affine, ref.affine, atol=1e-5)


def test_read_labels_accepts_integer_types(tmp_path):
    data = (np.arange(27) % 4).astype(np.int16).reshape(3, 3, 3)
    _nib_save(tmp_path / "l.nii.gz", data, np.eye(4))
    labels = io.read_labels(tmp_path / "l.nii.gz")
    assert isinstance(labels, cardiotwin.LabelMap)
    np.testing.assert_array_equal(labels.array, data)


def test_read_labels_rejects_out_of_range_values(tmp_path):
    data = np.full((2, 2, 2), 300, dtype=np.int16)
    _nib_save(tmp_path / "l.nii", data, np.eye(4))
    with pytest.raises(cardiotwin.Error):
        io.read_labels(tmp_path / "l.nii")


def test_round_trip_keeps_geometry(tmp_path):
    affine = _oblique_affine()
    data = np.random.default_rng(0).normal(size=(6, 5, 4)).astype(np.float32)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    image = cardiotwin.Image(data, spacing=spacing, origin=affine[:3, 3],
                             direction=affine[:3, :3] / spacing)
    io.write_image(tmp_path / "r.nii.gz", image)
    back = io.read_image(tmp_path / "r.nii.gz")
    np.testing.assert_array_equal(back.array, data)
    np.testing.assert_allclose(back.affine, affine, atol=1e-5)
    ref = nib.load(str(tmp_path / "r.nii.gz"))
    np.testing.assert_allclose(ref.affine, affine, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(ref.dataobj), data)


# ---- errors ----------------------------------------------------------------------------------


def _real_bytes():
    return gzip.decompress(SUNNYBROOK_ED_LABELS.read_bytes())


@pytest.mark.parametrize("name, content", [
    ("garbage.nii", b"this is not a NIfTI file at all" * 20),
    ("short.nii", b"\x5c\x01\x00\x00" + b"\x00" * 50),
    ("empty.nii", b""),
    ("garbage.nii.gz", gzip.compress(b"definitely not a header" * 30)),
])
def test_malformed_files_raise_file_format_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_image(path)
    assert name in str(info.value) or name in info.value.file


def test_truncated_data_raises_file_format_error(tmp_path):
    raw = _real_bytes()
    (tmp_path / "cut.nii").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_image(tmp_path / "cut.nii")
    assert "cut.nii" in str(info.value) or "cut.nii" in info.value.file


def test_truncated_gzip_raises(tmp_path):
    data = SUNNYBROOK_ED_LABELS.read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(cardiotwin.FileFormatError):
        io.read_image(tmp_path / "cut.nii.gz")


def test_bad_header_size_names_the_field(tmp_path):
    raw = bytearray(_real_bytes())
    raw[0:4] = (1234).to_bytes(4, "little")
    (tmp_path / "hdr.nii").write_bytes(bytes(raw))
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_image(tmp_path / "hdr.nii")
    assert "1234" in str(info.value) or "sizeof_hdr" in str(info.value)


def test_missing_file_raises_file_io_error(tmp_path):
    with pytest.raises(cardiotwin.FileIOError) as info:
        io.read_image(tmp_path / "nope.nii.gz")
    assert isinstance(info.value, OSError)


def test_unknown_extension_lists_supported(tmp_path):
    (tmp_path / "image.mha").write_bytes(b"x")
    with pytest.raises(cardiotwin.InvalidInput) as info:
        io.read_image(tmp_path / "image.mha")
    assert ".nii.gz" in str(info.value) and ".mha" in str(info.value)
    with pytest.raises(cardiotwin.InvalidInput, match=r"\.nii"):
        io.write_image(tmp_path / "image.png", io.read_image(SUNNYBROOK_ED_LABELS))
    with pytest.raises(cardiotwin.InvalidInput, match="dtype"):
        io.read_image(SUNNYBROOK_ED, dtype="int64")


def test_read_image_uint8_rejects_non_labels(tmp_path):
    data = np.full((2, 2, 2), 0.5, dtype=np.float32)
    _nib_save(tmp_path / "f.nii", data, np.eye(4))
    with pytest.raises(cardiotwin.Error):
        io.read_image(tmp_path / "f.nii", dtype="uint8")
