"""The layout holds: the repository stands alone, and the imports of ``src/`` point down.

Read statically (``ast``), so a lazy import inside a function counts as much
as one at the top of a module: what matters is which module may need which.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

#: Layers from the bottom up; a module may import its own layer and those below.
LAYERS = [
    ("foundation", ("cache._types", "cache._clock", "cache._recorder", "cache.errors")),
    ("backend", ("cache.backend",)),
    ("advanced", ("cache.advanced",)),
    ("web", ("cache.web",)),
    ("entry points", ("cache.cli", "cache.__main__", "cache.testing", "cache")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the modules of the package that ``name`` imports, anywhere in its code."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import submodule`` imports the submodule itself.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def layer_of(name: str) -> int:
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{name} belongs to no layer: add it to LAYERS"
    return rank


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def test_no_import_circles(graph: dict[str, set[str]]) -> None:
    # Tarjan's strongly connected components; any of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


def test_no_module_imports_from_a_layer_above(graph: dict[str, set[str]]) -> None:
    upward = [
        f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for name, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(name)
    ]
    assert upward == []


def test_private_modules_are_imported_only_inside_their_package(
    graph: dict[str, set[str]],
) -> None:
    leaks = []
    for name, targets in sorted(graph.items()):
        for target in sorted(targets):
            owner, _, leaf = target.rpartition(".")
            private = leaf.startswith("_") and not leaf.startswith("__")
            if private and not (name == owner or name.startswith(owner + ".")):
                leaks.append(f"{name} imports {target}")
    assert leaks == []


def test_the_layout_check_sees_a_circle_and_an_upward_import(tmp_path: Path) -> None:
    """The checks above read real imports (they would fail on a circle)."""
    known = {"cache.backend.a", "cache.web.b"}
    a = tmp_path / "a.py"
    a.write_text("from cache.web.b import x\n")
    b = tmp_path / "b.py"
    b.write_text("def f():\n    from cache.backend import a\n")
    assert imports_of("cache.backend.a", a, known) == {"cache.web.b"}
    assert imports_of("cache.web.b", b, known) == {"cache.backend.a"}
    assert layer_of("cache.web.b") > layer_of("cache.backend.a")


#: Files whose text may mention a way out of the repository: this test names the patterns.
_SELF = {Path(__file__).resolve()}
_OUTSIDE = re.compile(r"\.\./shared|[\"']shared[\"']\s*/|shared/(spec|data|conformance|hooks)")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    paths = []
    for rel in listed:
        path = ROOT / rel
        if path.is_file() and path.suffix not in {".gz", ".png", ".ico", ".woff2"}:
            paths.append(path)
    return paths


def test_nothing_in_the_repository_reads_outside_it() -> None:
    offending = []
    for path in tracked_text_files():
        if path.resolve() in _SELF:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(ROOT)
        depth = len(rel.parts) - 1  # folders between the root and the file
        for number, line in enumerate(text.splitlines(), 1):
            if _OUTSIDE.search(line):
                offending.append(f"{rel}:{number}: {line.strip()}")
            for match in re.finditer(r"parents\[(\d+)\]", line):
                if int(match.group(1)) > depth:
                    offending.append(f"{rel}:{number}: climbs above the root: {line.strip()}")
            for match in re.finditer(r"(?:\.\./)+", line):
                if match.group(0).count("../") > depth:
                    offending.append(f"{rel}:{number}: climbs above the root: {line.strip()}")
    assert offending == []


#: Functions allowed past 50 lines, each with the reason (none today).
LONG_FUNCTIONS: dict[str, str] = {}


def test_files_and_functions_stay_small() -> None:
    """No file of src/ or demo/ over 400 lines, no function over 50 unless listed with why."""
    too_big = []
    for path in sorted([*SRC.rglob("*.py"), *(ROOT / "demo").rglob("*.py")]):
        text = path.read_text()
        rel = path.relative_to(ROOT)
        if len(text.splitlines()) > 400:
            too_big.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                name = f"{rel}:{node.name}"
                if length > 50 and name not in LONG_FUNCTIONS:
                    too_big.append(f"{name}: {length} lines")
    assert too_big == []
