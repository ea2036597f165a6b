"""Command line: ``python -m analysis sweep|report|bench [--config PATH] [--quick]``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from .config import ConfigError, data_dir_argument, load, load_worstcase


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="bring the data folder (reports/data/) up to date: the stale studies")
    sweep.add_argument("--config", type=Path, default=None, help="study file (default analysis/study.toml)")
    sweep.add_argument("--quick", action="store_true", help="apply the [quick] overrides: a small grid")
    sweep.add_argument("--data-dir", type=data_dir_argument, default=None, help="output folder (default reports/data)")
    sweep.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="run the chunks on a dask.distributed scheduler (e.g. tcp://host:8786; needs the [dask] extra)",
    )
    sub.add_parser("report", help="build reports/softmax_study.html", add_help=False)
    sub.add_parser("bench", help="measure the cost of stability: reports/data/bench.json", add_help=False)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt  # `kill` stops the sweep as cleanly as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminate)
    if argv[:1] == ["report"]:
        from .pipeline import report_main

        return report_main(argv[1:])
    if argv[:1] == ["bench"]:
        from . import bench

        return bench.main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        cfg = load(args.config, quick=args.quick)
        load_worstcase(args.config)  # checked before any work starts
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from . import sweep

    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        def progress(total):
            return tqdm(total=total, desc="sweep chunks", unit="chunk")

    from .cluster import ClusterError, executor, leave

    start = time.perf_counter()
    try:
        from .pipeline import write_study

        with executor(args.scheduler) as pool:
            out = write_study(cfg, args.config, args.data_dir or sweep.DATA_DIR, pool, progress)
    except ClusterError as err:
        leave(err, "nothing was written")
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
    from .store.registry import ARTIFACTS

    files = ", ".join(f for a in ARTIFACTS for f in a.files)
    print(f"{files} and manifest.json are up to date under {out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
