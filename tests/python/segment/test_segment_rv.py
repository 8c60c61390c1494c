"""The second bundled model, sunnybrook_lv_rv (LV + RV blood pool; RV from synthetic images only)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import cardiotwin
from cardiotwin import io
from cardiotwin import segment as seg

from conftest import SUNNYBROOK_ED, SUNNYBROOK_ED_LABELS, SUNNYBROOK_JSON, require

torch_only = pytest.mark.skipif(not cardiotwin.has_torch, reason="built without libtorch (segment)")

RV_DIR = Path(seg.DEFAULT_MODEL_DIR).parent / "sunnybrook_lv_rv"
if not RV_DIR.is_dir():  # an installed copy without it: use the source tree's
    RV_DIR = Path(__file__).resolve().parents[3] / "python/cardiotwin/models/sunnybrook_lv_rv"


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1.0, float(a.sum() + b.sum()))


def test_rv_model_metadata():
    meta = json.loads((RV_DIR / "metadata.json").read_text())
    assert meta["labels"] == {"background": 0, "lv_blood_pool": 1, "lv_myocardium": 2, "rv_blood_pool": 3}
    assert meta["output_channels"] == ["background", "lv_blood_pool", "lv_myocardium", "rv_blood_pool"]
    default = json.loads((seg.DEFAULT_MODEL_DIR / "metadata.json").read_text())
    for key in ("spacing_mm", "patch_size", "normalisation", "slice_axis", "dimensions"):
        assert meta[key] == default[key]  # the same preprocessing conventions as the default model
    assert (RV_DIR / "model.pt").stat().st_size < 4_000_000


@pytest.fixture(scope="module")
def rv_result():
    image = io.read_image(require(SUNNYBROOK_ED), dtype="float32")
    truth = np.asarray(io.read_image(require(SUNNYBROOK_ED_LABELS)).array)
    ks = json.loads(require(SUNNYBROOK_JSON).read_text())["phases"]["ED"]["endo_slices"]
    model = seg.load_model(RV_DIR)
    assert model.info["labels"]["rv_blood_pool"] == 3
    a = np.asarray(seg.segment(image, model, threads=2).array)
    return image, truth, ks, a


@torch_only
def test_rv_model_lv_and_an_rv_label(rv_result):
    image, truth, ks, a = rv_result
    assert a.shape == image.shape and set(np.unique(a)) == {0, 1, 2, 3}
    # the LV is as good as with the default model (0.916 / 0.715; SCD0000101 is a training case of both)
    assert dice(a[:, :, ks] == 1, truth[:, :, ks] == 1) > 0.88
    assert dice(a[:, :, ks] == 2, truth[:, :, ks] == 2) > 0.68
    rv = a == 3
    vox_ml = float(np.prod(image.spacing)) / 1000.0
    assert 10 < rv.sum() * vox_ml < 300
    assert (rv & (truth > 0)).sum() < 0.1 * rv.sum()  # hardly on the expert LV labels
    # on this case the RV label lies against the LV wall on every mid-ventricular slice ...
    mid = ks[len(ks) // 4: len(ks) - len(ks) // 4]
    myo = a == 2
    near = np.zeros_like(myo)
    for di in (-2, -1, 0, 1, 2):
        for dj in (-2, -1, 0, 1, 2):
            near |= np.roll(np.roll(myo, di, 0), dj, 1)
    assert all((near[:, :, k] & rv[:, :, k]).any() for k in mid)


def _lv_to_rv_ras(image, a):
    aff = np.asarray(image.affine)
    lvc = aff[:3, :3] @ np.argwhere(a == 1).mean(0) + aff[:3, 3]
    rvc = aff[:3, :3] @ np.argwhere(a == 3).mean(0) + aff[:3, 3]
    return rvc - lvc


@torch_only
@pytest.mark.xfail(strict=False, reason="known limitation (docs/segmentation.md): the RV class, learnt from "
                   "synthetic images only, is not where the RV is on real images (here on the patient-left side "
                   "of the LV; on the other two Sunnybrook cases far from the heart)")
def test_rv_lies_on_the_septal_side(rv_result):
    image, _, _, a = rv_result
    d = _lv_to_rv_ras(image, a)  # patient RAS: the RV is to the right (-x) and anterior (+y) of the LV
    assert d[0] < 0 and d[1] > 0
