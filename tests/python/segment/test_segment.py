"""cardiotwin.segment: the bundled model on the bundled Sunnybrook stack, options, bad input, CLI."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import cardiotwin
from cardiotwin import io
from cardiotwin import segment as seg
from cardiotwin.cli import main

from conftest import SUNNYBROOK_ED, SUNNYBROOK_ED_LABELS, SUNNYBROOK_JSON, require

torch_only = pytest.mark.skipif(not cardiotwin.has_torch, reason="built without libtorch (segment)")


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1.0, float(a.sum() + b.sum()))


def test_model_ships_inside_the_package():
    meta = json.loads((seg.DEFAULT_MODEL_DIR / "metadata.json").read_text())
    assert (seg.DEFAULT_MODEL_DIR / "model.pt").stat().st_size < 8_000_000
    assert meta["labels"] == {"background": 0, "lv_blood_pool": 1, "lv_myocardium": 2}
    assert meta["dimensions"] == 2 and len(meta["patch_size"]) == 2


@pytest.mark.skipif(cardiotwin.has_torch, reason="this build has libtorch")
def test_missing_component_is_clear():
    with pytest.raises(cardiotwin.MissingComponent, match="CARDIOTWIN_WITH_TORCH"):
        seg.segment(np.zeros((8, 8, 2), np.float32))
    with pytest.raises(ImportError):  # MissingComponent is also an ImportError
        seg.default_model()


@torch_only
def test_default_model_on_bundled_sunnybrook_stack():
    image = io.read_image(require(SUNNYBROOK_ED), dtype="float32")
    truth = np.asarray(io.read_image(require(SUNNYBROOK_ED_LABELS)).array)
    meta = json.loads(require(SUNNYBROOK_JSON).read_text())
    ks = meta["phases"]["ED"]["endo_slices"]
    labels = seg.segment(image, threads=2, mirror=False, overlap=0.25)
    assert labels.shape == image.shape
    np.testing.assert_allclose(labels.affine, image.affine, atol=1e-6)
    a = np.asarray(labels.array)
    # SCD0000101 is one of the training cases of the shipped model: a regression check only
    # (leave-one-patient-out numbers: models/sunnybrook_lv/lopo.json)
    assert dice(a[:, :, ks] == 1, truth[:, :, ks] == 1) > 0.85
    assert dice(a[:, :, ks] == 2, truth[:, :, ks] == 2) > 0.65
    vols = seg.volumes_ml(labels)
    assert 150 < vols["lv_blood_pool"] < 260  # expert: 194.5 mL on the contoured slices


@torch_only
def test_options_model_info_and_bad_input(tmp_path):
    model = seg.default_model()
    assert model.info["labels"]["lv_myocardium"] == 2
    assert set(seg.default_options()) >= {"overlap", "mirror", "threads", "batch"}
    with pytest.raises(cardiotwin.InvalidInput, match="3-D"):
        seg.segment(np.zeros((64, 64), np.float32))
    with pytest.raises(cardiotwin.InvalidInput, match="overlapp"):
        seg.segment(np.zeros((64, 64, 2), np.float32), overlapp=0.5)
    with pytest.raises(cardiotwin.FileIOError):
        seg.load_model(tmp_path / "nothing")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.pt").write_bytes(b"garbage")
    (tmp_path / "m" / "metadata.json").write_text((seg.DEFAULT_MODEL_DIR / "metadata.json").read_text())
    with pytest.raises(cardiotwin.FileFormatError, match="TorchScript"):
        seg.load_model(tmp_path / "m")
    # a metadata file that disagrees with the network's output channels
    meta = json.loads((seg.DEFAULT_MODEL_DIR / "metadata.json").read_text())
    meta["labels"]["rv_blood_pool"] = 3
    meta["output_channels"].append("rv_blood_pool")
    (tmp_path / "m" / "model.pt").write_bytes((seg.DEFAULT_MODEL_DIR / "model.pt").read_bytes())
    (tmp_path / "m" / "metadata.json").write_text(json.dumps(meta))
    wrong = seg.load_model(tmp_path / "m")
    with pytest.raises(cardiotwin.InvalidInput, match="output channels"):
        seg.segment(np.random.default_rng(0).normal(size=(40, 40, 1)).astype(np.float32), wrong,
                    spacing=(1.5, 1.5, 8))


@torch_only
def test_image_without_heart_is_reported_empty():
    flat = np.full((60, 60, 3), 100.0, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = seg.segment_with_report(flat, spacing=(1.5, 1.5, 8.0), mirror=False)
    assert result.empty
    assert not np.asarray(result.labels.array).any()
    assert any(issubclass(w.category, seg.SegmentationWarning) and "empty" in str(w.message)
               for w in caught)


@torch_only
def test_cli_segment_writes_labels_overlay_and_json(tmp_path, capsys):
    out = tmp_path / "labels.nii.gz"
    assert main(["segment", str(require(SUNNYBROOK_ED)), "-o", str(out), "--no-mirror", "--compact"]) == 0
    report = json.loads(capsys.readouterr().out)
    labels = io.read_image(out)
    assert labels.shape == (256, 256, 12)
    assert report["volumes_ml"]["lv_blood_pool"] > 100 and not report["empty"]
    # the overlay PNG needs matplotlib (an optional dependency); otherwise the report says so
    assert "overlay" not in report or (tmp_path / "labels.png").stat().st_size > 1000
    assert "overlay" in report or any("matplotlib" in w for w in report["warnings"])
    assert main(["segment", str(SUNNYBROOK_ED), "-o", str(out), "--model", str(tmp_path / "none")]) == 2
