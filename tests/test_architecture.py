"""The shape of the code, checked: no import cycle, no engine importing another, no module
grown past what one reader holds in mind, every Redis key in one module."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import blastdeck

PACKAGE = Path(blastdeck.__file__).parent
MAX_MODULE_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, known: set[str]) -> set[str]:
    """The blastdeck modules `path` imports, at any level, except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("blastdeck"):
                continue
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("blastdeck"))
    return found & known


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, known) - {name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> Iterator[list[str]]:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                yield from visit(w)
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
                yield sorted(component)

    for v in sorted(graph):
        if v not in index:
            yield from visit(v)


def test_no_import_cycle() -> None:
    assert list(_cycles(_graph())) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert list(_cycles(graph)) == [["a", "b", "c"]]


def _engine_modules() -> set[str]:
    """Modules that define an engine: they own an `EngineKind` record."""
    return {
        name
        for name, path in _modules().items()
        if name.startswith("blastdeck.engines.")
        and re.search(r"^KIND = EngineKind\(", path.read_text(), re.M)
    }


def test_no_engine_imports_another() -> None:
    engines = _engine_modules()
    assert {"blastdeck.engines.local", "blastdeck.engines.slurm"} <= engines
    graph = _graph()
    for engine in engines:
        assert graph[engine] & engines == set(), f"{engine} imports {graph[engine] & engines}"


def test_no_module_is_longer_than_one_reader_holds() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"split these modules by concept: {long}"


def test_every_redis_key_is_named_in_redis_keys() -> None:
    """arq's rule: every key prefix in one place, so an operator can see what BlastDeck keeps."""
    literal = re.compile(r"""["'](?:blastdeck|elb):[^"']*["']""")
    offenders = [
        f"{name}: {m.group()}"
        for name, path in _modules().items()
        if name != "blastdeck.redis_keys"
        for m in literal.finditer(path.read_text())
    ]
    assert offenders == []
