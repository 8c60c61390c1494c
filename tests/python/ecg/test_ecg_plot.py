"""The 12-lead plot renders with the Agg backend, alone, side by side and overlaid."""
from __future__ import annotations

import numpy as np
import pytest

import cardiotwin
from cardiotwin import ecg
from conftest import DATA

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_measured_and_simulated(tmp_path):
    measured = ecg.read_ecg(DATA / "ecg" / "ptbxl" / "HR06004")
    fig = ecg.plot_12lead(measured)
    assert len(fig.axes) == 1
    fig.savefig(tmp_path / "one.png", dpi=50)
    plt.close(fig)
    # A short "simulated" beat beside the measured median beat, and overlaid.
    beat = ecg.features(measured, beat=True)["beat"]
    t = np.arange(0.0, 500.0, 1.0)
    values = np.outer(np.exp(-0.5 * ((t - 60) / 12) ** 2), np.linspace(-1, 1, 12))
    simulated = cardiotwin.Signals(t, ecg.twelve_lead_names(), values)
    fig = ecg.plot_12lead([simulated, beat], ["simulated", "measured"])
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title() == "simulated"
    fig.savefig(tmp_path / "pair.png", dpi=50)
    plt.close(fig)
    fig = ecg.plot_12lead([simulated, beat], ["simulated", "measured"], overlay=True, title="x")
    assert fig.axes[0].get_legend() is not None
    fig.savefig(tmp_path / "overlay.png", dpi=50)
    plt.close(fig)
    for name in ("one", "pair", "overlay"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG
    with pytest.raises(cardiotwin.InvalidInput):
        ecg.plot_12lead([])
