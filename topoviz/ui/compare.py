"""Inspect's second opinion: the same image through another shipped checkpoint.

Pure helpers (no Streamlit): which checkpoint to offer first, and the table of both
nets' numbers side by side. The page draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

#: The rows of the comparison, in the words the page uses: what the loss is for
#: first, then what it costs, then the pixel and partition scores.
ROWS = {
    "merges": "False merges",
    "splits": "False splits",
    "missed": "Missed regions",
    "pinholes": "Pinholes ≥ 25 px",
    "fragments": "Fragments ≥ 25 px",
    "betti_error": "Betti error (65², dim 1)",
    "ari": "ARI",
    "voi": "VOI",
    "accuracy": "Accuracy",
}

_ORDER = {"bce": 0, "paper": 1, "betti": 2}  # control, paper's rule, Betti matching


def _kind(entry: Mapping) -> int:
    return 0 if entry.get("loss") == "bce" else _ORDER.get(entry.get("rule", "paper"), 3)


def partners(entries: Sequence[Mapping], name: str | None) -> list[str]:
    """The other nets of ``name``'s pair (its λ = 0 control and TopoLoss twins: same
    base, batches and steps), control first, then the paper's rule, then Betti
    matching; empty when ``name`` is not a shipped checkpoint.

    Examples
    --------
    >>> es = [{"name": "a-bce", "pair": "a", "loss": "bce"},
    ...       {"name": "a-betti", "pair": "a", "loss": "bce+topo", "rule": "betti"},
    ...       {"name": "a-topo", "pair": "a", "loss": "bce+topo", "rule": "paper"},
    ...       {"name": "b-bce", "pair": "b", "loss": "bce"}]
    >>> partners(es, "a-bce"), partners(es, "a-betti"), partners(es, "nope")
    (['a-topo', 'a-betti'], ['a-bce', 'a-topo'], [])
    """
    mine = next((e for e in entries if e.get("name") == name), None)
    if mine is None or not mine.get("pair"):
        return []
    same = [e for e in entries if e.get("pair") == mine["pair"] and e["name"] != name]
    return [e["name"] for e in sorted(same, key=_kind)]


def comparison_table(
    first: Mapping[str, float], second: Mapping[str, float], names: tuple[str, str]
) -> pd.DataFrame:
    """Both nets' numbers (``topoviz.metrics.evaluate_all`` dicts) row by row, and the
    change from the first to the second.

    Examples
    --------
    >>> a = {k: 1.0 for k in ROWS}; b = {**a, "merges": 4.0}
    >>> t = comparison_table({**a, "merges": 6.0}, b, ("bce", "topo"))
    >>> t.iloc[0]["measure"], [float(v) for v in t.iloc[0][["bce", "topo", "change"]]]
    ('False merges', [6.0, 4.0, -2.0])
    >>> float(comparison_table({**a, "ari": 0.83}, {**a, "ari": 1.0}, ("x", "y")).iloc[6]["change"])
    0.17
    """
    table = pd.DataFrame(
        {
            "measure": list(ROWS.values()),
            names[0]: [float(first[k]) for k in ROWS],
            names[1]: [float(second[k]) for k in ROWS],
        }
    )
    table["change"] = table[names[1]] - table[names[0]]
    # 0.17000000000000004 (float noise) read as a real digit: round; + 0.0 turns the
    # -0.0 of rounding into 0.0
    numbers = table.columns[1:]
    table[numbers] = table[numbers].round(6) + 0.0
    return table


def held_out_line(first: Mapping, second: Mapping) -> str | None:
    """Both nets' totals over their fold's held-out images, from their manifest
    entries, in one sentence; None unless both were measured on the same images.

    Examples
    --------
    >>> a = {"name": "a-bce", "held_out": ["00", "09"], "metrics": {"n_images": 10,
    ...      "total": {"merges": 89, "splits": 8, "pinholes": 20}}}
    >>> b = {**a, "name": "a-topo",
    ...      "metrics": {"n_images": 10, "total": {"merges": 67, "splits": 12, "pinholes": 26}}}
    >>> print(held_out_line(a, b))
    Over the 10 held-out images of this fold (00–09), a-bce → a-topo: false merges
    89 → 67, false splits 8 → 12, pinholes 20 → 26.
    >>> held_out_line(a, {"name": "other"}) is None
    True
    """
    ma, mb = first.get("metrics") or {}, second.get("metrics") or {}
    ta, tb = ma.get("total") or {}, mb.get("total") or {}
    held = first.get("held_out")
    if not held or held != second.get("held_out") or ma.get("n_images") != mb.get("n_images"):
        return None
    parts = [
        f"{words} {ta[k]:.0f} → {tb[k]:.0f}"
        for k, words in (("merges", "false merges"), ("splits", "false splits"),
                         ("pinholes", "pinholes"))
        if k in ta and k in tb
    ]  # fmt: skip
    if not parts:
        return None
    return (
        f"Over the {ma.get('n_images')} held-out images of this fold ({held[0]}–{held[-1]}), "
        f"{first['name']} → {second['name']}: " + ", ".join(parts) + "."
    )
