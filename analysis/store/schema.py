"""The tables' columns, as the studies compute them and the store writes them:
the sweep's (sweep.parquet) and the critical gaps' (gstar.csv)."""

COLUMNS = (
    "family", "function", "method", "dtype", "n", "offset", "gap", "scale", "draw",
    "grade", "max_ulp", "median_ulp", "max_bits", "median_bits", "rel_error", "sums_to_one",
)  # fmt: skip
TEXT_COLUMNS = ("family", "function", "method", "dtype", "grade")
FLOAT_COLUMNS = ("offset", "gap", "scale", "draw", "max_ulp", "median_ulp", "max_bits", "median_bits", "rel_error")
BLOCK = ("family", "function", "method", "dtype", "n")  # one value per block of rows
GRADES = ("exact", "accurate", "flushed", "inaccurate", "lost", "inf", "nan")  # analysis.metrics.grade
GSTAR_COLUMNS = ("n", "dtype", "entry", "g_star_observed", "g_star_predicted")
