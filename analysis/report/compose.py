"""Data folder -> one self-contained HTML file, through report_templates/.

``python -m analysis report [--quick] [--config PATH] [--data-dir DIR] [--out FILE]``
brings the data folder up to date (:func:`analysis.outputs.write_study`:
only the stale artifacts are computed), then renders from the files alone:
the bundle is checked against the manifest (:mod:`analysis.report.bundle`),
each section turns it into its template's values (:mod:`analysis.report.sections`),
and base.html places them.  Each section's values (figures included) are
cached under ``<cache>/sections``, keyed by the checksums of the artifacts it
needs and the code it imports, so a rebuild with unchanged data draws nothing.

The output is byte-identical for identical inputs: the only date shown comes
from ``SOURCE_DATE_EPOCH`` (else the commit time of HEAD), the figures are
deterministic, and the HTML is written atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import jinja2

from ..store import deps
from ..store.files import DATA_DIR, ROOT, atomic_write, cache_dir, load_cached, store_cached
from ..store.registry import versions
from . import bundle as bundle_module
from .bundle import Bundle, ReportError, dtypes_of
from .prose import FORMULAS, PAPER, REFERENCES, TITLE
from .sections import SECTIONS, Section
from .sections.reproducibility import build_date, provenance
from .values import mathml, text

TEMPLATE_DIR = ROOT / "report_templates"
REPORT_PATH = ROOT / "reports" / "softmax_study.html"

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def section_key(section: Section, bundle: Bundle) -> str:
    """SHA-256 of what a section's values depend on: the checksums of the
    artifacts it needs, the study's versions, the code its module imports,
    its template's name and the installed versions (matplotlib draws)."""
    blob = {"section": section.id, "template": section.template, "files": bundle.checksums(section.needs),
            "study_versions": bundle.manifest.get("versions"), "code": deps.code_hash(section.module),
            "versions": versions()}  # fmt: skip
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def section_context(section: Section, bundle: Bundle, folder: Path | None = None) -> dict:
    """``section.context(bundle)`` through the cache (entries checked against
    their SHA-256 before use; a read-only cache costs time, not correctness)."""
    folder = (cache_dir() if folder is None else Path(folder)) / "sections"
    key = section_key(section, bundle)
    values = load_cached(key, folder)
    if values is None:
        values = section.context(bundle)
        try:
            store_cached(key, values, folder)
        except OSError:
            pass
    return values


def context(bundle: Bundle, environ=os.environ, command: str = "python -m analysis report", sections=None) -> dict:
    """Every value the templates read: the shared ones, then each section's."""
    sections = SECTIONS if sections is None else sections
    date, date_source = build_date(environ)
    ctx = {
        "title": TITLE,
        "date": date,
        "date_source": date_source,
        "dtypes": text(", ".join(dtypes_of_bundle(bundle))),
        "formulas": {name: mathml(latex, "block") for name, latex in FORMULAS.items()},
        "references": REFERENCES,
        "paper": PAPER,
        "provenance": provenance(bundle),
        "report_command": text(command),
        "sections": sections,
    }
    for section in sections:
        ctx.update(section_context(section, bundle))
    return ctx


def dtypes_of_bundle(bundle: Bundle) -> list[str]:
    """The study's formats in the sweep, from the examples' settings (no need
    to read the sweep's table for them)."""
    examples = bundle.get("examples.json")
    return list(examples["dtypes"]) if examples else dtypes_of(bundle.sweep)


def render(ctx: dict) -> str:
    return ENV.get_template("base.html").render(**ctx)


def build(
    data_dir: str | Path = DATA_DIR,
    out: str | Path = REPORT_PATH,
    environ=os.environ,
    command: str = "python -m analysis report",
) -> Path:
    """Render the report from the data in ``data_dir`` into ``out``; ``command``
    is the command line the report names as the one that built it."""
    html = render(context(bundle_module.load(data_dir), environ, command))
    out = Path(out)
    atomic_write(out, html)
    return out


def _run_studies(config: Path | None, quick: bool, data_dir: Path, scheduler: str | None = None) -> Path:
    """Bring the data folder up to date (milliseconds when nothing changed)."""
    from .. import outputs
    from ..cluster import executor
    from ..config import load

    cfg = load(config, quick)
    with executor(scheduler) as pool:
        return outputs.write_study(cfg, config, data_dir, executor=pool)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis report", description="Build the HTML report.")
    parser.add_argument("--config", type=Path, default=None, help="study file (default analysis/study.toml)")
    parser.add_argument("--quick", action="store_true", help="the small [quick] grid of the study file")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="the data folder (default reports/data)")
    parser.add_argument(
        "--out", type=Path, default=REPORT_PATH, help="report file (default reports/softmax_study.html)"
    )
    parser.add_argument("--no-sweep", action="store_true", help="use the data as they are; run no study")
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="run the sweep on this dask.distributed scheduler"
    )
    args = parser.parse_args(argv)
    from ..cluster import ClusterError

    try:
        data_dir = (
            args.data_dir if args.no_sweep else _run_studies(args.config, args.quick, args.data_dir, args.scheduler)
        )
        out = build(data_dir, args.out, command=_command(args))
    except ClusterError as err:
        print(f"error: {err}; the previous report (if any) is unchanged", file=sys.stderr)
        sys.stderr.flush()
        os._exit(2)  # not sys.exit: a failed Client's finaliser would wait seconds to close
    except ReportError as err:
        print(f"error: {err}; the previous report (if any) is unchanged", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 -- any failure must leave the old report and exit non-zero
        print(
            f"error: report build failed: {type(err).__name__}: {err}; the previous report (if any) is unchanged",
            file=sys.stderr,
        )
        return 1
    print(out)
    return 0
