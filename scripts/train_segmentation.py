#!/usr/bin/env python3
"""Train cardiotwin's bundled short-axis LV segmentation model (a small 2-D U-Net) on Sunnybrook.

What it does
------------
1. Reads the three Sunnybrook cases of ``../shared/data/mri/sunnybrook`` (ED and ES short-axis
   stacks with expert labels: 1 LV blood pool, 2 LV myocardium; ES has no myocardium contours).
   Only the contoured slices are used (the others are all 0 even where the LV is visible).
2. Leave-one-patient-out (LOPO): trains on two patients, segments the third with the same
   inference procedure as the C++ ``segment`` component (in-plane resampling to the model spacing,
   sliding window with Gaussian weighting, mirroring, argmax) and prints Dice and volume error (mL)
   per structure as JSON.
3. Trains the final model on all three patients and exports it as TorchScript (``model.pt``) plus
   ``metadata.json`` into ``python/cardiotwin/models/sunnybrook_lv/`` (shipped in the package),
   together with the LOPO results (``lopo.json``).

Partial labels: ES slices carry only the blood pool. For them the loss uses the marginal
probability ``p(background) + p(myocardium)`` for "not blood pool" and no myocardium Dice term.

Preprocessing (must match ``src/segment/torch.cpp`` and ``metadata.json``):
- slice axis = voxel axis with the largest spacing (k for short-axis cine); 2-D slices in (i, j);
- intensities of the whole volume clipped to its [0.5, 99.5] percentiles, then z-scored with the
  mean and standard deviation of the clipped volume;
- in-plane bilinear resampling to ``spacing_mm`` with voxel (0, 0) kept in place:
  model index u maps to input index u * spacing_mm / input_spacing;
- the network sees (1, 1, P, P) patches, dim 2 = i, dim 3 = j; outside the image the value is 0.

Augmentation: rotation (any angle), isotropic scaling (0.8-1.25), random flips, elastic
deformation, intensity scale/shift and gamma, multiplicative bias field, Gaussian noise.

Usage (CPU, seeded; about 10 CPU-minutes per training at the defaults)::

    nice -n 15 python scripts/train_segmentation.py --data ../shared/data/mri/sunnybrook \\
        --out python/cardiotwin/models/sunnybrook_lv --threads 2

``--skip-lopo`` trains only the final model; ``--skip-final`` only evaluates.
Needs torch (CPU), numpy and nibabel (the training script reads NIfTI with nibabel; the library
itself does not need it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PATIENTS = ["SCD0000101", "SCD0000201", "SCD0000301"]
LABELS = {"background": 0, "lv_blood_pool": 1, "lv_myocardium": 2}


# ----------------------------------------------------------------------------- data


def load_volume(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    img = nib.load(str(path))
    return np.asarray(img.dataobj), img.affine


def normalise(vol: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> np.ndarray:
    """Percentile clipping then z-score over the whole volume (as in the C++ preprocessing)."""
    v = vol.astype(np.float64)
    lo, hi = np.percentile(v, [lo_pct, hi_pct])
    v = np.clip(v, lo, hi)
    std = v.std()
    return ((v - v.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def load_patient(data: Path, pid: str) -> list[dict]:
    """Return the contoured slices of one patient: dicts with image, label, spacing, partial flag."""
    meta = json.loads((data / f"{pid}.json").read_text())
    out = []
    for phase in ("ED", "ES"):
        vol, aff = load_volume(data / f"{pid}_{phase}.nii.gz")
        lab, _ = load_volume(data / f"{pid}_{phase}_gt.nii.gz")
        spacing = np.linalg.norm(aff[:3, :3], axis=0)
        assert int(np.argmax(spacing)) == 2, "expected k as the slice axis"
        norm = normalise(vol)
        slices = meta["phases"][phase]["endo_slices"]
        out.append(
            dict(
                pid=pid,
                phase=phase,
                image=norm,
                label=lab.astype(np.int64),
                spacing=spacing,
                slices=list(slices),
                partial=(phase == "ES"),
            )
        )
    return out


# ----------------------------------------------------------------------------- model


class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.InstanceNorm2d(cout, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.InstanceNorm2d(cout, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
        )


class UNet2D(nn.Module):
    """Plain 2-D U-Net: (N, 1, H, W) -> logits (N, n_classes, H, W); H, W multiples of 2**depth."""

    def __init__(self, n_classes: int = 3, widths: tuple[int, ...] = (16, 32, 64, 128)):
        super().__init__()
        self.enc = nn.ModuleList()
        cin = 1
        for w in widths:
            self.enc.append(ConvBlock(cin, w))
            cin = w
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w_skip in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(cin, w_skip, 2, stride=2))
            self.dec.append(ConvBlock(2 * w_skip, w_skip))
            cin = w_skip
        self.head = nn.Conv2d(cin, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        n = len(self.enc)
        for i, blk in enumerate(self.enc):
            x = blk(x)
            if i < n - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for j, (up, dec) in enumerate(zip(self.up, self.dec)):
            x = up(x)
            x = dec(torch.cat([x, skips[n - 2 - j]], dim=1))
        return self.head(x)


# ----------------------------------------------------------------------------- augmentation


def sample_batch(slices: list[dict], batch: int, patch: int, spacing: float, rng: np.random.Generator,
                 augment: bool = True):
    """Random augmented patches: returns image (B,1,P,P), label (B,P,P), kind (B,) int
    (0 full LV labels, 1 partial = blood pool only, 2 synthetic with an RV)."""
    grids, imgs, labs, partial = [], [], [], []
    P = patch
    c = (P - 1) / 2.0
    uu, vv = np.meshgrid(np.arange(P) - c, np.arange(P) - c, indexing="ij")
    for _ in range(batch):
        s = slices[rng.integers(len(slices))]
        k = s["k"]
        img2 = s["image"][:, :, k]
        lab2 = s["label"][:, :, k]
        nx, ny = img2.shape
        sx, sy = s["spacing"][0], s["spacing"][1]
        # crop centre: near the LV (centroid of labels, jitter 15 mm), sometimes anywhere
        if rng.random() < 0.25 or not (lab2 > 0).any():
            ci, cj = rng.uniform(0, nx - 1), rng.uniform(0, ny - 1)
        else:
            ii, jj = np.nonzero(lab2 > 0)
            ci = ii.mean() + rng.normal(0, 15.0 / sx)
            cj = jj.mean() + rng.normal(0, 15.0 / sy)
        du, dv = uu * spacing, vv * spacing  # mm offsets from the patch centre
        if augment:
            a = rng.uniform(-math.pi, math.pi)
            sc = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
            ca, sa = math.cos(a) * sc, math.sin(a) * sc
            du, dv = ca * du - sa * dv, sa * du + ca * dv
            if rng.random() < 0.5:
                du = -du
            if rng.random() < 0.5:
                dv = -dv
            if rng.random() < 0.7:  # elastic: smooth random displacement, up to a few mm
                g = torch.from_numpy(rng.normal(0, 3.0, size=(1, 2, 5, 5)).astype(np.float32))
                d = F.interpolate(g, size=(P, P), mode="bicubic", align_corners=True)[0].numpy()
                du = du + d[0]
                dv = dv + d[1]
        fi = ci + du / sx
        fj = cj + dv / sy
        # grid_sample: last dim (x -> W = j, y -> H = i), align_corners=True
        grid = np.stack([2 * fj / (ny - 1) - 1, 2 * fi / (nx - 1) - 1], axis=-1).astype(np.float32)
        t_img = torch.from_numpy(np.ascontiguousarray(img2, dtype=np.float32))[None, None]
        t_lab = torch.from_numpy(np.ascontiguousarray(lab2, dtype=np.float32))[None, None]
        gt = torch.from_numpy(grid)[None]
        im = F.grid_sample(t_img, gt, mode="bilinear", padding_mode="zeros", align_corners=True)[0, 0]
        lb = F.grid_sample(t_lab, gt, mode="nearest", padding_mode="zeros", align_corners=True)[0, 0]
        if augment:
            im = intensity_augment(im, rng)
        imgs.append(im)
        labs.append(lb.long())
        partial.append(s.get("kind", int(s["partial"])))
    # kind: 0 full LV labels (Sunnybrook ED), 1 blood pool only (ES), 2 synthetic with RV (--rv)
    return torch.stack(imgs)[:, None], torch.stack(labs), torch.tensor(partial)


def intensity_augment(im: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    P = im.shape[0]
    if rng.random() < 0.5:  # gamma on the [0, 1]-rescaled patch
        lo, hi = float(im.min()), float(im.max())
        if hi > lo:
            x = (im - lo) / (hi - lo)
            im = x ** math.exp(rng.uniform(-0.4, 0.4)) * (hi - lo) + lo
    im = im * float(rng.uniform(0.8, 1.25)) + float(rng.normal(0, 0.15))
    if rng.random() < 0.6:  # smooth multiplicative bias field
        g = torch.from_numpy(rng.normal(0, 0.25, size=(1, 1, 3, 3)).astype(np.float32))
        b = F.interpolate(g, size=(P, P), mode="bicubic", align_corners=True)[0, 0]
        im = im * torch.exp(b)
    if rng.random() < 0.6:
        im = im + torch.from_numpy(rng.normal(0, rng.uniform(0, 0.15), size=(P, P)).astype(np.float32))
    return im


# ----------------------------------------------------------------------------- loss


def loss_fn(logits: torch.Tensor, target: torch.Tensor, partial: torch.Tensor) -> torch.Tensor:
    """Cross-entropy + soft Dice; partial samples (ES) only know blood pool vs the rest."""
    logp = F.log_softmax(logits, dim=1)
    p = logp.exp()
    full = ~partial
    ce = logits.new_zeros(())
    n = 0
    if full.any():
        ce = ce + F.nll_loss(logp[full], target[full], reduction="sum")
        n += int(full.sum()) * target.shape[1] * target.shape[2]
    if partial.any():
        lp = logp[partial]
        not_blood = torch.logsumexp(torch.stack([lp[:, 0], lp[:, 2]]), dim=0)
        t = target[partial]
        ce = ce - torch.where(t == 1, lp[:, 1], not_blood).sum()
        n += t.numel()
    ce = ce / max(n, 1)

    def soft_dice(pc: torch.Tensor, tc: torch.Tensor) -> torch.Tensor:
        inter = (pc * tc).sum()
        return 1 - (2 * inter + 1) / (pc.sum() + tc.sum() + 1)

    dice = soft_dice(p[:, 1], (target == 1).float())
    if full.any():
        dice = dice + soft_dice(p[full, 2], (target[full] == 2).float())
    return ce + dice


def loss_fn_rv(logits: torch.Tensor, target: torch.Tensor, kind: torch.Tensor) -> torch.Tensor:
    """Four classes (0 background, 1 LV blood pool, 2 LV myocardium, 3 RV blood pool).

    Every pixel has a set of allowed classes and the cross-entropy is -log of their summed
    probability (a marginal likelihood): synthetic slices (kind 2) know all four classes; on
    Sunnybrook ED slices (kind 0) the unlabelled rest near the LV (label 4, see ``mark_rv_zone``) is
    "background or RV", so the real images never teach the network that the RV is background,
    and farther away (label 0) it is background; on ES slices (kind 1) "anything but blood pool"
    (near) or "background or myocardium" (far). Soft Dice: blood pool on all samples, myocardium on kinds 0 and 2, RV on kind 2.
    """
    logp = F.log_softmax(logits, dim=1)
    p = logp.exp()
    B, C = logits.shape[:2]
    near = target == 4  # real images: background within --rv-max-dist of the LV labels (maybe RV)
    allowed = F.one_hot(torch.where(near, 0, target), C).permute(0, 3, 1, 2).bool()
    real_ed = (kind == 0)[:, None, None]
    real_es = (kind == 1)[:, None, None]
    allowed[:, 3] |= near & (real_ed | real_es)
    allowed[:, 2] |= ((target == 0) | near) & real_es
    ce = -torch.logsumexp(logp.masked_fill(~allowed, float("-inf")), dim=1).mean()

    def soft_dice(pc: torch.Tensor, tc: torch.Tensor) -> torch.Tensor:
        inter = (pc * tc).sum()
        return 1 - (2 * inter + 1) / (pc.sum() + tc.sum() + 1)

    loss = ce + soft_dice(p[:, 1], (target == 1).float())
    m = kind != 1
    if m.any():
        loss = loss + soft_dice(p[m, 2], (target[m] == 2).float())
    m = kind == 2
    if m.any():
        loss = loss + soft_dice(p[m, 3], (target[m] == 3).float())
    return loss


# ----------------------------------------------------------------------------- inference


def gaussian_weight(P: int, sigma_frac: float = 0.125) -> torch.Tensor:
    c = (P - 1) / 2.0
    x = torch.arange(P, dtype=torch.float32) - c
    g = torch.exp(-(x**2) / (2 * (sigma_frac * P) ** 2))
    w = g[:, None] * g[None, :]
    return torch.clamp(w / w.max(), min=1e-3)


def window_starts(n: int, P: int, step: int) -> list[int]:
    if n <= P:
        return [0]
    starts = list(range(0, n - P + 1, step))
    if starts[-1] != n - P:
        starts.append(n - P)
    return starts


@torch.no_grad()
def predict_volume(model, vol_norm: np.ndarray, spacing_in: np.ndarray, spacing: float, patch: int,
                   n_classes: int, mirror: bool = True, overlap: float = 0.5) -> np.ndarray:
    """Probabilities (C, nx, ny, nz) on the input grid; the same steps as the C++ component."""
    nx, ny, nz = vol_norm.shape
    mx = int(math.floor((nx - 1) * spacing_in[0] / spacing + 1e-6)) + 1
    my = int(math.floor((ny - 1) * spacing_in[1] / spacing + 1e-6)) + 1
    w = gaussian_weight(patch)
    step = max(1, int(round(patch * (1 - overlap))))
    out = np.zeros((n_classes, nx, ny, nz), np.float32)
    for k in range(nz):
        sl = torch.from_numpy(np.ascontiguousarray(vol_norm[:, :, k]))[None, None]
        # resample to the model grid: model u -> input u * spacing / spacing_in
        fi = torch.arange(mx, dtype=torch.float64) * spacing / spacing_in[0]
        fj = torch.arange(my, dtype=torch.float64) * spacing / spacing_in[1]
        gi, gj = torch.meshgrid(fi, fj, indexing="ij")
        grid = torch.stack([2 * gj / (ny - 1) - 1, 2 * gi / (nx - 1) - 1], -1).float()[None]
        rs = F.grid_sample(sl, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        px, py = max(mx, patch), max(my, patch)
        padded = torch.zeros(1, 1, px, py)
        padded[:, :, :mx, :my] = rs
        acc = torch.zeros(n_classes, px, py)
        wsum = torch.zeros(px, py)
        pos = [(a, b) for a in window_starts(px, patch, step) for b in window_starts(py, patch, step)]
        x = torch.cat([padded[:, :, a : a + patch, b : b + patch] for a, b in pos])
        pr = torch.softmax(model(x), 1)
        if mirror:
            pr = pr + torch.softmax(model(x.flip(2)), 1).flip(2)
            pr = pr + torch.softmax(model(x.flip(3)), 1).flip(3)
            pr = pr / 3
        for (a, b), p in zip(pos, pr):
            acc[:, a : a + patch, b : b + patch] += p * w
            wsum[a : a + patch, b : b + patch] += w
        prob = (acc / wsum)[:, :mx, :my]
        # back to the input grid: input i -> model i * spacing_in / spacing (bilinear, clamped)
        bi = torch.arange(nx, dtype=torch.float64) * spacing_in[0] / spacing
        bj = torch.arange(ny, dtype=torch.float64) * spacing_in[1] / spacing
        gi, gj = torch.meshgrid(bi, bj, indexing="ij")
        grid = torch.stack([2 * gj / max(my - 1, 1) - 1, 2 * gi / max(mx - 1, 1) - 1], -1).float()[None]
        back = F.grid_sample(prob[None], grid, mode="bilinear", padding_mode="border", align_corners=True)
        out[:, :, :, k] = back[0].numpy()
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = a.sum() + b.sum()
    return float(2 * (a & b).sum() / s) if s else 1.0


def evaluate(model, cases: list[dict], args) -> dict:
    res = {}
    model.eval()
    for c in cases:
        prob = predict_volume(model, c["image"], c["spacing"], args.spacing, args.patch, args.n_classes,
                              mirror=True)
        pred = prob.argmax(0)
        ks = c["slices"]
        vox_ml = float(np.prod(c["spacing"])) / 1000.0
        entry = {}
        structs = [("lv_blood_pool", 1)] + ([] if c["partial"] else [("lv_myocardium", 2)])
        for name, v in structs:
            p = pred[:, :, ks] == v
            g = c["label"][:, :, ks] == v
            entry[name] = dict(
                dice=round(dice(p, g), 4),
                volume_pred_ml=round(p.sum() * vox_ml, 1),
                volume_true_ml=round(g.sum() * vox_ml, 1),
                volume_error_ml=round((p.sum() - g.sum()) * vox_ml, 1),
            )
        res[f"{c['pid']}_{c['phase']}"] = entry
    return res


@torch.no_grad()
def evaluate_synthetic(model, syn, args) -> dict:
    """Dice of every class on held-out synthetic slices (another seed; the same CT heart!)."""
    ims, tgs = syn.bank(args.synthetic_test, args.synthetic_seed + 1000)
    model.eval()
    P = ims.shape[0]
    x = torch.from_numpy(np.ascontiguousarray(ims.transpose(2, 0, 1)))[:, None]
    pad = (-P) % 16
    x = F.pad(x, (0, pad, 0, pad))
    pred = torch.cat([model(x[i:i + 16]).argmax(1) for i in range(0, len(x), 16)])[:, :P, :P].numpy()
    t = tgs.transpose(2, 0, 1)
    out = {"slices": int(args.synthetic_test), "seed": args.synthetic_seed + 1000,
           "note": "raw argmax on whole 128x128 slices, no postprocessing; the same CT heart as in training "
                   "(other positions, tilts, scales and intensities), so this measures learning of the "
                   "synthetic task, not generalisation to other anatomy"}
    for name, v in (("lv_blood_pool", 1), ("lv_myocardium", 2), ("rv_blood_pool", 3)):
        out[name] = dict(dice=round(dice(pred == v, t == v), 4),
                         slices_with_label=int((t == v).any((1, 2)).sum()))
    return out


def mark_rv_zone(case: dict, max_dist_mm: float) -> dict:
    """Copy of a Sunnybrook case whose unlabelled pixels within ``max_dist_mm`` (in-plane) of the
    LV labels get the value 4 ("background or RV") on the contoured slices; farther pixels stay 0
    (certainly not RV: it lies against the septum)."""
    lab = case["label"].copy()
    sx, sy = case["spacing"][0], case["spacing"][1]
    nx, ny = lab.shape[:2]
    gi, gj = np.meshgrid(np.arange(nx) * sx, np.arange(ny) * sy, indexing="ij")
    grid = torch.from_numpy(np.stack([gi.ravel(), gj.ravel()], 1))
    for k in case["slices"]:
        pts = np.argwhere(lab[:, :, k] > 0) * np.array([sx, sy])
        if not len(pts):
            continue
        d = torch.cdist(grid, torch.from_numpy(pts[:: max(1, len(pts) // 500)])).min(1).values
        near = (d.numpy().reshape(nx, ny) <= max_dist_mm) & (lab[:, :, k] == 0)
        lab[:, :, k][near] = 4
    return dict(case, label=lab)


def _dilate2d(m: np.ndarray, r: int) -> np.ndarray:
    """In-plane (axes 0, 1) binary dilation by a (2r+1) square."""
    out = m.copy()
    for di in range(-r, r + 1):
        for dj in range(-r, r + 1):
            out |= np.roll(np.roll(m, di, 0), dj, 1)
    return out


def evaluate_real_rv(model_dir: Path, data: Path, png_dir: Path | None = None) -> dict:
    """The 4-class model through the C++ inference (``cardiotwin.segment``, default options) on the
    Sunnybrook stacks, against the bundled LV model. LV: Dice and volumes on the contoured slices.
    RV (no expert labels): volume, on how many contoured / mid-ventricular slices it is found,
    whether it touches the LV myocardium (septum), the direction LV -> RV in patient (RAS)
    coordinates, and how much of it lies on the expert LV labels (certainly wrong)."""
    from cardiotwin import io
    from cardiotwin import segment as seg

    rv_model = seg.load_model(model_dir)
    lv_model = seg.default_model()
    res = {"protocol": "cardiotwin.segment with default options (overlap 0.25, no mirroring, "
           "postprocessing on), threads 2; LV Dice on the contoured slices; the three patients are "
           "training cases of both models", "cases": {}}
    for pid in PATIENTS:
        meta = json.loads((data / f"{pid}.json").read_text())
        for phase in ("ED", "ES"):
            image = io.read_image(data / f"{pid}_{phase}.nii.gz", dtype="float32")
            truth = np.asarray(io.read_image(data / f"{pid}_{phase}_gt.nii.gz").array)
            ks = list(meta["phases"][phase]["endo_slices"])
            t0 = time.time()
            a = np.asarray(seg.segment(image, rv_model, threads=2).array)
            secs = time.time() - t0
            b = np.asarray(seg.segment(image, lv_model, threads=2).array)
            sp = np.asarray(image.spacing)
            vox_ml = float(np.prod(sp)) / 1000.0
            e: dict = {"seconds_rv_model": round(secs, 2)}
            structs = [("lv_blood_pool", 1)] + ([("lv_myocardium", 2)] if phase == "ED" else [])
            for name, v in structs:
                g = truth[:, :, ks] == v
                e[name] = dict(dice_rv_model=round(dice(a[:, :, ks] == v, g), 4),
                               dice_default_model=round(dice(b[:, :, ks] == v, g), 4),
                               volume_rv_model_ml=round(float((a[:, :, ks] == v).sum()) * vox_ml, 1),
                               volume_default_model_ml=round(float((b[:, :, ks] == v).sum()) * vox_ml, 1),
                               volume_expert_ml=round(float(g.sum()) * vox_ml, 1))
            rv = a == 3
            mid = ks[len(ks) // 4: len(ks) - len(ks) // 4]
            per_slice = {}
            for k in range(a.shape[2]):
                area = float(rv[:, :, k].sum()) * sp[0] * sp[1] / 100.0
                touch = bool((_dilate2d(a[:, :, k] == 2, 2) & rv[:, :, k]).any())
                per_slice[int(k)] = dict(rv_area_cm2=round(area, 1), touches_lv_myocardium=touch)
            aff = np.asarray(image.affine)

            def centroid(m):
                idx = np.argwhere(m).mean(0)
                return aff[:3, :3] @ idx + aff[:3, 3]

            lvm = np.zeros_like(rv)
            lvm[:, :, ks] = a[:, :, ks] == 1
            rvm = np.zeros_like(rv)
            rvm[:, :, ks] = rv[:, :, ks]
            rv_info = dict(
                volume_ml=round(float(rv.sum()) * vox_ml, 1),
                volume_on_contoured_slices_ml=round(float(rvm.sum()) * vox_ml, 1),
                found_on_contoured_slices=f"{sum(rv[:, :, k].any() for k in ks)}/{len(ks)}",
                found_on_mid_slices=f"{sum(rv[:, :, k].any() for k in mid)}/{len(mid)}",
                mid_slices=mid,
                touches_lv_myocardium_on_mid_slices=f"{sum(per_slice[k]['touches_lv_myocardium'] for k in mid)}/{len(mid)}",
                fraction_on_expert_lv_labels=round(float((rv & (truth > 0)).sum()) / max(1, int(rv.sum())), 4),
                per_slice=per_slice,
            )
            if rvm.any() and lvm.any():
                d = centroid(rvm) - centroid(lvm)
                rv_info["lv_to_rv_ras_mm"] = [round(float(x), 1) for x in d]
                rv_info["lv_to_rv_unit_ras"] = [round(float(x), 3) for x in d / np.linalg.norm(d)]
            e["rv_blood_pool"] = rv_info
            res["cases"][f"{pid}_{phase}"] = e
            print(json.dumps({f"{pid}_{phase}": {k: v for k, v in e.items() if k != "rv_blood_pool"}
                              | {"rv": {k: v for k, v in rv_info.items() if k != "per_slice"}}}), flush=True)
            if png_dir is not None:
                png_dir.mkdir(parents=True, exist_ok=True)
                seg.overlay_png(image, seg.segment(image, rv_model, threads=2), png_dir / f"{pid}_{phase}_rv.png")
        edv = res["cases"][f"{pid}_ED"]["rv_blood_pool"]["volume_ml"]
        esv = res["cases"][f"{pid}_ES"]["rv_blood_pool"]["volume_ml"]
        res["cases"][f"{pid}_ED"]["rv_ejection_fraction_implied"] = round((edv - esv) / edv, 3) if edv else None
    return res


# ----------------------------------------------------------------------------- training


def train(cases: list[dict], args, seed: int, iters: int, log_prefix: str = "",
          synthetic: list[dict] | None = None) -> nn.Module:
    """Train on the cases' contoured slices; with ``synthetic`` (``--rv``) a fraction
    ``args.synthetic_frac`` of every batch comes from the synthetic slices instead."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if args.n_classes == 4:
        cases = [mark_rv_zone(c, args.rv_max_dist) for c in cases]
    slices = [dict(c, k=k) for c in cases for k in c["slices"]]
    model = UNet2D(args.n_classes, tuple(args.widths))
    if args.init_from is not None:  # fine-tune: start from a trained model (e.g. the 3-class default)
        src = torch.jit.load(str(args.init_from / "model.pt"), map_location="cpu").state_dict()
        own = model.state_dict()
        for name, w in src.items():
            if own[name].shape == w.shape:
                own[name] = w.clone()
            else:  # the head: copy the channels both have, keep the new channel's initialisation
                n = w.shape[0]
                own[name][:n] = w
        model.load_state_dict(own)
    n_syn = int(round(args.batch * args.synthetic_frac)) if synthetic else 0
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=iters,
                                                pct_start=0.1)
    t0 = time.time()
    model.train()
    for it in range(iters):
        x, y, kind = sample_batch(slices, args.batch - n_syn, args.patch, args.spacing, rng)
        if n_syn:
            xs, ys, ks = sample_batch(synthetic, n_syn, args.patch, args.spacing, rng)
            x, y, kind = torch.cat([x, xs]), torch.cat([y, ys]), torch.cat([kind, ks])
        if args.n_classes == 4:
            loss = loss_fn_rv(model(x), y, kind)
        else:
            loss = loss_fn(model(x), y, kind == 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if it % 25 == 0 or it == iters - 1:
            print(f"{log_prefix}iter {it:5d} loss {loss.item():.4f} {time.time() - t0:7.1f}s",
                  file=sys.stderr, flush=True)
    model.eval()
    return model


def export(model: nn.Module, out: Path, args, train_seconds: float):
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    scripted = torch.jit.script(model)
    scripted.save(str(out / "model.pt"))
    meta = {
        "format_version": 1,
        "name": "sunnybrook_lv",
        "description": "2-D U-Net for short-axis cine MRI: LV blood pool and LV myocardium. Trained on "
        "three Sunnybrook Cardiac Data cases (CC0 1.0; Radau et al., MIDAS Journal 2009) by "
        "scripts/train_segmentation.py.",
        "framework": "torchscript",
        "dimensions": 2,
        "input_channels": 1,
        "labels": {"background": 0, "lv_blood_pool": 1, "lv_myocardium": 2},
        "output_channels": ["background", "lv_blood_pool", "lv_myocardium"],
        "slice_axis": "largest_spacing",
        "spacing_mm": [args.spacing, args.spacing],
        "patch_size": [args.patch, args.patch],
        "normalisation": {"method": "percentile_zscore", "percentiles": [0.5, 99.5]},
        # smaller results are hallucinations on images without a heart (removed with a warning)
        "min_volume_ml": {"lv_blood_pool": 10.0, "lv_myocardium": 15.0},
        # postprocessing keeps the blood-pool component walled by myocardium (see segment.hpp)
        "enclosed_by": {"lv_blood_pool": "lv_myocardium"},
        "training": {
            "seed": args.seed,
            "iterations": args.iters,
            "batch": args.batch,
            "widths": list(args.widths),
            "seconds": round(train_seconds, 1),
            "threads": args.threads,
            "torch": torch.__version__,
            "lr": args.lr,
            "init_from": args.init_from.name if args.init_from is not None else None,
            "patients": PATIENTS,
        },
    }
    if args.n_classes == 4:
        meta["name"] = "sunnybrook_lv_rv"
        meta["description"] = (
            "2-D U-Net for short-axis cine MRI: LV blood pool, LV myocardium and RV blood pool. LV classes "
            "trained on three Sunnybrook Cardiac Data cases (CC0 1.0; Radau et al., MIDAS Journal 2009); "
            "the RV class only on images synthesised from one whole-heart CT label map (HeartDeformNets, "
            "Kong & Shadden, IEEE TMI 2023) by scripts/synthesise_sax.py. The RV is not validated on real "
            "images (no RV labels); see eval.json and docs/segmentation.md.")
        meta["labels"]["rv_blood_pool"] = 3
        meta["output_channels"].append("rv_blood_pool")
        meta["min_volume_ml"]["rv_blood_pool"] = 10.0
        meta["training"].update(synthetic_slices=args.synthetic, rv_max_dist_mm=args.rv_max_dist, synthetic_fraction=args.synthetic_frac,
                                synthetic_seed=args.synthetic_seed,
                                labelmap="heartdeformnets_wh.nii.gz (research/test data, not redistributed)")
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = Path(__file__).resolve().parent.parent
    ap.add_argument("--data", type=Path, default=here.parent / "shared/data/mri/sunnybrook")
    ap.add_argument("--out", type=Path, default=here / "python/cardiotwin/models/sunnybrook_lv")
    ap.add_argument("--iters", type=int, default=1200)
    ap.add_argument("--lopo-iters", type=int, default=1200, help="iterations of each LOPO fold")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--spacing", type=float, default=1.5, help="model in-plane spacing (mm)")
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-lopo", action="store_true")
    ap.add_argument("--skip-final", action="store_true")
    ap.add_argument("--folds", nargs="+", default=None, metavar="PATIENT",
                    help="run only the LOPO folds leaving out these patients (default: all three)")
    ap.add_argument("--lopo-json", type=Path, default=None,
                    help="where to write the LOPO results (default: <out>/lopo.json)")
    ap.add_argument("--export-folds", type=Path, default=None,
                    help="also export each LOPO fold's model into this folder (for C++ checks)")
    ap.add_argument("--rv", action="store_true",
                    help="4 classes (+ RV blood pool) with synthetic slices from the whole-heart label map "
                    "(scripts/synthesise_sax.py); default --out models/sunnybrook_lv_rv")
    ap.add_argument("--labelmap", type=Path, default=here.parent / "shared/data/labelmaps/heartdeformnets_wh.nii.gz")
    ap.add_argument("--synthetic", type=int, default=600, help="number of synthetic training slices (--rv)")
    ap.add_argument("--synthetic-frac", type=float, default=0.5, help="fraction of each batch (--rv)")
    ap.add_argument("--synthetic-seed", type=int, default=7)
    ap.add_argument("--rv-max-dist", type=float, default=50.0,
                    help="on real slices, unlabelled pixels farther than this (mm) from the LV labels are "
                    "background, nearer ones 'background or RV' (--rv)")
    ap.add_argument("--synthetic-cache", type=Path, default=None,
                    help="npz file: reuse the synthetic training slices if it exists, else write it")
    ap.add_argument("--init-from", type=Path, default=None, metavar="MODEL_DIR",
                    help="initialise from a trained model (missing output channels stay random)")
    ap.add_argument("--synthetic-test", type=int, default=200,
                    help="held-out synthetic slices (another seed) for the 4-class Dice (--rv)")
    ap.add_argument("--evaluate-real", type=Path, default=None, metavar="MODEL_DIR",
                    help="only evaluate a 4-class model on the Sunnybrook stacks with the C++ inference "
                    "(needs cardiotwin built with libtorch); writes MODEL_DIR/eval_real.json")
    ap.add_argument("--png-dir", type=Path, default=None, help="overlay PNGs of --evaluate-real")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.evaluate_real is not None:
        res = evaluate_real_rv(args.evaluate_real, args.data, args.png_dir)
        (args.evaluate_real / "eval_real.json").write_text(json.dumps(res, indent=2) + "\n")
        return 0
    args.n_classes = 4 if args.rv else 3
    if args.rv and args.out == here / "python/cardiotwin/models/sunnybrook_lv":
        args.out = here / "python/cardiotwin/models/sunnybrook_lv_rv"

    cases = {pid: load_patient(args.data, pid) for pid in PATIENTS}
    synthetic = None
    if args.rv:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from synthesise_sax import SAXSynthesiser

        t0 = time.time()
        syn = SAXSynthesiser(args.labelmap, size=128, spacing=args.spacing)
        if args.synthetic_cache is not None and args.synthetic_cache.exists():
            z = np.load(args.synthetic_cache)
            ims, tgs = z["images"], z["targets"]
            assert ims.shape[2] == args.synthetic, "cache has another number of slices"
        else:
            ims, tgs = syn.bank(args.synthetic, args.synthetic_seed)
            if args.synthetic_cache is not None:
                np.savez_compressed(args.synthetic_cache, images=ims, targets=tgs)
        sp = np.array([args.spacing, args.spacing, 1.0])
        synthetic = [dict(pid="synthetic", phase="", image=ims, label=tgs, spacing=sp, partial=False, kind=2, k=k)
                     for k in range(ims.shape[2])]
        print(f"{len(synthetic)} synthetic slices in {time.time() - t0:.1f}s", file=sys.stderr, flush=True)
    if not args.skip_final:
        allc = [c for p in PATIENTS for c in cases[p]]
        t0 = time.time()
        model = train(allc, args, args.seed, args.iters, log_prefix="[final] ", synthetic=synthetic)
        export(model, args.out, args, time.time() - t0)
        print(json.dumps({"exported": str(args.out)}), flush=True)
        if args.rv:
            res = evaluate_synthetic(model, syn, args)
            (args.out / "eval_synthetic.json").write_text(json.dumps(res, indent=2) + "\n")
            print(json.dumps({"synthetic_test": res}), flush=True)
    if not args.skip_lopo:
        lopo = {"iterations": args.lopo_iters, "protocol": "leave-one-patient-out, contoured slices only; Dice and volume on the "
                "left-out patient (ED: blood pool + myocardium, ES: blood pool)", "folds": {}}
        for i, held in enumerate(PATIENTS):
            if args.folds is not None and held not in args.folds:
                continue
            tr = [c for p in PATIENTS if p != held for c in cases[p]]
            t0 = time.time()
            model = train(tr, args, args.seed + 1 + i, args.lopo_iters, log_prefix=f"[fold {held}] ",
                          synthetic=synthetic)
            secs = time.time() - t0
            res = evaluate(model, cases[held], args)
            lopo["folds"][held] = dict(train_seconds=round(secs, 1), results=res)
            print(json.dumps({held: res}), flush=True)
            if args.export_folds is not None:
                export(model, args.export_folds / f"fold_{held}", args, secs)
        summary = {}
        for name in ("lv_blood_pool", "lv_myocardium"):
            ds = [e[name]["dice"] for f in lopo["folds"].values() for e in f["results"].values() if name in e]
            ve = [abs(e[name]["volume_error_ml"]) for f in lopo["folds"].values()
                  for e in f["results"].values() if name in e]
            summary[name] = dict(mean_dice=round(float(np.mean(ds)), 4), min_dice=round(float(np.min(ds)), 4),
                                 mean_abs_volume_error_ml=round(float(np.mean(ve)), 1))
        lopo["summary"] = summary
        print(json.dumps({"summary": summary}), flush=True)
        dest = args.lopo_json or args.out / "lopo.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(lopo, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
