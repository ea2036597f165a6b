"""Data folder -> one self-contained HTML file, through report_templates/.

:func:`build` renders from the files of a data folder alone (``python -m
analysis report`` first brings the folder up to date: :mod:`analysis.pipeline`):
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

import hashlib
import json
import os
from pathlib import Path

import jinja2

from ..store import deps
from ..store.files import DATA_DIR, ROOT, atomic_write, cache_dir, load_cached, store_cached
from ..store.registry import versions
from . import bundle as bundle_module
from .bundle import Bundle, dtypes_of
from .numbering import finish
from .prose import FORMULAS, GLOSSARY, PAPER, REFERENCES, TITLE
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
        "glossary": glossary(),
        "paper": PAPER,
        "provenance": provenance(bundle),
        "report_command": text(command),
        "sections": [s for s in sections if s.part == "body"],
        "appendix": [s for s in sections if s.part == "appendix"],
    }
    for section in sections:
        ctx.update(section_context(section, bundle))
    return ctx


def glossary() -> dict:
    """The glossary's entries as the templates read them (the ``term`` macro and glossary.html)."""
    return {key: {"key": key, "label": label, "definition": text} for key, (label, text) in GLOSSARY.items()}


def dtypes_of_bundle(bundle: Bundle) -> list[str]:
    """The study's formats in the sweep, from the examples' settings (no need
    to read the sweep's table for them)."""
    examples = bundle.get("examples.json")
    return list(examples["dtypes"]) if examples else dtypes_of(bundle.sweep)


def render(ctx: dict) -> str:
    """base.html with every section, then the figure and table numbers, the
    cross-references and the contents (:mod:`analysis.report.numbering`)."""
    return finish(ENV.get_template("base.html").render(**ctx))


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
