"""Command line: ``python -m analysis sweep|report|bench [--config PATH] [--quick]``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    from .config import data_dir_argument

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
    sweep.add_argument("--dry-run", action="store_true", help="print the plan (points, memory, time) and stop")
    sweep.add_argument("--debug", action="store_true", help="on a failure, print the traceback too")
    sub.add_parser("report", help="build reports/softmax_study.html", add_help=False)
    sub.add_parser("bench", help="measure the cost of stability: reports/data/bench.json", add_help=False)
    return parser


_SIGNALLED: list[int] = []


def _terminate(signum, frame):
    _SIGNALLED.append(signum)
    raise KeyboardInterrupt  # `kill` stops the sweep as cleanly as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminate)
    from .allocator import keep_freed_memory

    keep_freed_memory()  # large arrays reused from call to call, not faulted in again
    if argv[:1] == ["report"]:
        from .pipeline import report_main

        return _leave_if_interrupted(report_main(argv[1:]))
    if argv[:1] == ["bench"]:
        from . import bench

        return bench.main(argv[1:])
    args = _parser().parse_args(argv)
    from . import plan, sweep
    from .config import ConfigError, load, load_worstcase
    from .pipeline import failure

    data_dir = args.data_dir
    try:
        cfg = load(args.config, quick=args.quick)
        load_worstcase(args.config)  # checked before any work starts

        data_dir = data_dir or sweep.DATA_DIR
        study_plan = plan.make(cfg)
        if args.dry_run:
            print(plan.describe(study_plan, data_dir))
            return 0
        plan.check(study_plan)
    except (ConfigError, plan.PlanError) as err:
        return failure(err, args.debug, "nothing was written")

    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        def progress(total):
            return tqdm(total=total, desc="sweep chunks", unit="chunk")

    from .cluster import ClusterError, executor, leave

    start = time.perf_counter()
    changed: list[str] = []
    try:
        from .pipeline import write_study

        with executor(args.scheduler) as pool:
            out = write_study(cfg, args.config, data_dir, pool, progress, changed=changed)
    except ClusterError as err:
        leave(err, "nothing was written")
    except BaseException as err:  # noqa: BLE001 -- every failure: one line and its exit status
        if isinstance(err, SystemExit):
            raise
        code = failure(err, args.debug, f"{data_dir} holds the earlier outputs, unchanged; finished chunks are cached")
        return _leave_if_interrupted(code)
    seconds = time.perf_counter() - start
    if changed:
        print(f"wrote {', '.join(changed)} under {out} ({seconds:.1f} s)")
    else:
        print(f"nothing to do: every file under {out} is up to date ({seconds:.1f} s)")
    return 0


def _leave_if_interrupted(code: int) -> int:
    """After Ctrl-C, leave at once: the workers are killed, every write was
    atomic, and the exit handlers of concurrent.futures could wait on a pool
    that was interrupted mid-operation."""
    if code == 130:
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(130)
    return code


def run() -> int:
    """main(), with a Ctrl-C during start-up (the imports take a second or
    two) reported like any other: one line, exit 130."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job's ignored Ctrl-C stays ignored
        signal.signal(signal.SIGINT, _terminate)
    try:
        return main()
    except BaseException as err:
        # numpy turns a Ctrl-C during its import into an ImportError: what
        # counts is that a signal came.
        if not (_SIGNALLED or isinstance(err, KeyboardInterrupt)) or isinstance(err, SystemExit):
            raise
    print("interrupted: nothing was written", file=sys.stderr)
    return _leave_if_interrupted(130)


if __name__ == "__main__":
    sys.exit(run())
