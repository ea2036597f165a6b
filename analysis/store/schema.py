"""The tables' columns, as the studies compute them and the store writes them:
the sweep's (sweep.parquet) and the critical gaps' (gstar.csv)."""

COLUMNS = (
    "family", "function", "method", "dtype", "n", "offset", "gap", "scale", "draw",
    "grade", "max_ulp", "median_ulp", "max_bits", "median_bits", "rel_error", "sums_to_one",
)  # fmt: skip
TEXT_COLUMNS = ("family", "function", "method", "dtype", "grade")
FLOAT_COLUMNS = ("offset", "gap", "scale", "draw", "max_ulp", "median_ulp", "max_bits", "median_bits", "rel_error")
BLOCK = ("family", "function", "method", "dtype", "n")  # one value per block of rows
# The graded taxonomy as the data carry it (analysis.metrics.grade defines it;
# tests/test_taxonomy.py checks that these copies agree): the report reads
# them here, so that it imports no numerics.
GRADES = ("exact", "accurate", "flushed", "inaccurate", "lost", "inf", "nan")
FAILURES = ("lost", "inf", "nan")
ACCURATE_ULPS = 1
LOST_RELATIVE = 0.5
# The kinds of thresholds.json (analysis.studies.thresholds.KINDS).
THRESHOLD_KINDS = ("sum_overflow", "lost", "nonfinite", "nonfinite_below")
GSTAR_COLUMNS = ("n", "dtype", "entry", "g_star_observed", "g_star_predicted")
