"""The package's layers: every module imports only its own floor or lower ones (parsed imports,
function-level imports included), and ``pyslice/`` itself stays small."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pyslice

PACKAGE = Path(pyslice.__file__).resolve().parent
#: Floors, lowest first. ``_core`` is the C++ extension (below everything).
FLOORS = {"_core": 0, "base": 0, "sim": 1, "envs": 2, "learn": 3, "study": 4, "settings": 5, "sweep": 6, "bench": 6,
          "commands": 7, "cli": 7, "__init__": 7}


def floor_of(module: str) -> int:
    """Floor of a dotted module name inside pyslice (``pyslice.sim.scenario`` -> 1)."""
    parts = module.split(".")
    assert parts[0] == "pyslice", module
    if len(parts) == 1:
        return FLOORS["__init__"]
    if parts[1] not in FLOORS:
        raise AssertionError(f"{module}: not on any floor; add its folder to FLOORS")
    return FLOORS[parts[1]]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every pyslice import in ``path``; ``from pyslice.x import y`` counts
    ``pyslice.x.y`` when ``y`` is a module of that package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "pyslice"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "pyslice":
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                is_module = (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").is_file() or a.name == "_core"
                found.append((node.lineno, sub if is_module else node.module))
    return found


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts)


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_tree_is_where_we_think():
    assert len(SOURCES) > 30
    assert {p.parent.name for p in SOURCES} >= {"base", "sim", "envs", "learn", "study"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_no_module_imports_a_higher_floor(path):
    me = module_name(path)
    mine = floor_of(me.removesuffix(".__init__")) if me != "pyslice.__init__" else FLOORS["__init__"]
    upward = [f"line {line}: {mod} (floor {floor_of(mod)})" for line, mod in imported_modules(path) if floor_of(mod) > mine]
    assert not upward, f"{me} (floor {mine}) imports a higher floor: " + "; ".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    """The parser finds plain, aliased, from- and function-level imports (the test can fail)."""
    src = tmp_path / "x.py"
    src.write_text("import pyslice.study.experiment as s\ndef f():\n    from pyslice.learn import td3\n"
                   "    from pyslice.sim.scenario import Scenario\n")
    assert [m for _, m in imported_modules(src)] == ["pyslice.study.experiment", "pyslice.learn.td3", "pyslice.sim.scenario"]
    assert [floor_of(m) for _, m in imported_modules(src)] == [4, 3, 1]


def test_few_modules_at_the_top():
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 8, top


def import_graph() -> dict[str, set[str]]:
    """Module -> the pyslice modules it imports (function-level imports included)."""
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        me = module_name(path).removesuffix(".__init__")
        graph[me] = {mod for _, mod in imported_modules(path) if mod != me}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_the_circle_check_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def function_level_imports() -> list[tuple[str, int, str]]:
    """(module, line, text) of every import inside a function body."""
    found = []
    for path in SOURCES:
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += [(module_name(path), sub.lineno, lines[sub.lineno - 1].strip()) for sub in ast.walk(node)
                          if isinstance(sub, (ast.Import, ast.ImportFrom))]
    return found


def test_few_function_level_imports_and_each_says_why():
    """Imports belong at the top; the few in functions (optional extras) carry their reason as a
    comment on the line."""
    found = function_level_imports()
    assert len(found) <= 20, found
    unexplained = [f"{m}:{line}: {text}" for m, line, text in found if "#" not in text]
    assert not unexplained, unexplained


def test_long_modules_say_why():
    """A module over 600 lines says why in its docstring ("... ~600 lines ...: the reason")."""
    long = [module_name(p) for p in SOURCES if len(p.read_text().splitlines()) > 600
            and "~600 lines" not in " ".join((ast.get_docstring(ast.parse(p.read_text())) or "").split())]
    assert not long, long


def test_no_function_over_100_lines():
    long = [f"{module_name(p)}.{n.name} ({n.end_lineno - n.lineno + 1})" for p in SOURCES
            for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > 100]
    assert not long, long
