"""Importing this module makes `prometheus_client` and every `prometheus_client.X` resolve to
`footmetrics` and `footmetrics.X`, so that code written for prometheus_client (its own test
suite, libraries built on it) runs on footmetrics with nothing of it edited.

A module footmetrics does not have is a ModuleNotFoundError, never the real prometheus_client,
which may be installed beside it (our own tests use its parsers as validators).
"""

import importlib
import importlib.abc
import importlib.util
import sys

INCUMBENT = "prometheus_client"
OURS = "footmetrics"


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports `prometheus_client[.X]` as the module object of `footmetrics[.X]`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != INCUMBENT and not fullname.startswith(INCUMBENT + "."):
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        ours = OURS + spec.name[len(INCUMBENT):]
        try:
            return importlib.import_module(ours)
        except ModuleNotFoundError as e:
            if e.name != ours:
                raise
            raise ModuleNotFoundError(f"footmetrics has no module {ours} (for {spec.name})",
                                      name=spec.name) from None

    def exec_module(self, module):
        pass  # already executed as the footmetrics module


def install():
    """Puts the alias first on the import path (idempotent) and forgets any prometheus_client
    module imported before."""
    if any(isinstance(f, _Alias) for f in sys.meta_path):
        return
    for name in [n for n in sys.modules if n == INCUMBENT or n.startswith(INCUMBENT + ".")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Alias())


install()
