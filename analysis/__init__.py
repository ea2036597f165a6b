"""softmax-study: how and where softmax breaks in floating point.

Pure numerics: :mod:`analysis.softmax` (the computations under study),
:mod:`analysis.reference` (the correctly rounded ground truth),
:mod:`analysis.metrics` (ULPs, bits of error, status) and
:mod:`analysis.formats` (the formats' constants).
"""
