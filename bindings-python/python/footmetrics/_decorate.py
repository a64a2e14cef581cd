"""Turns the context managers of ``time()``, ``count_exceptions()`` and
``track_inprogress()`` into decorators: each call of the function gets a fresh one."""

import functools
import inspect


def wrap(ctx, func):
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def wrapped_async(*args, **kwargs):
            with ctx._fresh():
                return await func(*args, **kwargs)

        return wrapped_async

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        with ctx._fresh():
            return func(*args, **kwargs)

    return wrapped
