"""Glossary: the terms the report uses, defined for a reader who trains models
(analysis.report.prose.GLOSSARY; the templates link terms to it)."""

from __future__ import annotations

from . import Section


def context(bundle) -> dict:
    return {}


SECTION = Section("glossary", "Glossary", "glossary.html", (), context)
