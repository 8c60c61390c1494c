"""The PyTorch deep-ensemble emulator (skipped without torch)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from cardiotwin import emulate

torch = pytest.importorskip("torch")

BOUNDS = {"a": (0.0, 1.0), "b": (-1.0, 1.0)}


def f(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.sin(3 * x[:, 0]) + x[:, 1] ** 2, x[:, 0] * x[:, 1]])


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_neural_net_fits_predicts_and_round_trips(tmp_path):
    x = emulate.latin_hypercube(200, BOUNDS, seed=0)
    xt = emulate.latin_hypercube(200, BOUNDS, seed=1)
    nn = emulate.NeuralNetEmulator(hidden=(32, 32), epochs=600, ensemble=3, seed=0).fit(
        x, f(x), output_names=["s", "p"])
    mean, var = nn.predict(xt)
    assert mean.shape == (200, 2) and var.shape == (200, 2) and np.all(var > 0)
    report = emulate.validate(nn, xt, f(xt))
    assert np.all(report["r2"] > 0.97), report
    path = tmp_path / "nn.json"
    nn.save(path)
    meta = json.loads(path.read_text())
    assert meta["format"] == "cardiotwin.emulate.NeuralNetEmulator"
    assert (tmp_path / meta["torchscript"]).exists()
    nn2 = emulate.load(path)
    assert isinstance(nn2, emulate.NeuralNetEmulator) and nn2.output_names == ["s", "p"]
    np.testing.assert_array_equal(nn2.predict(xt)[0], mean)
    # The TorchScript module alone maps physical inputs to (mean, variance).
    with torch.no_grad():
        m, _ = torch.jit.load(str(tmp_path / meta["torchscript"]))(torch.as_tensor(xt))
    np.testing.assert_allclose(m.numpy(), mean)


def test_neural_net_1d_outputs():
    x = emulate.latin_hypercube(50, BOUNDS, seed=0)
    nn = emulate.NeuralNetEmulator(hidden=(16,), epochs=100, ensemble=2).fit(x, f(x)[:, 0])
    m, v = nn.predict(x[:7])
    assert m.shape == (7,) and v.shape == (7,)
