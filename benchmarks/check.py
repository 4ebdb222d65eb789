"""CI accuracy check: compare a results directory's metrics.csv with a committed baseline.

A baseline file is JSON (or TOML with the same keys)::

    {
      "description": "what run this is a baseline of",
      "tolerance": {"abs": 0.0, "rel": 0.10},              default for every metric
      "tolerances": {"energy_mae": {"abs": 0.002}},        per metric name (merged over the default)
      "metrics": [
        {"model": "zero", "dataset": "tiny", "split": "test", "selection": "early",
         "subset": "all", "metric": "force_mae", "value": 0.4123,
         "abs": 0.01, "rel": 0.05, "direction": "lower"}   abs/rel/direction optional per row
      ]
    }

A row passes when its metric is not worse than ``value`` by more than ``abs + rel * |value|``
(numpy.isclose's rule), in its direction: the metric's ``better`` in the metric registry
(benchmarks.metrics.METRICS: ``lower`` for errors, ``higher`` for similarities), or the row's own
``direction`` (``lower``, ``higher`` or ``both``). Improvements never fail. A baseline row with
no matching result row, or a result of NaN/empty where the baseline has a number, fails.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from adapt.fileio import write_json
from benchmarks.metrics import METRICS
from benchmarks.results import METRICS_COLUMNS, read_table

KEY = ("model", "dataset", "split", "selection", "subset", "metric")
DEFAULT_TOLERANCE = {"abs": 1e-6, "rel": 0.10}


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Comparison:
    key: tuple[str, ...]
    baseline: float
    value: float | None  # None: no such row in the results, or an empty value
    allowed: float  # the largest tolerated worsening (same unit as the metric)
    direction: str
    ok: bool

    @property
    def change(self) -> float | None:
        return None if self.value is None else self.value - self.baseline


def load_baseline(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise BaselineError(f"{path}: no such baseline file (make one with --update)")
    text = path.read_text()
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        raise BaselineError(f"{path}: expected a table with a 'metrics' list")
    for i, row in enumerate(data["metrics"]):
        missing = [k for k in (*KEY, "value") if k not in row]
        if missing:
            raise BaselineError(f"{path}: metrics[{i}]: missing {', '.join(missing)}")
        if row.get("direction", "lower") not in ("lower", "higher", "both"):
            raise BaselineError(f"{path}: metrics[{i}].direction: use lower, higher or both")
        if "direction" not in row and row["metric"] not in METRICS:
            raise BaselineError(
                f"{path}: metrics[{i}]: unknown metric {row['metric']!r} (not in "
                "benchmarks.metrics.METRICS); give its direction"
            )
    return data


def _tolerance(baseline: dict, row: dict) -> tuple[float, float]:
    tol = dict(DEFAULT_TOLERANCE) | baseline.get("tolerance", {})
    tol |= baseline.get("tolerances", {}).get(row["metric"], {})
    tol |= {k: row[k] for k in ("abs", "rel") if k in row}
    return float(tol.get("abs", 0.0)), float(tol.get("rel", 0.0))


def _results_table(results_dir: Path) -> dict[tuple[str, ...], float | None]:
    path = Path(results_dir) / "metrics.csv"
    if not path.is_file():
        raise BaselineError(f"{path}: missing (is {results_dir} a results directory?)")
    frame, _ = read_table(path, METRICS_COLUMNS)
    values = pd.to_numeric(frame["value"], errors="coerce")
    return {
        tuple(str(row[k]) for k in KEY): None if pd.isna(v) else float(v)
        for row, v in zip(frame.to_dict("records"), values, strict=True)
    }


def compare(results_dir: str | Path, baseline_file: str | Path) -> list[Comparison]:
    """One Comparison per baseline row (in the baseline's order)."""
    baseline = load_baseline(baseline_file)
    results = _results_table(Path(results_dir))
    out = []
    for row in baseline["metrics"]:
        key = tuple(str(row[k]) for k in KEY)
        base = row["value"]
        if base is None:  # nothing to compare against
            continue
        base = float(base)
        abs_tol, rel_tol = _tolerance(baseline, row)
        allowed = abs_tol + rel_tol * abs(base)
        direction = row.get("direction") or METRICS[row["metric"]].better
        value = results.get(key)
        if value is None or not math.isfinite(value):
            ok = False
        elif direction == "lower":
            ok = value <= base + allowed
        elif direction == "higher":
            ok = value >= base - allowed
        else:
            ok = abs(value - base) <= allowed
        out.append(Comparison(key, base, value, allowed, direction, ok))
    return out


def format_table(comparisons: list[Comparison]) -> str:
    """A plain-text table of comparisons."""
    header = [*KEY, "baseline", "value", "change", "allowed", "direction"]
    body = [
        [
            *c.key,
            f"{c.baseline:.6g}",
            "missing" if c.value is None else f"{c.value:.6g}",
            "" if c.change is None else f"{c.change:+.3g}",
            f"{c.allowed:.3g}",
            c.direction,
        ]
        for c in comparisons
    ]
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)) for r in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def check(results_dir: str | Path, baseline_file: str | Path) -> tuple[bool, str]:
    """(ok, text): ok when no baseline metric regressed beyond its tolerance; text is the
    table of regressions (or a one-line summary when there are none)."""
    comparisons = compare(results_dir, baseline_file)
    bad = [c for c in comparisons if not c.ok]
    if not bad:
        return True, f"{len(comparisons)} metrics within tolerance of {baseline_file}"
    head = f"{len(bad)} of {len(comparisons)} metrics regressed beyond tolerance ({baseline_file}):"
    return False, head + "\n" + format_table(bad)


def update_baseline(
    results_dir: str | Path,
    baseline_file: str | Path,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
) -> int:
    """Write a baseline from a run's metrics.csv. A new file gets every row with a number; an
    existing file keeps its rows (their values refreshed, their own abs/rel/direction kept),
    its description and tolerances unless new ones are given. Returns the row count."""
    baseline_file = Path(baseline_file)
    old: dict = {}
    if baseline_file.is_file():
        try:
            old = load_baseline(baseline_file)
        except BaselineError:
            old = {}
    tolerance = dict(old.get("tolerance", DEFAULT_TOLERANCE))
    if abs_tol is not None:
        tolerance["abs"] = abs_tol
    if rel_tol is not None:
        tolerance["rel"] = rel_tol
    table = _results_table(Path(results_dir))
    if old:
        rows = []
        for row in old["metrics"]:
            value = table.get(tuple(str(row[k]) for k in KEY))
            if value is not None and math.isfinite(value):
                rows.append(row | {"value": value})
    else:
        rows = [
            dict(zip(KEY, key, strict=True)) | {"value": value}
            for key, value in table.items()
            if value is not None and math.isfinite(value)
        ]
    data = {
        "description": old.get("description", f"baseline made from {results_dir}"),
        "tolerance": tolerance,
        "tolerances": old.get("tolerances", {}),
        "metrics": rows,
    }
    if baseline_file.suffix == ".toml":
        from adapt.fileio import write_text_atomic

        write_text_atomic(baseline_file, _to_toml(data))
    else:
        write_json(baseline_file, data)
    return len(rows)


def _to_toml(data: dict) -> str:
    """The baseline's (flat) structure as TOML."""

    def val(v) -> str:
        return json.dumps(v) if isinstance(v, str) else repr(v)

    lines = [f"description = {val(data['description'])}", "", "[tolerance]"]
    lines += [f"{k} = {val(v)}" for k, v in data["tolerance"].items()]
    for metric, tol in data["tolerances"].items():
        lines += ["", f"[tolerances.{metric}]", *(f"{k} = {val(v)}" for k, v in tol.items())]
    for row in data["metrics"]:
        lines += ["", "[[metrics]]", *(f"{k} = {val(v)}" for k, v in row.items())]
    return "\n".join(lines) + "\n"
