"""Paced single cells from Python: TP06 action potential measures and the trace plot."""

from __future__ import annotations

import math

import cardiotwin
import numpy as np
import pytest
from cardiotwin import _core, ep

pytestmark = pytest.mark.skipif(not hasattr(_core.ep, "simulate_single_cell"),
                                reason="this build has no single-cell binding")


def test_tp06_epi_one_beat():
    r = ep.single_cell("tp06", cell_type="epi", num_beats=1, record_every_ms=0.5)
    assert r.model == "tp06" and len(r.beats) == 1
    m = r.measures
    assert m["resting_vm_mv"] == pytest.approx(-85.2, abs=0.5)
    assert 30.0 < m["peak_vm_mv"] < 45.0
    assert 250.0 < m["apd90_ms"] < 330.0 and m["apd50_ms"] < m["apd90_ms"]
    assert m["dvdt_max_mv_per_ms"] > 100.0
    assert r.time_ms[0] == 0.0 and r.time_ms[1] == pytest.approx(0.5)
    assert r.vm.shape == r.time_ms.shape and r.vm.max() == pytest.approx(m["peak_vm_mv"], abs=3)
    assert r.trace.metadata["cell_type"] == "epi"
    assert np.isfinite(r.final_state).all() and math.isfinite(r.final_vm_mv)


def test_mcell_lasts_longer_and_parameters_apply():
    epi = ep.single_cell("tp06", {"cell_type": "epi"}).measures["apd90_ms"]
    mcell = ep.single_cell("tp06", {"cell_type": "mcell"}).measures["apd90_ms"]
    assert mcell > epi + 50.0
    blocked = ep.single_cell("tp06", cell_type="epi", ionic_options={"g_Kr_scale": 0.5})
    assert blocked.measures["apd90_ms"] > epi  # IKr block prolongs the action potential


def test_protocol_and_model_errors():
    with pytest.raises(cardiotwin.InvalidInput, match="bogus"):
        ep.single_cell("tp06", bogus=1)
    with pytest.raises(cardiotwin.InvalidInput) as info:
        ep.single_cell("nope")
    assert all(name in str(info.value) for name in ep.ionic_model_names())
    with pytest.raises(cardiotwin.InvalidInput, match="dt_ms"):
        ep.single_cell("tp06", dt_ms=-0.1)
    assert set(ep.default_pacing_protocol()) >= {"cycle_length_ms", "num_beats", "dt_ms"}


def test_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = ep.single_cell("mitchell_schaeffer", num_beats=2, cycle_length_ms=500)
    ax = r.plot()
    assert "mitchell_schaeffer" in ax.get_title()
    ax.figure.savefig(tmp_path / "ap.png", dpi=60)
    plt.close(ax.figure)
    assert (tmp_path / "ap.png").read_bytes()[:4] == b"\x89PNG"
