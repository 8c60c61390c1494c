"""From a cardiac MRI and its label map to a tetrahedral mesh of the LV myocardium.

Reads the bundled Sunnybrook short-axis MRI (end-diastole) and its expert labels
(1 LV blood pool, 2 LV myocardium), then writes to the output folder:
  mid_slice.png   the mid-ventricular slice with the label contours overlaid
  lv_myo.vtu      a tet mesh of the myocardium in world mm (open it in ParaView)
  summary.json    what is printed at the end

The mesh is built straight from the voxels: each label-2 voxel is a hexahedron split into
6 tetrahedra, so its volume must equal the label volume (112.2 mL for this case).

Sample run:
  $ python examples/python/mri_to_mesh.py out
  image (256, 256, 12) voxels of [ 1.3672  1.3672 10.    ] mm, origin [-236.59   37.69  108.93] mm
  ...
  "mesh": {"points": 10710, "tets": 36018, "ok": true, "inverted": 0, "volume_ml": 112.2079, ...},
  "label_volume_ml": 112.2079, "reference_volume_ml": 112.2079
"""

import argparse
import json
from pathlib import Path

import cardiotwin
import numpy as np
from cardiotwin import io
from matplotlib.figure import Figure  # draws to files without a window or pyplot state

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "sunnybrook"
MYOCARDIUM = 2

# The 6 tets of a voxel, as corners c = x + 2y + 4z of the unit cube. Each walks from corner 0
# to corner 7 along the edges in one of the 6 axis orders; all have positive volume.
CUBE_TETS = np.array([[0, 1, 3, 7], [0, 1, 7, 5], [0, 2, 7, 3],
                      [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 7, 6]])
CUBE_CORNERS = np.array([[c & 1, c >> 1 & 1, c >> 2 & 1] for c in range(8)])


def voxels_to_tets(labels, value):
    """Tet mesh (world mm) of the voxels equal to `value`; corner points shared between voxels."""
    ijk = np.argwhere(labels.array == value)                      # (V, 3) voxel indices
    corners = ijk[:, None, :] + CUBE_CORNERS[None, :, :]          # (V, 8, 3) corner indices
    nx, ny, _ = np.array(labels.shape) + 1                        # corner lattice size
    corner_id = corners[..., 0] + nx * (corners[..., 1] + ny * corners[..., 2])
    unique_ids, point_of_corner = np.unique(corner_id, return_inverse=True)
    point_of_corner = point_of_corner.reshape(-1, 8)
    tets = point_of_corner[:, CUBE_TETS].reshape(-1, 4)
    # Corner (i, j, k) of voxel (i, j, k) lies half a voxel before its centre.
    lattice = np.column_stack([unique_ids % nx, unique_ids // nx % ny, unique_ids // (nx * ny)])
    affine = labels.affine
    points = (lattice - 0.5) @ affine[:3, :3].T + affine[:3, 3]
    if np.linalg.det(affine[:3, :3]) < 0:  # a left-handed voxel grid mirrors every tet
        tets[:, [2, 3]] = tets[:, [3, 2]]
    mesh = cardiotwin.TetMesh(points=points, tets=tets.astype(np.int32),
                              region=np.full(len(tets), value, dtype=np.int32))
    mesh.cell_data["slice"] = np.repeat(ijk[:, 2], 6).astype(float)  # k of the source voxel
    return mesh


def save_overlay(image, labels, k, path):
    """The slice k as a DICOM viewer shows it (rows down), with the label boundaries."""
    fig = Figure(figsize=(6, 6))
    ax = fig.subplots()
    ax.imshow(image.array[:, :, k].T, cmap="gray")
    lab = labels.array[:, :, k].T
    ax.contour(lab >= 1, levels=[0.5], colors="yellow", linewidths=1)   # epicardium
    ax.contour(lab == 1, levels=[0.5], colors="red", linewidths=1)      # endocardium
    ax.set_title(f"SCD0000101 ED, slice k = {k}: endocardium (red), epicardium (yellow)")
    ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", default="out", help="output folder (default ./out)")
    parser.add_argument("--out", dest="out_option", help="output folder (same as the argument)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the Sunnybrook files")
    args = parser.parse_args()
    out = Path(args.out_option or args.out)
    out.mkdir(parents=True, exist_ok=True)

    image = io.read_image(args.data / "SCD0000101_ED.nii.gz")
    labels = io.read_image(args.data / "SCD0000101_ED_gt.nii.gz")  # uint8 -> LabelMap
    meta = json.loads((args.data / "SCD0000101.json").read_text())
    print(f"image {image.shape} voxels of {np.round(image.spacing, 4)} mm, "
          f"origin {np.round(image.origin, 2)} mm")
    print("voxel-to-world affine (RAS+, mm):\n" + np.array2string(image.affine, precision=4))

    # Mid-ventricular slice: the middle of the slices that have myocardium.
    slices = np.flatnonzero((labels.array == MYOCARDIUM).any(axis=(0, 1)))
    k = int(slices[len(slices) // 2])
    save_overlay(image, labels, k, out / "mid_slice.png")

    mesh = voxels_to_tets(labels, MYOCARDIUM)
    check = mesh.check()
    io.write_mesh(out / "lv_myo.vtu", mesh)

    voxel_ml = abs(np.linalg.det(labels.affine[:3, :3])) / 1000.0
    label_ml = int((labels.array == MYOCARDIUM).sum()) * voxel_ml
    mesh_ml = check.total_measure / 1000.0
    summary = {
        "image": {"shape": list(image.shape), "spacing_mm": np.round(image.spacing, 4).tolist(),
                  "value_range": [float(image.array.min()), float(image.array.max())]},
        "mid_slice": {"k": k, "png": str(out / "mid_slice.png")},
        "mesh": {"points": mesh.num_points, "tets": mesh.num_tets, "ok": check.ok,
                 "inverted": check.inverted, "volume_ml": round(mesh_ml, 4),
                 "file": str(out / "lv_myo.vtu")},
        "label_volume_ml": round(label_ml, 4),
        "reference_volume_ml": meta["phases"]["ED"]["lv_myo_ml"],
    }
    text = json.dumps(summary, indent=2)
    (out / "summary.json").write_text(text + "\n")
    print(text)
    # The mesh fills the labelled voxels exactly, so the volumes agree to rounding.
    assert check.ok, check.to_dict()
    assert abs(mesh_ml - label_ml) < 1e-6 * label_ml
    assert abs(mesh_ml - summary["reference_volume_ml"]) < 0.01


if __name__ == "__main__":
    main()
