"""A twin run killed at any point and started again finishes with the same results and leaves no
corrupt or temporary files behind (issue 8, reliability)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import cardiotwin
from cardiotwin import ecg, io
from conftest import SUNNYBROOK_ED_LABELS

pytestmark = pytest.mark.skipif(not cardiotwin.has_cgal, reason="built without the CGAL component")


def _run(cfg, out, kill_after=None):
    cmd = [sys.executable, "-m", "cardiotwin", "run", str(cfg), "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_after is None:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        return err
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return None


def _outputs_readable(out):
    """Every file a finished stage lists can be read (none is half-written)."""
    state = json.loads((out / "stages.json").read_text()) if (out / "stages.json").exists() else {}
    for stage in state.values():
        for f in stage["files"]:
            p = out / f
            if p.suffix == ".vtu":
                io.read_mesh(str(p))
            elif p.suffix in (".vtp", ".stl"):
                io.read_surface(str(p))
            elif p.suffix == ".csv":
                ecg.read_ecg(str(p))
            elif p.suffix == ".json":
                json.loads(p.read_text())
            elif p.suffix == ".pvd":
                io.read_pvd(str(p))
            else:
                assert p.stat().st_size > 0
    return state


def test_killed_runs_resume_to_the_same_result(tmp_path):
    cfg = tmp_path / "twin.json"
    cfg.write_text(json.dumps({"input": {"labels": str(SUNNYBROOK_ED_LABELS)}, "mesh": {"size_mm": 3.0},
                               "output": {"vm_every_ms": 50.0}}))
    ref = tmp_path / "reference"
    t0 = time.perf_counter()
    _run(cfg, ref)
    full = time.perf_counter() - t0
    reference = ecg.read_ecg(str(ref / "ecg.csv"))

    out = tmp_path / "interrupted"
    # Kill it at several points (each resumed run gets further), checking after each kill that what
    # is there is intact; at least one kill must have come after a finished stage.
    done_before = []
    for fraction in (0.3, 0.6, 0.8):
        _run(cfg, out, kill_after=fraction * full)
        done_before.append(sorted(_outputs_readable(out)))
    assert any(done_before), "every kill came before the first stage finished"
    err = _run(cfg, out)
    assert "up to date, skipped" in err
    state = _outputs_readable(out)
    assert sorted(state) == ["activation", "anatomy", "ecg", "mesh"], done_before
    leftovers = [p.name for p in out.rglob(".*") if "tmp" in p.name]
    assert leftovers == []
    result = ecg.read_ecg(str(out / "ecg.csv"))
    assert result.names == reference.names
    np.testing.assert_allclose(np.asarray(result.values), np.asarray(reference.values), rtol=1e-9, atol=1e-9)
    s_ref = json.loads((ref / "summary.json").read_text())
    s_out = json.loads((out / "summary.json").read_text())
    assert s_out["ecg"] == s_ref["ecg"] and s_out["mesh"] == s_ref["mesh"]
    assert os.path.getsize(out / "report.html") > 0
