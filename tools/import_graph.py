"""The import graph of the hand-written package, ``ray_jobs_client`` (``_sync/`` stands for itself).

    python tools/import_graph.py [CHECKOUT]   # modules, import arrows, floors, any import circle

An arrow is an import at a module's top level or inside a function, of another module of the
package; imports under ``if TYPE_CHECKING:`` are not arrows (they never run). Floors: the length of
the longest chain of arrows from a module down to one that imports no other module of the package.
``tests/unit/test_architecture.py`` holds the package to having no circle.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

PACKAGE = "ray_jobs_client"
ROOT = Path(__file__).resolve().parents[1] / "wrapper" / PACKAGE


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, name: str, is_package: bool, modules: set[str]) -> set[str]:
    found: set[str] = set()
    base = name if is_package else name.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(PACKAGE))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith(PACKAGE):
                for alias in node.names:  # `from . import defaults` imports a module; else the target
                    submodule = f"{target}.{alias.name}"
                    found.add(submodule if submodule in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of the package → the modules of the package it imports."""
    paths = {module_name(path, root): path for path in root.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = _imports(tree, name, path.name == "__init__.py", set(paths))
        edges[name] = {target for target in targets if target in paths and target != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle (as a list of modules), found by depth-first search."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def floors(edges: dict[str, set[str]]) -> dict[str, int]:
    """Each module's floor (see the module's description); a graph with circles has no floors."""

    @cache
    def floor(node: str) -> int:
        return 1 + max((floor(target) for target in edges[node]), default=0)

    return {node: floor(node) for node in edges}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    edges = graph(Path(args[0]).resolve() / "wrapper" / PACKAGE if args else ROOT)
    found = cycles(edges)
    print(f"{len(edges)} modules, {sum(len(t) for t in edges.values())} import arrows")
    if found:
        for cycle in found:
            print("circle: " + " -> ".join(cycle))
        return 1
    levels = floors(edges)
    print(f"{max(levels.values())} floors")
    for node, level in sorted(levels.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {level:2d}  {node}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
