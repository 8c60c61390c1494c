"""``cardiotwin simulate MESH CONFIG.json -o OUTDIR``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cardiotwin import io
from cardiotwin.cli import main
from ep_cases import plane_wave_options, slab

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_CONFIG = REPO / "examples" / "configs" / "niederer_0.5mm.json"


def _config(tmp_path, **overrides) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(plane_wave_options(**overrides)))
    return path


def test_simulate_slab_writes_everything(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    config = _config(tmp_path, snapshot_every_ms=5.0)
    assert main(["simulate", "slab:1.0", str(config), "-o", str(out), "--t-end", "20"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["nodes"] == slab(1.0).num_points and summary["time_ms"] == 20.0
    assert 0 < summary["activated_nodes"] < summary["nodes"]  # the wave is under way
    assert summary["activation_ms"]["min"] < 3.0 < summary["activation_ms"]["max"] < 20.0
    assert summary["wall_s"] > 0 and summary["timings"]["steps"] == 400
    assert "20.0/20.0 ms" in captured.err  # progress on stderr
    for name in ("activation.vtu", "probes.csv", "result.json", "activation.png"):
        assert (out / name).stat().st_size > 0, name
        assert summary["outputs"][name] == str(out / name)
    assert (out / "activation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mesh = io.read_vtu(out / "activation.vtu")
    act = np.asarray(mesh.point_data["activation_ms"]).ravel()
    assert np.isfinite(act).sum() == summary["activated_nodes"]
    # Snapshots went to OUTDIR/vm without the config naming a folder.
    frames = io.read_pvd(out / "vm" / Path(summary["outputs"]["vm.pvd"]).name)
    assert len(frames) == 5
    assert json.loads((out / "result.json").read_text())["snapshots_pvd"].startswith(str(out))


def test_example_config_is_valid():
    from cardiotwin import ep

    config = json.loads(EXAMPLE_CONFIG.read_text())
    options = ep.validate_monodomain_options(config)
    assert options["ionic_model"] == "tp06" and len(options["stimuli"]) == 1


def test_simulate_subprocess_quiet_compact(tmp_path):
    out = tmp_path / "o"
    result = subprocess.run(
        [sys.executable, "-m", "cardiotwin", "simulate", "box:4,2,2:1", str(EXAMPLE_CONFIG),
         "-o", str(out), "--t-end", "3", "-q", "--compact", "--no-plot"],
        check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.strip().splitlines()) == 1
    summary = json.loads(result.stdout)
    assert summary["mesh"].startswith("box 4 x 2 x 2 mm") and summary["time_ms"] == 3.0
    assert not (out / "activation.png").exists() and (out / "activation.vtu").exists()


@pytest.mark.parametrize("mesh, config, words", [
    ("slab:1.0", "{bad json", ["not valid JSON", "line 1"]),
    ("slab:1.0", '{"dt_msx": 0.1}', ["dt_msx"]),
    ("slab:1.0", '{"ionic_model": "hh"}', ["hh", "tp06", "mitchell_schaeffer"]),
    ("slab:1.0", "[1, 2]", ["JSON object"]),
    ("slab:abc", "{}", ["slab:DX", "slab:abc"]),
    ("box:1,2:0.5", "{}", ["box:LX,LY,LZ:DX"]),
    ("missing.vtu", "{}", ["missing.vtu"]),
    ("nothing_here", "{}", ["nothing_here", "does not exist"]),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, mesh, config, words):
    path = tmp_path / "c.json"
    path.write_text(config)
    mesh_arg = str(tmp_path / mesh) if not mesh.startswith(("slab:", "box:")) else mesh
    assert main(["simulate", mesh_arg, str(path), "-o", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cardiotwin simulate: error:"), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def test_missing_config_exits_2(tmp_path, capsys):
    assert main(["simulate", "slab:1.0", str(tmp_path / "none.json"), "-o",
                 str(tmp_path / "o")]) == 2
    assert "none.json" in capsys.readouterr().err


def test_help_lists_simulate(capsys):
    assert main([]) == 2
    assert "simulate" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    assert "slab:DX" in capsys.readouterr().out
