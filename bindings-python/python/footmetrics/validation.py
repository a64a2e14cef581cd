"""Name validation as ``prometheus_client.validation`` does it, with its switch between the
legacy character set (``[a-zA-Z_:][a-zA-Z0-9_:]*`` for metrics, ``[a-zA-Z_][a-zA-Z0-9_]*`` for
labels) and UTF-8 names (any text that encodes as UTF-8).

The switch starts from ``PROMETHEUS_LEGACY_NAME_VALIDATION`` (``true``, ``1`` or ``t``, any case,
turns legacy validation on) and is flipped by ``enable_legacy_validation()`` and
``disable_legacy_validation()``. It governs the helpers of this module and, mirrored in the Rust
core, the names footmetrics' own metric classes and exemplars accept."""

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from footmetrics import _core

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
METRIC_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_METRIC_LABEL_NAME_RE = re.compile(r"^__.*$")

# OpenMetrics' limit on the characters of an exemplar's label names and values together.
_EXEMPLAR_MAX_RUNES = 128


def _init_legacy_validation() -> bool:
    """The switch's initial state, from ``PROMETHEUS_LEGACY_NAME_VALIDATION``."""
    value = os.environ.get("PROMETHEUS_LEGACY_NAME_VALIDATION", "False")
    return value.lower() in ("true", "1", "t")


_legacy_validation = _init_legacy_validation()
# The core checks the names of footmetrics' own metrics and exemplars: it follows this switch.
_core.set_utf8_names(not _legacy_validation)


def get_legacy_validation() -> bool:
    """Whether names are held to the legacy character set (else any UTF-8 name passes)."""
    return _legacy_validation


def disable_legacy_validation() -> None:
    """Accept UTF-8 metric and label names."""
    global _legacy_validation
    _legacy_validation = False
    _core.set_utf8_names(True)


def enable_legacy_validation() -> None:
    """Hold metric and label names to the legacy character set."""
    global _legacy_validation
    _legacy_validation = True
    _core.set_utf8_names(False)


def _is_utf8(text: str) -> bool:
    """False only for text no UTF-8 encoding exists for (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate_metric_name(name: str) -> None:
    """Raises ValueError unless ``name`` is a metric name under the current switch."""
    if not name:
        raise ValueError("metric name cannot be empty")
    if _legacy_validation and not METRIC_NAME_RE.match(name):
        raise ValueError("invalid metric name " + name)
    if not _is_utf8(name):
        raise ValueError("invalid metric name " + name)


def _is_valid_legacy_metric_name(name: str) -> bool:
    """Whether ``name`` is in the legacy metric name character set."""
    return bool(name) and METRIC_NAME_RE.match(name) is not None


def _validate_metric_label_name_token(tok: str) -> None:
    """Raises ValueError unless ``tok``, a label name as written in an exposition, is valid:
    a legacy name, or (with UTF-8 names on) any UTF-8 text in double quotes."""
    if not tok:
        raise ValueError("invalid label name token " + tok)
    quoted = tok[0] == '"' and tok[-1] == '"'
    if _legacy_validation or not quoted:
        if not METRIC_LABEL_NAME_RE.match(tok):
            raise ValueError("invalid label name token " + tok)
    elif not _is_utf8(tok):
        raise ValueError("invalid label name token " + tok)


def _validate_labelname(name: str) -> None:
    """Raises ValueError unless ``name`` is a label name under the current switch; names
    starting with ``__`` are reserved under both."""
    valid = METRIC_LABEL_NAME_RE.match(name) is not None if _legacy_validation else _is_utf8(name)
    if not valid:
        raise ValueError("Invalid label metric name: " + name)
    if RESERVED_METRIC_LABEL_NAME_RE.match(name):
        raise ValueError("Reserved label metric name: " + name)


def _is_valid_legacy_labelname(name: str) -> bool:
    """Whether ``name`` is a legacy label name that is not reserved."""
    return (bool(name) and METRIC_LABEL_NAME_RE.match(name) is not None
            and RESERVED_METRIC_LABEL_NAME_RE.match(name) is None)


def _validate_labelnames(cls: Any, labelnames: Iterable[str]) -> tuple[str, ...]:
    """Validates every name, refusing those ``cls._reserved_labelnames`` lists (``le`` for a
    histogram, ``quantile`` for a summary); returns them as a tuple."""
    names = tuple(labelnames)
    reserved = getattr(cls, "_reserved_labelnames", ())
    for name in names:
        _validate_labelname(name)
        if name in reserved:
            raise ValueError("Reserved label metric name: " + name)
    return names


def _validate_exemplar(exemplar: Mapping[str, str]) -> None:
    """Raises ValueError for an invalid label name, or labels longer than 128 characters."""
    runes = 0
    for name, value in exemplar.items():
        _validate_labelname(name)
        runes += len(name) + len(value)
    if runes > _EXEMPLAR_MAX_RUNES:
        raise ValueError(f"Exemplar labels have {runes} UTF-8 characters, exceeding the limit "
                         f"of {_EXEMPLAR_MAX_RUNES}")


__all__ = [
    "METRIC_LABEL_NAME_RE",
    "METRIC_NAME_RE",
    "RESERVED_METRIC_LABEL_NAME_RE",
    "disable_legacy_validation",
    "enable_legacy_validation",
    "get_legacy_validation",
]
