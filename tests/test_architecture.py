"""The house's walls: imports point webapp → engine.ops → engine.county → engine.bpm → engine.core.

Read from the source with `ast`, never imported, so an import inside a function counts as much
as one at the top of a module: a cycle that only closes when a function runs is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Inner first: a layer may import itself and the layers before it, never one after it.
LAYERS = ("engine.core", "engine.bpm", "engine.county", "engine.ops")
# The engine runs without the web: from a script, a test, the worker.
WEB = ("flask", "webapp")


@dataclass(frozen=True)
class Import:
    """One import statement: the module and file it is in, and its target as a dotted name."""

    source: str
    file: str
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.target}"


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name of a source file (`engine/bpm/__init__.py` is `engine.bpm`)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(package: str, root: Path = ROOT) -> dict[str, Path]:
    """Every module of a package folder, by dotted name."""
    return {module_name(path, root): path
            for path in sorted((root / package.replace(".", "/")).rglob("*.py"))}


def _base_of(path: Path, name: str, level: int) -> str:
    """The package a relative import of `level` dots starts from."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if level - 1 > len(package) - 1:
        raise ValueError(f"{path}: a relative import goes above the top-level package")
    return ".".join(package[:len(package) - (level - 1)])


def imports_of(path: Path, known: Iterable[str] = (), root: Path = ROOT) -> Iterator[Import]:
    """The imports of a file, in functions and `if` blocks too, relative ones resolved.

    A call of `importlib.import_module` or `__import__` with a literal absolute name counts too.

    `from pkg import a, b` is an import of `pkg.a` and `pkg.b` when those are modules in
    `known`, and of `pkg` otherwise (the names are then attributes of the package).
    """
    known = set(known)
    name = module_name(path, root)
    file = path.relative_to(root).as_posix()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, file, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _base_of(path, name, node.level)
                source = ".".join(p for p in (base, node.module) if p)
            else:
                source = node.module or ""
            targets = {f"{source}.{alias.name}" for alias in node.names} & known or {source}
            for target in sorted(targets):
                yield Import(name, file, node.lineno, target)
        elif _is_dynamic_import(node):
            yield Import(name, file, node.lineno, node.args[0].value)


def _is_dynamic_import(node: ast.AST) -> bool:
    """`importlib.import_module("x")` or `__import__("x")`: an import all the same."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    first = node.args[0]
    return (called in ("import_module", "__import__") and isinstance(first, ast.Constant)
            and isinstance(first.value, str) and not first.value.startswith("."))


def _within(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def engine_imports(root: Path = ROOT) -> list[Import]:
    """Every import made by a module under engine/, resolved against the engine's modules."""
    modules = modules_under("engine", root)
    return [imp for path in modules.values() for imp in imports_of(path, modules, root)]


def layering_violations(imports: Iterable[Import]) -> list[str]:
    """The imports that point outward: from a layer to a layer after it."""
    found = []
    for imp in imports:
        here = next((i for i, layer in enumerate(LAYERS) if _within(imp.source, layer)), None)
        if here is None:
            continue
        outer = [layer for layer in LAYERS[here + 1:] if _within(imp.target, layer)]
        if outer:
            allowed = ", ".join(reversed(LAYERS[:here + 1]))
            found.append(f"{imp} ({LAYERS[here]} may import only {allowed})")
    return found


def import_cycles(imports: Iterable[Import],
                  modules: Iterable[str]) -> list[tuple[list[str], list[Import]]]:
    """Each group of modules that reach one another, with one shortest cycle through it."""
    modules = set(modules)
    edges: dict[str, dict[str, Import]] = {name: {} for name in modules}
    for imp in imports:
        if imp.target in modules and imp.target != imp.source:
            edges[imp.source].setdefault(imp.target, imp)
    return [(sorted(group), _shortest_cycle(group, edges))
            for group in _strongly_connected(edges) if len(group) > 1]


def _strongly_connected(edges: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative so that a long chain of imports needs no deep recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            step = next(successors, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(edges[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _shortest_cycle(group: set[str], edges: dict[str, dict[str, Import]]) -> list[Import]:
    """A shortest chain of imports from the group's first module back to itself."""
    start = min(group)
    reached_by: dict[str, Import] = {}
    frontier = [start]
    while start not in reached_by:
        following = []
        for node in frontier:
            for target, imp in sorted(edges[node].items()):
                if target in group and target not in reached_by:
                    reached_by[target] = imp
                    following.append(target)
        frontier = following
    cycle = [reached_by[start]]
    while cycle[-1].source != start:
        cycle.append(reached_by[cycle[-1].source])
    return list(reversed(cycle))


def describe(group: list[str], cycle: list[Import]) -> str:
    """A group of modules in a cycle, and the chain of imports that closes one cycle of it."""
    return (f"import cycle among {', '.join(group)}:\n    "
            + "\n    ".join(str(imp) for imp in cycle))


# ---------------------------------------------------------------- the house

def test_each_engine_layer_imports_only_itself_and_the_layers_below_it():
    violations = layering_violations(engine_imports())
    assert not violations, "imports that point outward:\n    " + "\n    ".join(violations)


def test_the_engine_never_imports_flask_or_the_webapp():
    web = [str(imp) for imp in engine_imports()
           if any(_within(imp.target, name) or imp.target.startswith(name + "_") for name in WEB)]
    assert not web, "the engine must run without the web:\n    " + "\n    ".join(web)


def test_there_is_no_import_cycle_among_engine_modules_even_inside_functions():
    cycles = import_cycles(engine_imports(), modules_under("engine"))
    assert not cycles, "\n".join(describe(group, cycle) for group, cycle in cycles)


def test_the_engine_tests_never_import_the_webapp_even_through_test_helpers():
    tests = modules_under("tests")
    reached, todo, web = set(), ["tests.conftest", *modules_under("tests.engine")], []
    while todo:
        name = todo.pop()
        if name in reached or name not in tests:
            continue
        reached.add(name)
        for imp in imports_of(tests[name], tests):
            if _within(imp.target, "webapp"):
                web.append(str(imp))
            elif _within(imp.target, "tests"):
                todo.append(imp.target)
    assert not web, "tests/engine must run without the web app:\n    " + "\n    ".join(web)


# The runtime's completion, which only the task-action service may call: it reads the task
# once, checks it once against the one table, then runs it.
COMPLETION = "_complete_task"
COMPLETION_CALLERS = {"engine/bpm/runtime.py", "engine/bpm/task_actions.py"}


def test_every_task_completion_goes_through_the_task_action_service():
    named = []
    for folder in ("engine", "webapp", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if where in COMPLETION_CALLERS:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                name = (node.attr if isinstance(node, ast.Attribute)
                        else node.id if isinstance(node, ast.Name)
                        else node.name if isinstance(node, ast.alias) else None)
                if name is not None and name.split(".")[-1] == COMPLETION:
                    named.append(f"{where}:{node.lineno}")
    assert not named, ("complete tasks through engine.bpm.task_actions, not the runtime:\n    "
                       + "\n    ".join(named))


# ---------------------------------------------------------------- the checker itself

def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_scanner_resolves_relative_imports_and_sees_those_inside_functions(tmp_path):
    _write(tmp_path, {
        "engine/__init__.py": "",
        "engine/core/__init__.py": "",
        "engine/core/clock.py": "from . import models\nfrom .models import Base\n",
        "engine/core/models.py": "def later():\n    from ..county import plates\n",
        "engine/county/__init__.py": "",
        "engine/county/plates.py": "from .. import core\nimport engine.core.clock as c\n",
        "engine/county/awards.py": "import importlib\nimportlib.import_module('engine.ops.cli')\n",
    })
    modules = modules_under("engine", tmp_path)
    imports = [imp for path in modules.values() for imp in imports_of(path, modules, tmp_path)]
    found = {(imp.source, imp.target) for imp in imports}
    assert found == {
        ("engine.core.clock", "engine.core.models"),
        ("engine.core.models", "engine.county.plates"),
        ("engine.county.plates", "engine.core"),
        ("engine.county.plates", "engine.core.clock"),
        ("engine.county.awards", "importlib"),
        ("engine.county.awards", "engine.ops.cli"),
    }
    assert [v.split(" (")[0] for v in layering_violations(imports)] == [
        "engine/core/models.py:2 imports engine.county.plates",
        "engine/county/awards.py:2 imports engine.ops.cli",
    ]


def test_the_cycle_finder_names_a_cycle_that_closes_inside_a_function(tmp_path):
    _write(tmp_path, {
        "engine/__init__.py": "",
        "engine/bpm/__init__.py": "",
        "engine/bpm/runtime.py": "from ..county.plates import evaluate\n",
        "engine/county/__init__.py": "",
        "engine/county/plates.py": "from . import awards\n",
        "engine/county/awards.py": "def start():\n    from ..bpm import runtime\n",
        "engine/county/agendas.py": "from .awards import start\n",
    })
    modules = modules_under("engine", tmp_path)
    imports = [imp for path in modules.values() for imp in imports_of(path, modules, tmp_path)]
    ((group, cycle),) = import_cycles(imports, modules)
    assert group == ["engine.bpm.runtime", "engine.county.awards", "engine.county.plates"]
    assert [(imp.source, imp.target) for imp in cycle] == [
        ("engine.bpm.runtime", "engine.county.plates"),
        ("engine.county.plates", "engine.county.awards"),
        ("engine.county.awards", "engine.bpm.runtime"),
    ]
