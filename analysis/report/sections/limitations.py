"""Limitations: prose; the summation order comes from the provenance."""

from __future__ import annotations

from . import Section


def context(bundle) -> dict:
    return {}


SECTION = Section("limitations", "Limitations", "limitations.html", (), context)
