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
    """Random augmented patches: returns image (B,1,P,P), label (B,P,P), partial (B,) bool."""
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
        partial.append(s["partial"])
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
        prob = predict_volume(model, c["image"], c["spacing"], args.spacing, args.patch, 3,
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


# ----------------------------------------------------------------------------- training


def train(cases: list[dict], args, seed: int, iters: int, log_prefix: str = "") -> nn.Module:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    slices = [dict(c, k=k) for c in cases for k in c["slices"]]
    model = UNet2D(3, tuple(args.widths))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=iters,
                                                pct_start=0.1)
    t0 = time.time()
    model.train()
    for it in range(iters):
        x, y, part = sample_batch(slices, args.batch, args.patch, args.spacing, rng)
        loss = loss_fn(model(x), y, part)
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
            "patients": PATIENTS,
        },
    }
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = Path(__file__).resolve().parent.parent
    ap.add_argument("--data", type=Path, default=here.parent / "shared/data/mri/sunnybrook")
    ap.add_argument("--out", type=Path, default=here / "python/cardiotwin/models/sunnybrook_lv")
    ap.add_argument("--iters", type=int, default=400)
    ap.add_argument("--lopo-iters", type=int, default=400, help="iterations of each LOPO fold")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--spacing", type=float, default=1.5, help="model in-plane spacing (mm)")
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-lopo", action="store_true")
    ap.add_argument("--skip-final", action="store_true")
    ap.add_argument("--lopo-json", type=Path, default=None,
                    help="where to write the LOPO results (default: <out>/lopo.json)")
    ap.add_argument("--export-folds", type=Path, default=None,
                    help="also export each LOPO fold's model into this folder (for C++ checks)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    cases = {pid: load_patient(args.data, pid) for pid in PATIENTS}
    if not args.skip_final:
        allc = [c for p in PATIENTS for c in cases[p]]
        t0 = time.time()
        model = train(allc, args, args.seed, args.iters, log_prefix="[final] ")
        export(model, args.out, args, time.time() - t0)
        print(json.dumps({"exported": str(args.out)}), flush=True)
    if not args.skip_lopo:
        lopo = {"iterations": args.lopo_iters, "protocol": "leave-one-patient-out, contoured slices only; Dice and volume on the "
                "left-out patient (ED: blood pool + myocardium, ES: blood pool)", "folds": {}}
        for i, held in enumerate(PATIENTS):
            tr = [c for p in PATIENTS if p != held for c in cases[p]]
            t0 = time.time()
            model = train(tr, args, args.seed + 1 + i, args.lopo_iters, log_prefix=f"[fold {held}] ")
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
