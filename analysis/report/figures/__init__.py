"""Sweep records -> figures, as SVG text ready to be inlined in the report.

Every function here takes the sweep table as columns (a mapping from the
column names of ``sweep.parquet`` to numpy arrays, as
:func:`analysis.report.bundle.load_sweep` returns it) and returns a :class:`SvgFigure`: the SVG markup and its alt text.
Matplotlib is used only in this package, through the object-oriented API (no
pyplot, no global backend switch).

Determinism: ``svg.hashsalt`` is fixed, the SVG metadata (date, creator) is
dropped, and text is SVG text (``svg.fonttype = "none"``) in a font stack
that starts with DejaVu Sans, the font matplotlib measures it with: figure
text is searchable and the file small.  The ids
inside each SVG are prefixed with the figure's name, so several figures can
share one HTML document without clashing ids.

Colours are the Okabe–Ito palette (distinguishable with the common colour
vision deficiencies); every failure grade also has its own hatch and every line its
own dash pattern, so the figures survive greyscale printing.
"""

from .common import GRADE_STYLE, METHOD_STYLE, RC, SvgFigure, to_svg  # noqa: F401
from .extras import bhh_error_vs_bound, bounds_vs_sweep, cost_per_element, host_library, method_ranking  # noqa: F401
from .hero import bits_overlay, hero, scale_percentiles  # noqa: F401
from .logsoftmax import cross_entropy, max_approx_error, std_norm_vs_softmax  # noqa: F401
from .sweep import bits_vs_scale, failure_map, predicted_lines, thresholds_scatter  # noqa: F401
