"""What the pages let a user download as tables (CSV)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath

import pandas as pd

from topoviz.data import IMAGE_SUFFIXES

#: The leading columns of Inspect's metrics CSV; the metric columns follow, named as in
#: ``topoviz.metrics.evaluate_all`` (plus ``injected`` for the calibration rows).
INSPECT_COLUMNS = (
    "image",
    "segmentation",
    "frame",
    "structure",
    "betti_patches",
    "betti_seed",
    "beta0_gt",
    "beta1_gt",
    "beta0",
    "beta1",
)


def inspect_metrics(
    image: str,
    source: str,
    frame: bool,
    structure: str,
    betti: tuple[int, int],
    betti_gt: tuple[int, int],
    scores: Mapping[str, float],
    references: Mapping[str, Mapping[str, float]],
    betti_protocol: tuple[int, int],
) -> pd.DataFrame:
    """Inspect's metrics table: the segmentation ``f >= 0.5`` first, then the
    calibration rows made from the ground truth alone (``references``).

    ``betti`` (β0, β1 of the segmentation) fills ``beta0`` / ``beta1`` of the first
    row only; the calibration rows leave them empty. ``betti_protocol``: the Betti
    error's ``(n_patches, seed)``, on every row.
    """
    rows = []
    for i, (name, r) in enumerate({f"f >= 0.5 ({source})": scores, **references}.items()):
        row = {
            "image": cell(image),
            "segmentation": cell(name),
            "frame": frame,
            "structure": structure,
            "betti_patches": betti_protocol[0],
            "betti_seed": betti_protocol[1],
            "beta0_gt": betti_gt[0],
            "beta1_gt": betti_gt[1],
            "beta0": betti[0] if i == 0 else None,
            "beta1": betti[1] if i == 0 else None,
        }
        rows.append(row | dict(r))
    return pd.DataFrame(rows)


def cell(text: str) -> str:
    """``text`` for a CSV cell a spreadsheet will not run: a leading ``=``, ``+``,
    ``-``, ``@``, tab or carriage return (a file named "=HYPERLINK(...).png" is a
    formula to Excel and LibreOffice) gets a ``'`` before it.

    >>> cell("=HYPERLINK(1).png"), cell("cells.png")
    ("'=HYPERLINK(1).png", 'cells.png')
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def download_name(image: str, what: str) -> str:
    """The file name of a download about ``image``: its name without the extension of
    an image file, then ``_what`` ("em.png_metrics.csv" read as a PNG's name).

    >>> download_name("em_scan.png", "metrics.csv"), download_name("membranes_0", "errors.png")
    ('em_scan_metrics.csv', 'membranes_0_errors.png')
    >>> download_name("a.b.tiff", "likelihood.png")
    'a.b_likelihood.png'
    """
    path = PurePath(image)
    stem = path.stem if path.suffix.lower() in IMAGE_SUFFIXES else path.name
    return f"{stem}_{what}"
