"""OpenMetrics exposition, as ``prometheus_client.openmetrics.exposition``: the renderer, its
content type, and the name escaping schemes a scraper may ask for in ``Accept``
(``escaping=...``) with the helpers that apply them to a metric or label name."""

from typing import Callable

from footmetrics._core import CONTENT_TYPE_OPENMETRICS as CONTENT_TYPE_LATEST
from footmetrics._core import generate_latest_openmetrics as generate_latest
from footmetrics.validation import _is_valid_legacy_labelname, _is_valid_legacy_metric_name

CONTENT_TYPE_LATEST_2_0 = "application/openmetrics-text; version=2.0.0; charset=utf-8"
ESCAPING_HEADER_TAG = "escaping"

# The escaping schemes: names stay UTF-8 (quoted when outside the legacy character set), or
# have each character outside it replaced by `_`, or are escaped reversibly (`.` as `_dot_`),
# or are escaped as Unicode code points (`U__` prefix, `_<hex>_` per character).
ALLOWUTF8 = "allow-utf-8"
UNDERSCORES = "underscores"
DOTS = "dots"
VALUES = "values"


def _is_legacy_labelname_rune(char: str, index: int) -> bool:
    """Whether ``char`` may stand at ``index`` of a legacy label name (no leading digit)."""
    if len(char) != 1:
        raise ValueError("Input 'b' must be a single character.")
    return (char == "_" or "a" <= char <= "z" or "A" <= char <= "Z"
            or (index > 0 and "0" <= char <= "9"))


def _is_legacy_metric_rune(char: str, index: int) -> bool:
    """As ``_is_legacy_labelname_rune``, with ``:`` allowed too."""
    return char == ":" or _is_legacy_labelname_rune(char, index)


def _is_valid_utf8(char: str) -> bool:
    """Whether the code point can be encoded (is not a surrogate)."""
    return not 0xD800 <= ord(char) <= 0xDFFF


def _escape(s: str, escaping: str, valid_rune: Callable[[str, int], bool]) -> str:
    """``s`` under ``escaping``; ``valid_rune(char, index)`` tells the characters kept as they
    are. Under ``allow-utf-8`` only backslash, newline and double quote are escaped."""
    if escaping == ALLOWUTF8:
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    if escaping == UNDERSCORES:
        return "".join(c if valid_rune(c, i) else "_" for i, c in enumerate(s))
    if escaping == DOTS:
        out = []
        for i, c in enumerate(s):
            if c == "_":
                out.append("__")
            elif c == ".":
                out.append("_dot_")
            else:
                out.append(c if valid_rune(c, i) else "__")
        return "".join(out)
    if escaping == VALUES:
        out = ["U__"]
        for i, c in enumerate(s):
            if c == "_":
                out.append("__")
            elif valid_rune(c, i):
                out.append(c)
            elif _is_valid_utf8(c):
                out.append(f"_{ord(c):x}_")
            else:
                out.append("_FFFD_")
        return "".join(out)
    return s


def _escape_name(s: str, escaping: str, is_legacy: Callable[[str], bool],
                 valid_rune: Callable[[str, int], bool]) -> str:
    if not s:
        return s
    if escaping == ALLOWUTF8:
        escaped = _escape(s, escaping, valid_rune)
        return escaped if is_legacy(s) else f'"{escaped}"'
    if escaping == DOTS:
        # Reversible: even a legacy name has its underscores doubled.
        return _escape(s, escaping, valid_rune)
    if escaping in (UNDERSCORES, VALUES):
        return s if is_legacy(s) else _escape(s, escaping, valid_rune)
    return s


def escape_metric_name(s: str, escaping: str = UNDERSCORES) -> str:
    """A metric name as written under ``escaping`` (quoted under ``allow-utf-8`` when outside
    the legacy character set)."""
    return _escape_name(s, escaping, _is_valid_legacy_metric_name, _is_legacy_metric_rune)


def escape_label_name(s: str, escaping: str = UNDERSCORES) -> str:
    """A label name as written under ``escaping`` (quoted under ``allow-utf-8`` when outside
    the legacy character set)."""
    return _escape_name(s, escaping, _is_valid_legacy_labelname, _is_legacy_labelname_rune)


__all__ = [
    "ALLOWUTF8",
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_LATEST_2_0",
    "DOTS",
    "ESCAPING_HEADER_TAG",
    "UNDERSCORES",
    "VALUES",
    "escape_label_name",
    "escape_metric_name",
    "generate_latest",
]
