"""Appendix: the long tables (thresholds per function; the methods' rankings
are read from the methods section's values), collapsed on screen and
printed in full, with the data files that hold every row."""

from __future__ import annotations

from ..values import text
from . import Section
from .results import threshold_tables


def context(bundle) -> dict:
    return {
        "appendix_tables": {
            "thresholds": threshold_tables(bundle.thresholds),
            "files": [text(name) for name in sorted(bundle.files)],
        }
    }


SECTION = Section("appendix", "Appendix: the long tables", "appendix.html", ("sweep",), context)
