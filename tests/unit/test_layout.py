"""The layout's rules, read from the source: imports point one way (driftline ->
pipeline -> components), and no module imports itself back through a cycle."""
import ast
from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT

PACKAGES = ["components", "pipeline", "driftline"]
# What each package may import of the project's own packages.
ALLOWED = {
    "components": {"components"},
    "pipeline": {"components", "pipeline"},
    "driftline": {"components", "pipeline", "driftline"},
}


def _modules():
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def _imports(path: Path, module: str):
    """Project modules imported anywhere in the file (top level or inside functions)."""
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


MODULES = dict(_modules())


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_one_way(module):
    package = module.split(".")[0]
    wrong = sorted(name for name in _imports(MODULES[module], module)
                   if name.split(".")[0] not in ALLOWED[package])
    assert not wrong, f"{module} imports {wrong}"


def test_no_import_cycle_between_modules():
    graph = {}
    for module, path in MODULES.items():
        graph[module] = {name for name in _imports(path, module) if name in MODULES and name != module}
    # A package's __init__ is imported with each of its modules; that is not a cycle.
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_layout_rules_see_every_package():
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    assert len(MODULES) > 30
