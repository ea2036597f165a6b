"""Cost of stability: the timings of `make bench` (bench.json), when it has run."""

from __future__ import annotations

from .. import figures
from ..values import Value, format_number, length, number, percent, text
from . import Section


def _load(before, after) -> str:
    """The one-minute load averages around the timings, as text."""
    words = [format_number(float(v[0]), 3) if v else "not recorded" for v in (before, after)]
    return f"{words[0]} before, {words[1]} after the timings"


def _ratio(x) -> Value:
    return text("—") if x is None else number(x, digits=3)


def cost_section(bench: dict | None, manifest: dict) -> dict:
    """What the Cost of stability section shows: None when `make bench` has not run."""
    if bench is None:
        return {"present": False}
    m = bench["machine"]
    rows = []
    for r in bench["implementations"]:
        s = r["seconds"]
        rows.append([
            text(r["dtype"]), length(r["n"]), text(" × ".join(str(v) for v in r["shape"])), text(r["function"]),
            text(r["method"]), text(r["summation"]), number(s["median"] * 1e3, digits=3),
            text(f"{format_number(s['q1'] * 1e3, 3)} – {format_number(s['q3'] * 1e3, 3)}"),
            number(s["median"] / r["elements"] * 1e9, digits=3),
            _ratio(r["vs_naive"]), _ratio(r["vs_scipy"]), _ratio(r["vs_floor"]),
        ])  # fmt: skip
    targets = [
        {
            "function": text(t["function"]),
            "n": number(t["n"]),
            "dtype": text(t["dtype"]),
            "summation": text(t["summation"]),
            "vs_naive": number(t["vs_naive"], f"cost/target/{t['summation']}/vs_naive", digits=3),
            "vs_naive_target": number(t["vs_naive_target"]),
            "met_vs_naive": text("met" if t["met_vs_naive"] else "missed", "" if t["met_vs_naive"] else "failed"),
            "vs_scipy": number(t["vs_scipy"], f"cost/target/{t['summation']}/vs_scipy", digits=3),
            "vs_scipy_target": number(t["vs_scipy_target"]),
            "met_vs_scipy": text("met" if t["met_vs_scipy"] else "missed", "" if t["met_vs_scipy"] else "failed"),
            "unresolved": bool(t.get("quartiles_overlap_scipy")),
        }
        for t in bench["targets"]
    ]
    left_out = bench.get("left_out") or []
    groups = {}
    for r in left_out:
        groups.setdefault((r["method"], r["n"]), set()).add(r["function"])
    truth = bench["ground_truth"]
    sweep_numpy = manifest.get("versions", {}).get("numpy")
    bench_numpy = m.get("versions", {}).get("numpy")
    rep = bench["report"]
    return {
        "present": True,
        "cpu": text(str(m.get("cpu_model"))),
        "cores": text(f"{m.get('logical_cores')} logical, {m.get('physical_cores')} physical"),
        "date": text(str(m.get("date"))),
        "platform": text(str(m.get("platform"))),
        "load": text(_load(m.get("load_average"), m.get("load_average_after_timings"))),
        "numpy": text(str(bench_numpy)),
        "numpy_differs": bench_numpy != sweep_numpy,
        "sweep_numpy": text(str(sweep_numpy)),
        "quick": bool(bench.get("quick")),
        "threads": text(", ".join(f"{k}={'unset' if v is None else v}" for k, v in sorted(m["threads"].items()))),
        "rows": rows,
        "any_left_out": bool(left_out),
        "left_out": text("; ".join(f"{method} ({', '.join(sorted(functions))}) at n = {format_number(n)}"
                                   for (method, n), functions in sorted(groups.items()))),  # fmt: skip
        "targets": targets,
        "short": bool(bench.get("short")),
        "short_elements": text(format_number(int(bench.get("settings", {}).get("elements", 0)))),
        "short_lengths": text(", ".join(bench.get("settings", {}).get("measured", []))),
        "short_budget": text(format_number(bench.get("settings", {}).get("budget_seconds"))),
        "file": text("bench_short.json" if bench.get("short") else "bench.json"),
        "report_timed": rep is not None,
        "report_grid": text(str(rep["grid"])) if rep else text("—"),
        "report_cold": number(rep["cold_seconds"], "cost/report/cold", digits=3) if rep else text("—"),
        "report_warm": number(rep["warm_seconds"], "cost/report/warm", digits=3) if rep else text("—"),
        "sweep": [
            [text(s["grid"]), number(int(s["points"])), number(int(s["chunks"])), number(s["seconds"], digits=3),
             number(s["points_per_second"], digits=3)]
            for s in bench["sweep"]
        ],  # fmt: skip
        "truth": None if truth is None else {
            "speedup": number(truth.get("speedup"), "cost/truth/speedup", digits=3),
            "fallback_rate": percent(truth["fallback_rate"], "cost/truth/fallback_rate")
            if truth.get("fallback_rate") is not None else text("—"),
            "disagreements": number(truth.get("disagreements"), "cost/truth/disagreements"),
            "elements": number(truth.get("elements"), "cost/truth/elements"),
        },  # fmt: skip
        "truth_missing": text(str(bench.get("ground_truth_missing") or "")),
    }


def context(bundle) -> dict:
    return {
        "cost": cost_section(bundle.bench, bundle.manifest),
        "cost_figure": figures.cost_per_element(bundle.bench["implementations"]) if bundle.bench else None,
    }


SECTION = Section("cost", "Cost of stability", "cost.html", ("bench",), context)
