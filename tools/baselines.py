"""Rewrite a regression baseline under tests/baselines/ and show the diff.

``python tools/baselines.py budgets``: the error budgets (``make baseline``);
``python tools/baselines.py worstcases``: the worst cases found by the search
(``make worstcases``, then ``make baseline``: they are in its regression set).
Without ``--write`` the new baseline is printed and nothing is written.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import pipeline  # noqa: E402
from analysis.config import ConfigError, load_worstcase  # noqa: E402
from analysis.store.files import atomic_write  # noqa: E402
from analysis.studies import budgets  # noqa: E402

WORST_BASELINE = budgets.WORST_CASES


def worst_cases_text(records: list[dict]) -> str:
    """The stored cases: input (hex), ULPs, and the theorem verdict."""
    cases = [
        {k: r[k] for k in ("function", "method", "dtype", "input_hex", "ulps", "theorem", "bound_applies")}
        for r in records
        if r["ulps"] >= 0
    ]
    return json.dumps(cases, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/baselines.py", description=__doc__.splitlines()[0])
    parser.add_argument("baseline", choices=("budgets", "worstcases"))
    parser.add_argument("--write", action="store_true", help="rewrite the baseline, show the diff")
    args = parser.parse_args(argv)
    if args.baseline == "budgets":
        path, new = budgets.BASELINE, budgets.render(budgets.measure())
    else:
        try:
            wcfg = load_worstcase()
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        path, new = WORST_BASELINE, worst_cases_text(pipeline.worst_cases(wcfg))
    if not args.write:
        sys.stdout.write(new)
        return 0
    old = path.read_text() if path.exists() else ""
    sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(path), "new"))
    atomic_write(path, new.encode())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
