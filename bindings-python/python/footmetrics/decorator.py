"""Signature-keeping decorators, as ``prometheus_client.decorator`` offers them (a vendored
copy of the ``decorator`` package there): ``decorate``, ``decorator`` and ``getargspec``.

footmetrics' own decorators (``time()``, ``count_exceptions()``, ``track_inprogress()``) wrap
with ``functools.wraps``; ``getargspec`` looks through such wrappers, so it reports the
decorated function's own parameters, as it does for prometheus_client's decorators."""

import functools
import inspect
from typing import Any, Callable, NamedTuple, Optional, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class ArgSpec(NamedTuple):
    """The four fields of the removed ``inspect.getargspec``."""
    args: list[str]
    varargs: Optional[str]
    varkw: Optional[str]
    defaults: Optional[tuple[Any, ...]]


def getargspec(f: Callable[..., Any]) -> ArgSpec:
    """Positional parameter names, ``*args`` and ``**kwargs`` names and defaults of ``f`` (of
    the innermost function when ``f`` wraps one with ``functools.wraps``)."""
    spec = inspect.getfullargspec(inspect.unwrap(f))
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)


def decorate(func: F, caller: Callable[..., Any]) -> F:
    """``func`` wrapped so that each call runs ``caller(func, *args, **kwargs)``; the result
    keeps ``func``'s name, docstring and signature."""

    @functools.wraps(func)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        return caller(func, *args, **kwargs)

    return decorated  # type: ignore[return-value]


def decorator(caller: Callable[..., Any], _func: Optional[Callable[..., Any]] = None) -> Any:
    """Turns ``caller(func, *args, **kwargs)`` into a decorator; ``decorator(caller, func)``
    decorates ``func`` at once."""
    if _func is not None:
        return decorate(_func, caller)

    @functools.wraps(caller)
    def make_decorator(func: F) -> F:
        return decorate(func, caller)

    return make_decorator


__all__ = ["ArgSpec", "decorate", "decorator", "getargspec"]
