"""Inspect's metrics CSV: its columns, and its numbers equal to the page's and the library's."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from topoviz.metrics import betti_error_noise, betti_numbers, evaluate_all
from topoviz.ui.export import INSPECT_COLUMNS, inspect_metrics

ROOT = Path(__file__).resolve().parent.parent


def test_the_metrics_csv_holds_what_inspect_shows_and_the_library_computes(downloads):
    at = AppTest.from_file(str(ROOT / "pages/4_inspect.py"), default_timeout=180)
    at.session_state["sample"] = "membranes_0"
    at.session_state["likelihood"] = "image"  # f from the image itself: no checkpoint needed
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sel = at.session_state["_selection"]
    assert any("CSV" in b.proto.label for b in at.get("download_button"))
    csv = pd.read_csv(io.BytesIO(downloads["membranes_0_metrics.csv"]))

    # columns: who, then β, then every metric of the library, in one header
    # no checkpoint: the tables' 200 patches, seed 0 (provenance.betti_protocol)
    scores = evaluate_all(sel.f, sel.mask, seed=0, structure="membranes", n_patches=200)
    assert (csv["betti_patches"] == 200).all() and (csv["betti_seed"] == 0).all()
    assert tuple(csv.columns[: len(INSPECT_COLUMNS)]) == INSPECT_COLUMNS
    assert set(scores) <= set(csv.columns)
    # rows: this segmentation, then the calibration rows of the expander's table
    table = at.table[0].value
    assert list(csv["segmentation"])[1:] == list(table["segmentation"])[1:]
    assert csv["segmentation"][0] == f"f >= 0.5 ({sel.source})"
    assert (csv["image"] == "membranes_0").all() and (csv["structure"] == "membranes").all()

    # the numbers of the first row: the library's, for this f and mask
    first = csv.iloc[0]
    for key, value in scores.items():
        assert first[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert (first["beta0"], first["beta1"]) == betti_numbers(sel.f >= 0.5, frame=sel.frame)
    gt = betti_numbers(sel.mask, frame=sel.frame)
    assert (csv["beta0_gt"] == gt[0]).all() and (csv["beta1_gt"] == gt[1]).all()
    assert csv["beta0"][1:].isna().all()  # the calibration rows have no segmentation β

    # ... and what the page shows, to its rounding
    shown = {m.label: m.value for m in at.metric}
    noise = betti_error_noise(sel.f, sel.mask, n_patches=200, seed=0)
    assert shown["Betti error"] == f"{first['betti_error']:.3f}"
    below = next(m for m in at.metric if m.label == "Betti error").proto.delta
    assert below == f"± {noise:.3f} (sampling noise)"
    assert shown["ARI"] == f"{first['ari']:.3f}"
    assert shown["VOI"] == f"{first['voi']:.3f}"
    assert shown["Accuracy"] == f"{first['accuracy']:.3f}"
    assert shown["False merges"] == f"{first['merges']:.0f}"
    assert shown["β segmentation (β0, β1)"] == f"({first['beta0']:.0f}, {first['beta1']:.0f})"
    for i, row in csv.iterrows():  # the calibration table, row by row
        assert table["Betti error"][i] == f"{row['betti_error']:.3f}"
        assert table["merges"][i] == f"{row['merges']:.0f}"
        assert table["ARI"][i] == f"{row['ari']:.3f}"


def test_inspect_metrics_puts_the_segmentation_first():
    scores = {"ari": 0.5, "merges": 1.0}
    refs = {"GT shifted 1 px": {"ari": 0.9, "merges": 0.0, "injected": 0}}
    df = inspect_metrics("x", "image", True, "membranes", (3, 4), (1, 5), scores, refs, (200, 7))
    assert list(df.columns) == [*INSPECT_COLUMNS, "ari", "merges", "injected"]
    assert list(df["segmentation"]) == ["f >= 0.5 (image)", "GT shifted 1 px"]
    assert df["beta1"][0] == 4 and np.isnan(df["beta1"][1]) and df["beta1_gt"][1] == 5
    assert df["ari"].tolist() == [0.5, 0.9]
    assert df["betti_seed"].tolist() == [7, 7]  # every row says how its Betti error was drawn


def test_a_file_name_that_is_a_formula_is_not_one_in_the_csv():
    """An upload named '=HYPERLINK(...).png' wrote a formula into the CSV's first cell."""
    from topoviz.ui.export import inspect_metrics

    scores = {"accuracy": 1.0}
    table = inspect_metrics(
        "=HYPERLINK(1).png", "-1+1", True, "membranes", (1, 1), (1, 1), scores, {}, (200, 0)
    )
    assert table["image"][0] == "'=HYPERLINK(1).png"
    assert table["segmentation"][0] == "f >= 0.5 (-1+1)"  # a formula only at the start


def test_the_comparison_with_a_second_checkpoint_downloads_as_shown(downloads):
    """Only the first net's numbers could be downloaded; the comparison was on screen only."""
    at = AppTest.from_file(str(ROOT / "pages/4_inspect.py"), default_timeout=180)
    at.session_state["sample"] = "membranes_0"
    at.session_state["likelihood"] = "checkpoint"
    at.session_state["checkpoint"] = "membranes-unet-bce"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = next(d.value for d in at.dataframe if "change" in d.value.columns)
    name = "membranes_0_membranes-unet-bce_vs_membranes-unet-topo.csv"
    csv = pd.read_csv(io.BytesIO(downloads[name]))
    assert list(csv.columns) == list(shown.columns)
    assert list(csv["measure"]) == list(shown["measure"])
    for column in shown.columns[1:]:
        np.testing.assert_allclose(csv[column], shown[column], rtol=1e-12)
