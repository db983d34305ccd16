"""The layout's rules, read from the source: imports point one way (driftline ->
pipeline -> components), and no module imports itself back through a cycle."""
import ast
import re
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


# driftline's own rooms, lowest first: a room imports only rooms below it. Measuring
# (monitoring) never starts a run or decides a rollout; deciding (autopilot) may do both;
# the commands sit on top of everything.
ROOMS = {
    "errors": 0, "config": 0,
    "mlmd": 1, "data": 1,
    "views": 2,
    "schema": 3, "analysis": 3,
    "serving": 4,
    "monitoring": 5,
    "tracking": 4,
    "run": 6, "kubeflow": 6,
    "autopilot": 7, "airflow": 7,
    "commands": 8, "cli": 9, "__main__": 10,
}


def _room(module: str):
    parts = module.split(".")
    return None if parts[0] != "driftline" or len(parts) == 1 else parts[1]


def _not_below(module: str, imported: set) -> list:
    room = _room(module)
    return sorted(name for name in imported
                  if _room(name) not in (None, room) and ROOMS.get(_room(name), 99) >= ROOMS[room])


def _borrowed(imported: set) -> list:
    return sorted(name for name in imported
                  if name.startswith("driftline.commands.") and not name.startswith("driftline.commands.common"))


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _room(m)))
def test_driftline_rooms_import_only_rooms_below_them(module):
    assert _room(module) in ROOMS, f"{module}: the room '{_room(module)}' has no place in ROOMS"
    wrong = _not_below(module, _imports(MODULES[module], module))
    assert not wrong, f"{module} ({_room(module)}) imports {wrong}, which are not below it"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _room(m) == "commands"))
def test_a_command_does_not_borrow_from_another_command(module):
    borrowed = _borrowed(_imports(MODULES[module], module))
    assert not borrowed, f"{module} imports {borrowed}: what two commands share belongs in a room below"


# The imports that once ran both ways between driftline's subpackages, as they would be
# written today. Each put back must be caught by one of the rules above.
PUT_BACK = [
    ("driftline.mlmd.lineage", "driftline.autopilot.retraining", _not_below),
    ("driftline.serving.rest", "driftline.monitoring.dashboard", _not_below),
    ("driftline.monitoring.window", "driftline.autopilot.watcher", _not_below),
    ("driftline.monitoring.passes", "driftline.run.run", _not_below),
    ("driftline.serving.models", "driftline.views.charts", None),
    ("driftline.commands.monitor", "driftline.commands.schema", "borrow"),
]


@pytest.mark.parametrize("module, target, rule", PUT_BACK, ids=[f"{m}->{t}" for m, t, _ in PUT_BACK])
def test_the_room_rules_catch_a_cycle_put_back(module, target, rule):
    assert module in MODULES and target in MODULES, "the pair names modules that exist"
    imported = _imports(MODULES[module], module) | {target}
    if rule == "borrow":
        assert target in _borrowed(imported)
    elif rule is None:
        # views sit below serving: this direction is allowed, the opposite is not.
        assert target not in _not_below(module, imported)
        assert module in _not_below(target, _imports(MODULES[target], target) | {module})
    else:
        assert target in rule(module, imported)


def test_a_private_name_used_across_modules_is_caught(tmp_path):
    source = tmp_path / "watcher.py"
    source.write_text("from components.model_gate import metrics\n"
                      "x = metrics._percentiles([1.0], 0.95)\n")
    assert _private_uses(source) == {"metrics._percentiles"}


def _private_uses(path: Path):
    """`module._name` for project modules imported under a name in this file."""
    tree = ast.parse(path.read_text(), str(path))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            imported.update(alias.asname or alias.name for alias in node.names
                            if f"{node.module}.{alias.name}" in MODULES)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in imported and node.attr.startswith("_") and not node.attr.startswith("__"):
            found.add(f"{node.value.id}.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            found.update(f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")
                         and not a.name.startswith("__"))
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_reaches_into_another_modules_private_names(module):
    found = _private_uses(MODULES[module])
    assert not found, f"{module} uses {sorted(found)}: make it public where it is defined, or move it"


DOCS = PROJECT_ROOT / "docs"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")) + ["README.md"])
def test_the_docs_are_written_for_users(page):
    """Present tense for users: no first person, no issue numbers, no development rounds."""
    import re

    path = PROJECT_ROOT / page if page == "README.md" else DOCS / page
    found = [f"{path.name}:{n}: {line.strip()[:80]}" for n, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"\b[Ii]ssue \d+|\b(I(?!/O)|we|We|our|Our)\b|\b[Rr]ound \d\b|\bthis round\b", line)]
    assert not found, "\n".join(found)


def test_the_readme_is_a_page_and_every_doc_is_in_the_site():
    assert len((PROJECT_ROOT / "README.md").read_text().splitlines()) <= 300
    nav = (PROJECT_ROOT / "mkdocs.yml").read_text()
    assert {p.name for p in DOCS.glob("*.md")} == set(re.findall(r"(\w[\w-]*\.md)", nav))
