"""`tfx.components` with each of its components imported when first named.

TFX's `tfx/components/__init__.py` imports all of TFX's components, and with them
keras_tuner and Keras 3 (the Tuner), the Kubernetes client (the InfraValidator) and
BulkInferrer's executor. TFX's own input resolution imports `tfx.components.evaluator`
in every process that runs a pipeline, so every run paid seconds of start-up for
components the graph never uses. Once `defer()` has run, importing the package does
not run that file: its submodules import as before, and a name the file exports (or a
subpackage) is imported on first use, so `from tfx.components import Trainer` still
works and loads the Trainer alone. Installing the hook imports nothing, so a command
that never touches TFX still loads none of it.
"""
import ast
import importlib
import importlib.abc
import importlib.machinery
import sys

PACKAGE = "tfx.components"


def _exports(init_file: str) -> dict:
    """Each name the package's __init__ imports, and the module it comes from."""
    with open(init_file) as f:
        tree = ast.parse(f.read(), init_file)
    return {alias.asname or alias.name: node.module
            for node in tree.body if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names}


def _attribute(name: str, exports: dict):
    if name in exports:
        return getattr(importlib.import_module(exports[name]), name)
    # The real __init__ leaves its subpackages imported as attributes.
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ModuleNotFoundError as missing:
        if missing.name != f"{PACKAGE}.{name}":
            raise
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None


class _DeferredLoader(importlib.abc.Loader):
    def __init__(self, init_file: str):
        self.init_file = init_file

    def create_module(self, spec):
        return None  # the default module, with the package's own __path__ and __file__

    def exec_module(self, module):
        exports = _exports(self.init_file)

        def __getattr__(name):
            value = _attribute(name, exports)
            setattr(module, name, value)
            return value

        module.__getattr__ = __getattr__
        module.__all__ = sorted(exports)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds `tfx.components` where Python would, and hands it the deferring loader."""

    def find_spec(self, name, path, target=None):
        if name != PACKAGE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.origin and spec.submodule_search_locations is not None:
            spec.loader = _DeferredLoader(spec.origin)
        return spec


def defer():
    """Installs the hook (once); a process that already imported the package keeps it."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
