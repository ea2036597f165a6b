"""Values as the report shows them: a number's display text next to its
exact value (rendered as ``<data value=...>``), and the small formatting
helpers every section uses.  No data, no numerics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from latex2mathml.converter import convert as latex_to_mathml
from markupsafe import Markup

from ..formats import FORMATS


class ReportError(RuntimeError):
    """The data cannot make a report; the message says why."""


# --- values that reach the templates ---------------------------------------------


@dataclass(frozen=True)
class Value:
    """A number (or text) as the report shows it.

    ``text`` is what the reader sees; ``value`` the exact number as a
    string (``repr`` of the float, so it round-trips), rendered as
    ``<data value="...">`` and checked by the tests; ``key`` names it.
    """

    text: str
    value: str | None = None
    key: str | None = None
    css: str = ""


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(x: float | int | None, digits: int = 4) -> str:
    """``digits`` significant digits, scientific as m×10ⁿ outside [1e-3, 1e5)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, int | np.integer):
        return f"{int(x):,}".replace(",", " ") if abs(x) >= 10000 else str(int(x))
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    if -3 <= exponent < 5:
        text = f"{x:.{max(digits - 1 - exponent, 0)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return text.replace("-", "−")


def in_format(x: float, dtype: str) -> str:
    """The shortest decimal that rounds back to ``x`` in the format ``dtype``
    (an exponent written ×10ⁿ, as :func:`format_number` writes it)."""
    if x is None:
        return "none"
    text = repr(float(x)) if dtype == "float64" else str(FORMATS[dtype].dtype.type(x))
    mantissa, e, exponent = text.partition("e")
    if e:  # one number style in the report: m×10ⁿ, as format_number writes it
        text = f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return text.replace("-", "−").replace("inf", "∞").replace("nan", "NaN")


def number(x, key: str | None = None, digits: int = 4, css: str = "") -> Value:
    exact = None if x is None else (str(int(x)) if isinstance(x, int | np.integer) else repr(float(x)))
    return Value(format_number(x, digits), exact, key, css)


def percent(fraction: float, key: str | None = None) -> Value:
    return Value(format_number(100 * fraction, 3) + " %", repr(float(fraction)), key)


def format_value(x: float | None, dtype: str, key: str | None = None) -> Value:
    return Value(in_format(x, dtype), None if x is None else repr(float(x)), key)


def text(t: str, css: str = "") -> Value:
    return Value(t, None, None, css)


def mathml(latex: str, display: str = "inline") -> Markup:
    out = latex_to_mathml(latex, display=display)
    return Markup(out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', ""))



def vector_text(values, dtype: str) -> str:
    return "[" + ", ".join(in_format(float(v), dtype) for v in np.atleast_1d(values)) + "]"


def short(x) -> str:
    """A JSON number, or the repr of a non-finite one ("inf", "nan"), in 4 digits."""
    x = float(x)
    return "NaN" if math.isnan(x) else format_number(x, 4)


def length(n: int) -> Value:
    """n without a breakable space (10 000 stays on one line in a narrow column)."""
    v = number(n)
    return Value(v.text.replace(" ", "\u00a0"), v.value, v.key, v.css)


def in_u(x) -> Value:
    """A multiple of the unit roundoff, 3 digits."""
    return number(None if x is None else float(x), digits=3)
