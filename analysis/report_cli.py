"""``python -m analysis report`` (:func:`report_main`): the stale studies
(:func:`analysis.pipeline.write_study`), then the report from the files
alone; and the one exit-code convention of every subcommand (:func:`failure`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import data_dir_argument
from .store import folder
from .store import manifest as store_manifest
from .store.files import DATA_DIR


class InputError(ValueError):
    """Bad input found before any work (a data folder of mixed studies): one
    line, exit status 2."""


def _run_studies(config: Path | None, quick: bool, data_dir: Path, scheduler: str | None = None) -> Path:
    """Bring the data folder up to date (milliseconds when nothing changed)."""
    from . import pipeline  # looked up at call time: the pipeline imports this module
    from .cluster import executor
    from .config import load

    cfg = load(config, quick)
    with executor(scheduler) as pool:
        return pipeline.write_study(cfg, config, data_dir, executor=pool)


def check_inputs(data_dir: Path) -> None:
    """Finish or drop what an interrupted run left in ``data_dir``, then
    InputError naming the files when they come from different study
    configs (or seeds, or --quick)."""
    data_dir = Path(data_dir)
    try:
        if data_dir.is_dir():
            with folder.locked(data_dir):
                folder.recover(data_dir)
    except OSError:  # a read-only folder: read as it is
        pass
    mixed = store_manifest.mixed_inputs(store_manifest.read(data_dir))
    if mixed:
        raise InputError(f"{data_dir} mixes studies: {'; '.join(mixed)} differ from the sweep's config "
                         f"(run `python -m analysis report` without --no-sweep to bring them up to date)")  # fmt: skip


def _command(args: argparse.Namespace) -> str:
    """The command line as the report shows it: the options that change what
    is computed (output paths are left out: they do not change the content)."""
    words = ["python -m analysis report"]
    if args.quick:
        words.append("--quick")
    if args.config is not None:
        words.append(f"--config {args.config}")
    if args.no_sweep:
        words.append("--no-sweep")
    return " ".join(words)


def _short_bench(data_dir: Path) -> None:
    """No timings yet (neither bench.json nor bench_short.json): the short
    benchmark (analysis.bench.run_short, seconds) into bench_short.json, so the
    Cost of stability section has numbers from this machine.  Later builds
    reuse the file, so builds from the same data stay byte-identical."""
    if (data_dir / "bench.json").exists() or (data_dir / "bench_short.json").exists():
        return
    from .bench_short import write_short

    print("no timings yet: a short benchmark into bench_short.json (make bench runs the full one) ...",
          file=sys.stderr)  # fmt: skip
    write_short(data_dir, log=lambda s: None)


def failure(err: BaseException, debug: bool, consequence: str) -> int:
    """The one exit-code convention of every subcommand: 2 for bad input
    (a config, a data folder of mixed studies, an impossible plan), 130 for
    Ctrl-C/SIGTERM, 1 for any other failure; one line on stderr saying what
    happened and what it left, the traceback only with ``--debug``."""
    import traceback

    from .config import ConfigError
    from .plan import PlanError

    if debug and not isinstance(err, KeyboardInterrupt):
        traceback.print_exception(err)
    if isinstance(err, folder.Interrupted) and err.committed:
        print("interrupted after the new outputs were complete: the data folder holds the new set", file=sys.stderr)
        return 130
    if isinstance(err, KeyboardInterrupt):
        print(f"interrupted: {consequence}", file=sys.stderr)
        return 130
    if isinstance(err, ConfigError | InputError | PlanError):
        print(f"error: {err}", file=sys.stderr)
        return 2
    if isinstance(err, OSError):
        print(f"error: cannot write results: {err}; {consequence}", file=sys.stderr)
        return 1
    detail = str(err).splitlines()[0] if str(err) else ""
    name = "" if type(err).__name__ in ("ReportError",) else f"{type(err).__name__}: "
    print(f"error: {name}{detail}; {consequence}", file=sys.stderr)
    return 1


def report_main(argv: list[str] | None = None) -> int:
    """``python -m analysis report``: the stale studies, then the report."""
    from .report import REPORT_PATH, build

    parser = argparse.ArgumentParser(prog="python -m analysis report", description="Build the HTML report.")
    parser.add_argument("--config", type=Path, default=None, help="study file (default analysis/study.toml)")
    parser.add_argument("--quick", action="store_true", help="the small [quick] grid of the study file")
    parser.add_argument(
        "--data-dir", type=data_dir_argument, default=DATA_DIR, help="the data folder (default reports/data)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPORT_PATH, help="report file (default reports/softmax_study.html)"
    )
    parser.add_argument("--no-sweep", action="store_true", help="use the data as they are; run no study")
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="run the sweep on this dask.distributed scheduler"
    )
    parser.add_argument("--debug", action="store_true", help="on a failure, print the traceback too")
    args = parser.parse_args(argv)
    from .cluster import ClusterError, leave

    consequence = "the previous report (if any) is unchanged"
    try:
        out = Path(args.out)
        folder.clean_temporaries(out.parent, recursive=False, name=out.name)  # of reports whose writer was killed
        if args.no_sweep:
            check_inputs(args.data_dir)
            data_dir = args.data_dir
        else:
            consequence = "the data folder holds the earlier outputs, unchanged; " + consequence
            data_dir = _run_studies(args.config, args.quick, args.data_dir, args.scheduler)
            check_inputs(data_dir)
            consequence = "the data folder holds the new set; the previous report (if any) is unchanged"
            if not args.quick:
                _short_bench(Path(data_dir))
        with folder.locked(data_dir, shared=True):
            out = build(data_dir, args.out, command=_command(args))
    except ClusterError as err:
        leave(err, "the previous report (if any) is unchanged")
    except BaseException as err:  # noqa: BLE001 -- every failure: one line, the old report kept
        if isinstance(err, SystemExit):
            raise
        return failure(err, args.debug, consequence)
    print(out)
    return 0
