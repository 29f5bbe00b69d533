"""What the mask reader's photograph check and Inspect's ARI/VOI words rest on.

``imageio._binarise`` refuses a "mask" with more than ``MASK_MIDDLE_MAX`` (half) of
its pixels in the middle half of its grey range: a photograph. This prints that share
for the photographs and labels of ../shared/data, for each label saved as a JPEG
(quality 95 and 10: ringing at every edge) and blurred (σ = 2 px), and whether
``read_mask`` reads or refuses each kind. Then how many labels leave one background
region, where ARI and VOI cannot see a missed or broken structure
(``ui.words.region_blind_words``).

    python bench/bench_mask_check.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topoviz.imageio import MASK_MIDDLE_MAX, ImageError, read_mask  # noqa: E402
from topoviz.metrics import regions  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def middle(values: np.ndarray) -> float:
    """The share of pixels in the middle half of the grey range (as _binarise counts)."""
    v = values.astype(np.float64)
    unit = (v - v.min()) / max(v.max() - v.min(), 1e-12)
    return float(((unit > 0.25) & (unit < 0.75)).mean())


def encoded(values: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values).save(buf, **save)
    return buf.getvalue()


def kinds(label: np.ndarray, photo: np.ndarray) -> dict[str, bytes]:
    """The files a user might give as a mask, from one label and its photograph."""
    soft = ndi.gaussian_filter(label.astype(np.float64), 2.0).round().astype(np.uint8)
    return {
        "photograph": encoded(photo, format="PNG"),
        "label (PNG)": encoded(label, format="PNG"),
        "label as JPEG, quality 95": encoded(label, format="JPEG", quality=95),
        "label as JPEG, quality 10": encoded(label, format="JPEG", quality=10),
        "label blurred, σ = 2 px": encoded(soft, format="PNG"),
    }


def main() -> None:
    print(f"refused when more than {MASK_MIDDLE_MAX:.0%} of the pixels are mid-grey")
    print()
    print("| data | kind | files | mid-grey share (min–max) | read | refused |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ("isbi12", "crackforest"):
        labels = sorted((DATA / name / "labels").iterdir())
        rows: dict[str, list[tuple[float, bool]]] = {}
        for path in labels:
            label = np.asarray(Image.open(path).convert("L"))
            photo = np.asarray(Image.open(DATA / name / "images" / path.name).convert("L"))
            for kind, data in kinds(label, photo).items():
                values = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
                try:
                    read_mask(data)
                    ok = True
                except ImageError:
                    ok = False
                rows.setdefault(kind, []).append((middle(values), ok))
        for kind, got in rows.items():
            shares = [m for m, _ in got]
            n_ok = sum(ok for _, ok in got)
            print(
                f"| {name} | {kind} | {len(got)} | {min(shares):.1%}–{max(shares):.1%} "
                f"| {n_ok} | {len(got) - n_ok} |"
            )
    print()
    for name in ("isbi12", "crackforest"):
        labels = sorted((DATA / name / "labels").iterdir())
        one = 0
        for path in labels:
            r = regions(read_mask(path.read_bytes()).mask)
            one += len(np.unique(r[r > 0])) <= 1
        print(f"{name}: {one} of {len(labels)} labels leave at most one background region")


if __name__ == "__main__":
    main()
