"""References: the works cited (analysis.report.prose.REFERENCES)."""

from __future__ import annotations

from . import Section


def context(bundle) -> dict:
    return {}


SECTION = Section("references", "References", "references.html", (), context)
