"""The report: the data folder -> one self-contained HTML file.

- :mod:`.bundle`: the data files, checked against the manifest, parsed;
- :mod:`.sections`: one module per section (what it needs, ``context(bundle)``,
  its template), in the order of the report;
- :mod:`.values`: how numbers are shown; :mod:`.prose`: titles, references, formulas;
- :mod:`.figures`: drawing only (data -> inline SVG);
- :mod:`.compose`: the cache of sections' values, rendering (``python -m
  analysis report`` is :func:`analysis.report_cli.report_main`).
"""

from .bundle import Bundle, ReportError, distinct, dtypes_of, load, select  # noqa: F401
from .compose import ENV, REPORT_PATH, TEMPLATE_DIR, build, context, render, section_context  # noqa: F401
from .values import Value, format_number, format_value, in_format, number, percent, text  # noqa: F401
