"""The ``cardiotwin`` command line, through main() and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cardiotwin
import nibabel as nib
import numpy as np
import pytest
from cardiotwin import io
from cardiotwin.cli import main
from conftest import RODERO_VTP, SUNNYBROOK_DICOM, SUNNYBROOK_ED, SUNNYBROOK_ED_LABELS

INFO_KEYS = {"version", "components", "has_cgal", "has_tetgen", "has_torch", "cmake_dir",
             "python", "numpy"}


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cardiotwin", *map(str, args)],
                          check=False, capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_info_via_main(capsys):
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info) == INFO_KEYS
    assert info["version"] == cardiotwin.__version__
    assert info["numpy"] == np.__version__
    assert info["has_cgal"] == cardiotwin.has_cgal
    assert "core" in info["components"]


def test_info_as_module_subprocess():
    result = _run("info", "--compact")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    info = json.loads(result.stdout)
    assert set(info) == INFO_KEYS
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))


def test_console_script():
    script = Path(sys.executable).parent / ("cardiotwin.exe" if os.name == "nt" else "cardiotwin")
    if not script.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    result = subprocess.run([str(script), "info"], check=False, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == INFO_KEYS


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == cardiotwin.__version__
    assert main([]) == 2
    assert "convert" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["convert", "--help"])
    assert info.value.code == 0
    assert "--encoding" in capsys.readouterr().out


def test_convert_nii_to_nii_gz(tmp_path, capsys):
    out = tmp_path / "ed.nii.gz"
    assert main(["convert", str(SUNNYBROOK_ED), str(out)]) == 0
    assert "256 x 256 x 12" in capsys.readouterr().out
    ref = nib.load(str(SUNNYBROOK_ED))
    written = nib.load(str(out))
    np.testing.assert_array_equal(np.asarray(written.dataobj), np.asarray(ref.dataobj))
    np.testing.assert_allclose(written.affine, ref.affine, atol=1e-4)


def test_convert_labels_keep_uint8(tmp_path):
    out = tmp_path / "gt.nii"
    assert main(["convert", "-q", str(SUNNYBROOK_ED_LABELS), str(out)]) == 0
    assert nib.load(str(out)).get_data_dtype() == np.uint8


def test_convert_dicom_folder_subprocess(tmp_path):
    out = tmp_path / "from_dicom.nii.gz"
    result = _run("convert", SUNNYBROOK_DICOM, out)
    assert result.returncode == 0, result.stderr
    ref = nib.load(str(SUNNYBROOK_ED))
    written = nib.load(str(out))
    np.testing.assert_array_equal(np.asarray(written.dataobj), np.asarray(ref.dataobj))
    np.testing.assert_allclose(written.affine, ref.affine, atol=1e-3)


def test_convert_vtu_to_opencarp_and_back(tmp_path, box_mesh):
    io.write_mesh(tmp_path / "box.vtu", box_mesh)
    assert main(["convert", "-q", str(tmp_path / "box.vtu"), str(tmp_path / "carp")]) == 0
    assert {p.name for p in tmp_path.glob("carp.*")} == {"carp.pts", "carp.elem", "carp.lon"}
    assert main(["convert", "-q", str(tmp_path / "carp.elem"), str(tmp_path / "back.vtu"),
                 "--encoding", "ascii"]) == 0
    back = io.read_mesh(tmp_path / "back.vtu")
    np.testing.assert_allclose(back.points, box_mesh.points, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(back.tets, box_mesh.tets)
    np.testing.assert_array_equal(back.region, box_mesh.region)
    np.testing.assert_allclose(back.fibre, box_mesh.fibre, atol=1e-6)


def test_convert_vtp_to_stl_subprocess(tmp_path):
    out = tmp_path / "lv.stl"
    result = _run("convert", RODERO_VTP, out, "--tag-array", "surface-id")
    assert result.returncode == 0, result.stderr
    assert "100324 triangles" in result.stdout
    assert out.stat().st_size == 84 + 50 * 100324
    surface = io.read_surface(out)
    assert surface.num_triangles == 100324
    assert surface.num_points <= 50162


@pytest.mark.parametrize("args, words", [
    (["convert", "{tmp}/a.xyz", "{tmp}/b.nii"], [".xyz", ".nii"]),
    (["convert", "{ed}", "{tmp}/b.png"], [".png", ".nii.gz"]),
    (["convert", "{ed}", "{tmp}/b.vtu"], ["image", "mesh"]),
    (["convert", "{tmp}/missing.nii.gz", "{tmp}/b.nii"], ["missing.nii.gz"]),
    (["convert", "{tmp}/no_such_folder", "{tmp}/b.nii"], ["no_such_folder", "does not exist"]),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, words):
    (tmp_path / "a.xyz").write_text("1 2 3\n")
    argv = [a.format(tmp=tmp_path, ed=SUNNYBROOK_ED) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cardiotwin convert: error:")
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_bad_file_exits_2_in_a_subprocess(tmp_path):
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"garbage" * 100)
    result = _run("convert", bad, tmp_path / "out.nii.gz")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad.nii" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    verbose = _run("convert", "--verbose", bad, tmp_path / "out.nii.gz")
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr
    before = _run("-v", "convert", bad, tmp_path / "out.nii.gz")  # global flag works too
    assert before.returncode == 2 and "Traceback" in before.stderr


def test_unknown_subcommand_is_a_usage_error():
    result = _run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
