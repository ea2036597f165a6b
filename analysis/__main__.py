"""Command line: ``python -m analysis sweep|report [--config PATH] [--quick]``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from .config import ConfigError, load


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="run the sweep (cached) and write reports/data/")
    sweep.add_argument("--config", type=Path, default=None, help="study file (default analysis/study.toml)")
    sweep.add_argument("--quick", action="store_true", help="apply the [quick] overrides: a small grid")
    sweep.add_argument("--data-dir", type=Path, default=None, help="output folder (default reports/data)")
    sub.add_parser("report", help="build reports/softmax_study.html", add_help=False)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt  # `kill` stops the sweep as cleanly as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminate)
    if argv[:1] == ["report"]:
        from . import report

        return report.main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        cfg = load(args.config, quick=args.quick)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from . import sweep

    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        def progress(total):
            return tqdm(total=total, desc="sweep chunks", unit="chunk")

    start = time.perf_counter()
    try:
        out = sweep.run(cfg, data_dir=args.data_dir or sweep.DATA_DIR, progress=progress)
        sweep.logsoftmax_outputs(out, quick=args.quick)
        sweep.methods_real_outputs(out, quick=args.quick)
    except OSError as err:
        print(f"error: cannot write results: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: earlier outputs are unchanged; finished chunks are cached", file=sys.stderr)
        sys.stderr.flush()
        sys.stdout.flush()
        # Leave now: the workers are killed, every file write was atomic, and
        # the exit handlers of concurrent.futures could wait on a pool that
        # was interrupted mid-operation.
        os._exit(130)
    files = "sweep.csv, thresholds.json, manifest.json, gstar.csv, logsoftmax.json, methods_real.json"
    print(f"wrote {files} under {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
