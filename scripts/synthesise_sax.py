#!/usr/bin/env python3
"""Synthesise MR-like short-axis (SAX) cine slices with LV and RV labels from a whole-heart label map.

Used by ``scripts/train_segmentation.py --rv`` to give the segmentation model a right-ventricle
class: the Sunnybrook MRI has expert LV contours only, the whole-heart CT label map of
``../shared/data/labelmaps/heartdeformnets_wh.nii.gz`` (HeartDeformNets, Kong & Shadden, IEEE TMI
2023; 7 labels, MM-WHS convention: 1 LV myocardium, 2 LA, 3 LV blood pool, 4 RA, 5 RV blood pool,
6 aorta, 7 pulmonary artery) has both ventricles, but no image we could use.

How a slice is made
-------------------
1. Geometry. The LV long axis is the first principal axis of the LV voxels (blood pool +
   myocardium), pointing from the apex towards the LA (base). A slice is a plane perpendicular to
   that axis tilted by up to ``tilt_deg`` (random direction), at a random position from 5 mm
   beyond the apex to 15 mm above the mitral plane (so some slices show atria and great vessels
   and no ventricle), with a random in-plane shift and rotation. The anatomy is scaled by a
   random factor (the CT heart is small: LV blood pool 49 mL; the Sunnybrook hearts are dilated,
   190-250 mL), and the output grid has the model spacing (1.5 mm).
2. Through-plane partial volume: the label map is sampled (nearest) on ``n_sub`` parallel planes
   across a slice thickness of 6-10 mm; each plane gets tissue intensities and the intensity
   image is their mean. The target labels are those of the central plane.
3. Tissues (relative SSFP-like intensities, random per image): LV and RV blood bright
   (0.75-1.0), atria and great vessels bright (0.55-1.0), myocardium dark (0.15-0.35), a thin RV
   free wall (a 1-2 pixel rim around the RV blood pool outside the other labels) as dark as the
   myocardium, patchy epicardial fat (a 2-5 pixel rim around the heart, bright 0.55-0.95, on 70 %
   of images), and a background of smooth random "tissue" regions (lung-like dark 0.02-0.12,
   muscle/liver-like grey 0.2-0.5, fat-like bright) with fine texture, inside a random body
   ellipse (air outside). Papillary muscles: a few dark discs inside the LV blood pool (they
   stay blood pool in the target, the Sunnybrook convention). The LV cavity is sometimes grown
   into the myocardium by 1-2 pixels (thinner, dilated-looking walls).
4. Image formation: Gaussian blur (in-plane partial volume), a smooth multiplicative bias
   field, Rician noise (magnitude of the image plus complex Gaussian noise), then the same
   percentile clipping and z-score as the model's preprocessing.

Targets: 0 background, 1 LV blood pool, 2 LV myocardium, 3 RV blood pool (everything else 0).

All randomness comes from the ``numpy.random.Generator`` passed in. Needs numpy, torch, nibabel.
Run it directly to write a preview PNG grid (needs nothing else)::

    python scripts/synthesise_sax.py --n 16 --png /tmp/synth.png
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DEFAULT_LABELMAP = Path(__file__).resolve().parent.parent.parent / "shared/data/labelmaps/heartdeformnets_wh.nii.gz"

# label values of the whole-heart map
MYO, LA, LVB, RA, RVB, AO, PA = 1, 2, 3, 4, 5, 6, 7


def normalise2d(x: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> np.ndarray:
    lo, hi = np.percentile(x, [lo_pct, hi_pct])
    x = np.clip(x.astype(np.float64), lo, hi)
    s = x.std()
    return ((x - x.mean()) / (s if s > 0 else 1.0)).astype(np.float32)


def _dilate(mask: torch.Tensor, r: int) -> torch.Tensor:
    """Binary dilation of (..., H, W) bool masks by a (2r+1) square."""
    if r <= 0:
        return mask
    shp = mask.shape
    m = mask.reshape(-1, 1, shp[-2], shp[-1]).float()
    m = F.max_pool2d(m, 2 * r + 1, stride=1, padding=r)
    return m.reshape(shp) > 0.5


def _smooth_field(rng: np.random.Generator, grid: int, size: int, sd: float = 1.0) -> torch.Tensor:
    g = torch.from_numpy(rng.normal(0, sd, size=(1, 1, grid, grid)).astype(np.float32))
    return F.interpolate(g, size=(size, size), mode="bicubic", align_corners=True)[0, 0]


class SAXSynthesiser:
    """Holds the cropped label map and its LV axes; ``sample(rng)`` makes one slice."""

    def __init__(self, labelmap: Path = DEFAULT_LABELMAP, size: int = 144, spacing: float = 1.5):
        import nibabel as nib

        img = nib.load(str(labelmap))
        lab = np.asarray(img.dataobj).astype(np.int16)
        sp = np.linalg.norm(img.affine[:3, :3], axis=0)
        nz = np.argwhere(lab > 0)
        lo = np.maximum(nz.min(0) - np.ceil(30 / sp).astype(int), 0)
        hi = np.minimum(nz.max(0) + np.ceil(30 / sp).astype(int) + 1, lab.shape)
        lab = lab[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        self.shape = np.array(lab.shape)
        self.sp = sp  # voxel spacing (mm); positions below are voxel index * spacing (voxel frame)
        self.vol = torch.from_numpy(lab.astype(np.float32))[None, None]  # (1, 1, ni, nj, nk)
        self.size, self.spacing = size, spacing

        def pts(mask):
            return np.argwhere(mask) * sp

        lv = pts((lab == LVB) | (lab == MYO))
        c = lv.mean(0)
        _, _, vt = np.linalg.svd(lv - c, full_matrices=False)
        ax = vt[0]
        if (pts(lab == LA).mean(0) - c) @ ax < 0:  # point from the apex to the base (the LA)
            ax = -ax
        self.centre, self.axis = c, ax
        proj_myo = (pts(lab == MYO) - c) @ ax
        proj_lvb = (pts(lab == LVB) - c) @ ax
        self.apex_t = float(proj_myo.min())
        self.base_t = float(proj_lvb.max())
        rv = pts(lab == RVB).mean(0) - c
        u = rv - (rv @ ax) * ax  # towards the RV, perpendicular to the long axis
        self.u0 = u / np.linalg.norm(u)

    # --------------------------------------------------------------------------------- geometry
    def _labels_on_planes(self, rng: np.random.Generator, n_sub: int):
        ax = self.axis.copy()
        # tilt: rotate the axis by up to 12 degrees in a random direction
        tilt = math.radians(rng.uniform(0, 12))
        w = rng.normal(size=3)
        w -= (w @ ax) * ax
        w /= np.linalg.norm(w)
        ax = math.cos(tilt) * ax + math.sin(tilt) * w
        u = self.u0 - (self.u0 @ ax) * ax
        u /= np.linalg.norm(u)
        v = np.cross(ax, u)
        a = rng.uniform(-math.pi, math.pi)
        u, v = math.cos(a) * u + math.sin(a) * v, -math.sin(a) * u + math.cos(a) * v
        t = rng.uniform(self.apex_t - 5.0, self.base_t + 15.0)
        scale = rng.uniform(0.95, 1.5)  # anatomy magnification in the output image
        thick = rng.uniform(6.0, 10.0)
        P = self.size
        step = self.spacing / scale  # mm of label map per output pixel
        shift = rng.normal(0, 12.0, size=2)
        ci = (np.arange(P) - (P - 1) / 2.0) * step
        gu, gv = np.meshgrid(ci + shift[0], ci + shift[1], indexing="ij")
        offs = (np.linspace(-0.5, 0.5, n_sub) * thick / scale) if n_sub > 1 else np.zeros(1)
        p0 = self.centre + t * ax
        pts = (p0[None, None, None, :] + offs[:, None, None, None] * ax
               + gu[None, :, :, None] * u + gv[None, :, :, None] * v)  # (n_sub, P, P, 3) mm
        idx = pts / self.sp
        n = self.shape - 1
        grid = np.stack([2 * idx[..., 2] / n[2] - 1, 2 * idx[..., 1] / n[1] - 1, 2 * idx[..., 0] / n[0] - 1], -1)
        g = torch.from_numpy(grid.astype(np.float32))[None]
        lab = F.grid_sample(self.vol, g, mode="nearest", padding_mode="zeros", align_corners=True)[0, 0]
        return lab.round().long(), t

    # --------------------------------------------------------------------------------- intensities
    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One synthetic slice: (image float32 (P, P), normalised; target int64 (P, P))."""
        n_sub = 5
        L, _ = self._labels_on_planes(rng, n_sub)
        P = self.size
        # thinner, dilated-looking LV walls: grow the cavity into the myocardium (all planes)
        r = int(rng.choice([0, 0, 1, 2]))
        if r:
            grow = _dilate(L == LVB, r) & (L == MYO)
            L = torch.where(grow, torch.full_like(L, LVB), L)
        heart = L > 0
        rvwall = _dilate(L == RVB, int(rng.integers(1, 3))) & ~heart
        fat = torch.zeros_like(heart)
        if rng.random() < 0.7:
            patch = _smooth_field(rng, 6, P) > rng.uniform(-0.5, 0.5)
            fat = _dilate(heart, int(rng.integers(2, 6))) & ~heart & ~rvwall & patch[None]

        # background: smooth random regions of three tissue types, fine texture, air outside a body
        f = _smooth_field(rng, int(rng.integers(4, 9)), P)
        q_lung, q_fat = np.quantile(f.numpy(), [rng.uniform(0.1, 0.5), rng.uniform(0.85, 1.0)])
        bg = torch.full((P, P), float(rng.uniform(0.2, 0.5)))
        bg = bg + 0.1 * _smooth_field(rng, 12, P)
        bg = torch.where(f < float(q_lung), torch.full_like(bg, float(rng.uniform(0.02, 0.12))), bg)
        bg = torch.where(f > float(q_fat), torch.full_like(bg, float(rng.uniform(0.55, 0.9))), bg)
        bg = bg + float(rng.uniform(0, 0.06)) * _smooth_field(rng, 40, P)
        if rng.random() < 0.5:
            yy, xx = np.meshgrid(np.arange(P) - P / 2 + rng.normal(0, 10), np.arange(P) - P / 2 + rng.normal(0, 10),
                                 indexing="ij")
            ra, rb = rng.uniform(60, 120, size=2)
            body = torch.from_numpy((yy / ra) ** 2 + (xx / rb) ** 2 <= 1.0)
            bg = torch.where(body, bg, torch.full_like(bg, 0.01))

        lvb, rvb = rng.uniform(0.75, 1.0), rng.uniform(0.75, 1.0)
        myo = rng.uniform(0.15, 0.35)
        val = {MYO: myo, LVB: lvb, RVB: rvb}
        for lab in (LA, RA, AO, PA):
            val[lab] = rng.uniform(0.55, 1.0)
        img = bg[None].expand(n_sub, P, P).clone()
        img[fat] = float(rng.uniform(0.55, 0.95))
        img[rvwall] = float(myo * rng.uniform(0.9, 1.3))
        for lab, x in val.items():
            img[L == lab] = float(x)
        img = img.mean(0)
        target = torch.zeros((P, P), dtype=torch.long)
        mid = L[n_sub // 2]
        target[mid == LVB] = 1
        target[mid == MYO] = 2
        target[mid == RVB] = 3
        # papillary muscles: dark discs inside the LV blood pool near the wall (target stays 1)
        if rng.random() < 0.6 and (target == 1).sum() > 60:
            near_wall = (_dilate(target == 2, 3) & (target == 1)).nonzero()
            if len(near_wall):
                yy, xx = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
                for _ in range(int(rng.integers(1, 3))):
                    cy, cx = near_wall[int(rng.integers(len(near_wall)))].tolist()
                    rad = rng.uniform(1.5, 3.0)
                    disc = torch.from_numpy((yy - cy) ** 2 + (xx - cx) ** 2 <= rad**2) & (target == 1)
                    img[disc] = float(myo * rng.uniform(1.0, 1.6))
        # blur, bias field, Rician noise
        sig = rng.uniform(0.4, 1.1)
        k = torch.arange(-3, 4, dtype=torch.float32)
        g1 = torch.exp(-(k**2) / (2 * sig**2))
        g1 = g1 / g1.sum()
        x = img[None, None]
        x = F.conv2d(F.pad(x, (3, 3, 0, 0), mode="replicate"), g1.view(1, 1, 1, 7))
        x = F.conv2d(F.pad(x, (0, 0, 3, 3), mode="replicate"), g1.view(1, 1, 7, 1))[0, 0]
        x = x * torch.exp(float(rng.uniform(0.1, 0.4)) * _smooth_field(rng, 3, P))
        ns = rng.uniform(0.01, 0.06)
        n1 = torch.from_numpy(rng.normal(0, ns, size=(P, P)).astype(np.float32))
        n2 = torch.from_numpy(rng.normal(0, ns, size=(P, P)).astype(np.float32))
        x = torch.sqrt((x + n1) ** 2 + n2**2)
        return normalise2d(x.numpy()), target.numpy()

    def bank(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` slices from a seeded generator: images (P, P, n) float32, targets (P, P, n) int64."""
        rng = np.random.default_rng(seed)
        ims, tgs = zip(*(self.sample(rng) for _ in range(n)))
        return np.stack(ims, -1), np.stack(tgs, -1).astype(np.int64)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labelmap", type=Path, default=DEFAULT_LABELMAP)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", type=Path, default=Path("synthetic_sax.png"))
    args = ap.parse_args()
    syn = SAXSynthesiser(args.labelmap)
    print(f"LV long axis {np.round(syn.axis, 3)}, apex {syn.apex_t:.1f} mm, mitral plane {syn.base_t:.1f} mm "
          f"from the LV centroid")
    ims, tgs = syn.bank(args.n, args.seed)
    write_preview(ims, tgs, args.png)
    print(f"wrote {args.png}")
    return 0


def write_preview(ims: np.ndarray, tgs: np.ndarray, path: Path, cols: int = 8) -> None:
    """Grid PNG: each slice's image (grey) over its target outline colours (LV red, myo yellow, RV cyan)."""
    import zlib
    import struct

    P, _, n = ims.shape
    rows = (n + cols - 1) // cols
    canvas = np.zeros((rows * P, cols * 2 * P, 3), np.uint8)
    colours = {1: (255, 40, 40), 2: (255, 220, 0), 3: (0, 220, 255)}
    for s in range(n):
        r, c = divmod(s, cols)
        im = ims[:, :, s]
        g = np.clip((im - im.min()) / max(np.ptp(im), 1e-6) * 255, 0, 255).astype(np.uint8)
        tile = np.repeat(g[:, :, None], 3, 2)
        lab = np.repeat(g[:, :, None], 3, 2).copy()
        for v, col in colours.items():
            lab[tgs[:, :, s] == v] = col
        canvas[r * P:(r + 1) * P, 2 * c * P:(2 * c + 1) * P] = tile
        canvas[r * P:(r + 1) * P, (2 * c + 1) * P:(2 * c + 2) * P] = lab
    h, w, _ = canvas.shape
    raw = b"".join(b"\x00" + canvas[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    raise SystemExit(main())
