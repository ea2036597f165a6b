"""Long rows and frameworks: our methods, JAX and PyTorch on rows up to
n = 2**18 of synthetic realistic logits (frameworks.json)."""

from __future__ import annotations

from ..figures.frameworks import FAILED, failed_share, kept_error, long_rows
from ..values import number, text
from . import Section

FUNCTIONS = ("softmax", "logsumexp", "log_softmax")
FRAMEWORK_CALLS = {
    "jax": ("jax.nn.softmax", "jax.nn.logsumexp", "jax.nn.log_softmax"),
    "torch": ("torch.softmax", "torch.logsumexp", "torch.log_softmax"),
}


def _error_word(error: str) -> str:
    """How a record with an error reads in a table."""
    return "not repeatable" if error.startswith("not repeatable") else "raises"


def _verdict(records, impl, dtype, function, lengths) -> str:
    """Where a call first fails (lost, inf or NaN) and how often there;
    otherwise the error of its rows at the longest n."""
    for n in lengths:
        rs = [r for r in records if r["impl"] == impl and r["dtype"] == dtype and r["function"] == function
              and r["n"] == n]  # fmt: skip
        if any(r["error"] for r in rs):
            error = next(r["error"] for r in rs if r["error"])
            word = _error_word(error)
            return f"{word} at n = {n}" if word != "raises" else "raises: " + error[:60]
        failed = sum(r["grades"].get(g, 0) for r in rs for g in FAILED)
        if failed:
            return f"fails from n = {n}: {failed}/{sum(r['rows'] for r in rs)} rows"
    rs = [r for r in records if r["impl"] == impl and r["dtype"] == dtype and r["function"] == function
          and r["n"] == lengths[-1]]  # fmt: skip
    inaccurate = sum(r["grades"].get("inaccurate", 0) for r in rs)
    return f"no failure up to n = {lengths[-1]}; there {inaccurate}/{sum(r['rows'] for r in rs)} rows inaccurate"


def _best_ours(records, dtype, function, lengths, methods) -> str:
    """Our methods with the fewest failed rows, then the smallest error, at the longest n."""
    n = lengths[-1]
    score = {}
    for m in methods:
        share = failed_share(records, m, dtype, function, n)
        if share is not None:
            error = kept_error(records, m, dtype, function, n)
            score[m] = (share, float("inf") if error is None else error)
    best = min(score.values())
    names = ", ".join(m for m, v in score.items() if v == best)
    return f"{names} ({100 * best[0]:.3g} % failed, median ≤ {best[1]:g} ulps at n = {n})"


def frameworks_section(doc: dict | None) -> dict | None:
    if not doc:
        return None
    records, lengths, dtypes = doc["records"], doc["settings"]["lengths"], doc["settings"]["dtypes"]
    impls = doc["implementations"]
    ours = [m for m in impls if m not in FRAMEWORK_CALLS]
    frameworks = [f for f in impls if f in FRAMEWORK_CALLS]
    header = ["format"] + [f"{call}" for f in frameworks for call in FRAMEWORK_CALLS[f]] + ["ours, best (softmax)"]
    which = [[text(d)] + [text(_verdict(records, f, d, fn, lengths)) for f in frameworks for fn in FUNCTIONS]
             + [text(_best_ours(records, d, "softmax", lengths, ours))] for d in dtypes]  # fmt: skip
    longest = lengths[-1]
    at_longest = []
    for d in dtypes:
        for impl in impls:
            row = [text(d), text(impl)]
            for fn in FUNCTIONS:
                s = failed_share(records, impl, d, fn, longest)
                at_n = [r for r in records if r["impl"] == impl and r["dtype"] == d and r["function"] == fn
                        and r["n"] == longest]  # fmt: skip
                rs = [r for r in at_n if not r["error"]]
                errors = [r["error"] for r in at_n if r["error"]]
                inaccurate = sum(r["grades"].get("inaccurate", 0) for r in rs)
                rows = sum(r["rows"] for r in rs)
                row.append(text(_error_word(errors[0])) if errors else text("raises") if s is None else
                           text(f"{round(s * rows)}/{rows} failed, {inaccurate}/{rows} inaccurate"))
            at_longest.append(row)
    rows_at = sum(r["rows"] for r in records if r["n"] == longest and r["impl"] == impls[0]
                  and r["function"] == "softmax" and r["dtype"] == dtypes[0])  # fmt: skip
    gradients = [
        [text(g["dtype"]), text(str(g["n"])), text(g["setting"]), text(g["impl"])]
        + ([text(g["error"][:60])] * 5 if g["error"] else
           [number(float(g["worst_ulp"])), number(float(g["target_ulp"])), text(g["grade"]),
            text("yes" if g["target_zero"] else "no"), number(g["nan"])])
        for g in doc["gradients"]
        # only the cases where something went wrong; every case is in frameworks.json
        if g["error"] or g["target_zero"] or g["nan"] or g["grade"] in FAILED
    ]  # fmt: skip
    zero_targets = sum(1 for g in doc["gradients"] if not g["error"] and g["target_zero"])
    nan_gradients = sum(1 for g in doc["gradients"] if not g["error"] and g["nan"])
    unrepeatable = [r for r in records if r["error"] and _error_word(r["error"]) == "not repeatable"]
    calls = sorted({(r["impl"], r["dtype"], r["function"]) for r in unrepeatable})
    versions = doc["versions"]
    settings = [[text(k), text(v["family"]), text(v["description"])] for k, v in doc["families"].items()]
    return {
        "figure": long_rows(doc, "failed", ("softmax", "log_softmax")),  # logsumexp: in the tables
        "error_figure": long_rows(doc, "error", ("softmax",)),
        "jax_version": text(f"jax {versions['jax']}, jaxlib {versions['jaxlib']}"),
        "torch_version": text(f"torch {versions['torch']}" if doc["torch_available"] else ""),
        "torch_available": doc["torch_available"],
        "lengths": text(", ".join(str(n) for n in lengths)),
        "draws": text(", ".join(f"{d} at n = {n}" for n, d in zip(lengths, doc["settings"]["draws"]))),
        "rows_at_longest": number(rows_at),
        "longest": number(longest),
        "settings": settings,
        "which_header": header,
        "which": which,
        "at_longest": at_longest,
        "gradients": gradients,
        "zero_targets": number(zero_targets),
        "nan_gradients": number(nan_gradients),
        "gradient_cases": number(len(doc["gradients"])),
        "models": [[text(k), text(v)] for k, v in doc["methods_modelled"].items()],
        "block": number(doc["block"]),
        "gradient_settings": text(", ".join(doc["gradient_settings"])),
        "quick": doc.get("quick", False),
        "any_not_repeatable": bool(unrepeatable),
        "not_repeatable": number(len(unrepeatable)),
        "not_repeatable_calls": text("; ".join(f"{i} {f} in {d}" for i, d, f in calls)),
        "records": number(len(records)),
    }


def context(bundle) -> dict:
    return {"frameworks": frameworks_section(bundle.get("frameworks.json"))}


SECTION = Section("frameworks", "Long rows and frameworks", "frameworks.html", ("frameworks",), context)
