"""Small helpers shared with ``prometheus_client.utils``: the special float values and
``floatToGoString``, which spells a float as Go's ``strconv.FormatFloat(f, 'g', -1, 64)`` does
(the spelling Prometheus uses in ``le`` and ``quantile`` labels)."""

import math
from typing import Union

INF = float("inf")
MINUS_INF = float("-inf")
NaN = float("NaN")


def floatToGoString(d: Union[float, str]) -> str:
    """``+Inf``, ``-Inf``, ``NaN``, or the shortest round-tripping decimal; a positive value of
    a million or more is written with a two-digit exponent (``1e+06``), as Go writes it."""
    f = float(d)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    text = repr(f)
    integer_digits = text.find(".")
    # Go's shortest 'g' form switches to an exponent from 1e6 up, Python's repr only from 1e16
    # (both below 1e-4, so small values agree). Only positive values are rewritten, as
    # prometheus_client does: they are the ones bucket bounds and quantiles need.
    if f > 0 and integer_digits > 6:
        digits = (text[:integer_digits] + text[integer_digits + 1:]).rstrip("0")
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{mantissa}e+{integer_digits - 1:02d}"
    return text


def parse_version(version_str: str) -> tuple[Union[int, str], ...]:
    """``"1.0.0"`` as ``(1, 0, 0)``; a part that is not a number stays a string."""
    parts: list[Union[int, str]] = []
    for part in version_str.split("."):
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(part)
    return tuple(parts)


__all__ = ["INF", "MINUS_INF", "NaN", "floatToGoString", "parse_version"]
