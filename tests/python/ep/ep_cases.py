"""Small monodomain cases shared by the ep tests, computed once per session (cached).

The Niederer slab at dx 1.0 mm is too coarse for the benchmark's corner stimulus: across the
fibres (sigma_t 0.0176 S/m) one element is longer than the tissue's space constant and the
wave blocks. A planar stimulus on the x = 0 face sends a wave along the fibres instead, which
crosses the slab in about 45 ms at dt 0.05 ms (672 nodes: a fraction of a second).
"""

from __future__ import annotations

import functools

import numpy as np

#: The corners and centre of the Niederer slab (mm).
P1, P8, P9 = (0.0, 0.0, 0.0), (20.0, 7.0, 3.0), (10.0, 3.5, 1.5)


def plane_wave_options(**overrides):
    """TP06 epi on the slab, stimulated on the face x <= 1 mm, probes at P1, P8, P9."""
    from cardiotwin import ep

    return ep.niederer_options(
        dt_ms=0.05, t_end_ms=50.0, threads=1,
        stimuli=[{"shape": "box", "min": [0, 0, 0], "max": [1.0, 7.0, 3.0], "start_ms": 0.0,
                  "duration_ms": 2.0, "strength": 50000.0, "unit": "uA/cm^3"}],
        **overrides)


@functools.cache
def slab(dx: float = 1.0):
    import cardiotwin.mesh

    return cardiotwin.mesh.niederer_slab(dx)


@functools.cache
def plane_wave_result():
    """The EPResult of `plane_wave_options()` on `slab(1.0)` (do not modify)."""
    from cardiotwin import ep

    return ep.simulate(slab(1.0), plane_wave_options(), progress=False)


def nearest(mesh, point) -> int:
    return int(np.argmin(((np.asarray(mesh.points) - np.asarray(point)) ** 2).sum(axis=1)))
