"""The report's sections, in the order they appear: the one list that
base.html loops over for both the contents and the body.

A section is a module that ends with ``SECTION = Section(...)``: its anchor
and title, its template (``report_templates/<template>``), the artifacts it
needs (names in :mod:`analysis.store.registry`, whose checksums key its
cached context) and ``context(bundle) -> dict``, the values its template
reads by name.  Adding a section is one module, one template and one line
in ``MODULES`` (or :func:`register` at run time).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Section:
    id: str  # the HTML anchor
    title: str  # as the contents list it
    template: str
    needs: tuple[str, ...]  # artifacts; "bench" for bench.json
    context: Callable[..., dict]  # bundle -> the template's values
    part: str = "body"  # "body" or "appendix" (after the references, long tables collapsed on screen)

    @property
    def module(self) -> str:
        return self.context.__module__


MODULES = (
    "summary", "findings", "background", "method", "results", "logsoftmax", "methods", "frameworks", "cost",
    "limitations", "glossary", "references",
    "appendix", "realdata", "bounds", "special", "worstcase", "host", "reproducibility",
)  # fmt: skip
APPENDIX = ("appendix", "realdata", "bounds", "special", "worstcase", "host", "reproducibility")


def _load(module: str) -> Section:
    section = importlib.import_module(f"{__name__}.{module}").SECTION
    return replace(section, part="appendix") if module in APPENDIX else section


SECTIONS: list[Section] = [_load(m) for m in MODULES]


def register(section: Section, before: str | None = None) -> None:
    """Add a section to the report, before the one with id ``before`` (at the end when None)."""
    index = next((i for i, s in enumerate(SECTIONS) if s.id == before), len(SECTIONS))
    SECTIONS.insert(index, section)


def unregister(section_id: str) -> None:
    SECTIONS[:] = [s for s in SECTIONS if s.id != section_id]
