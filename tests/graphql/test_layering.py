"""The GraphQL package stands on strawberry's and graphql-core's public API and on the shared
transport pieces (``app.web``), never on REST's modules, and its resolver context is a leaf."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "app" / "graphql"
PRIVATE_ATTRIBUTES = {"_schema", "_body"}
PRIVATE_NAMES = {"field_details_list", "position_context", "validate_document"}


def imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules() -> dict[str, ast.AST]:
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))}


def test_graphql_imports_no_rest_module() -> None:
    found = {
        name: sorted(i for i in imports(tree) if i.startswith("app.api")) for name, tree in modules().items()
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_graphql_uses_no_private_library_internals() -> None:
    found: dict[str, set[str]] = {}
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
                found.setdefault(name, set()).add(node.attr)
            elif isinstance(node, ast.Name | ast.arg | ast.alias):
                ident = (
                    node.id
                    if isinstance(node, ast.Name)
                    else node.arg
                    if isinstance(node, ast.arg)
                    else node.name
                )
                if ident.rsplit(".", 1)[-1] in PRIVATE_NAMES:
                    found.setdefault(name, set()).add(ident)
    assert found == {}


def test_resolver_context_is_a_leaf() -> None:
    tree = modules()["context.py"]
    assert sorted(i for i in imports(tree) if i.startswith("app.graphql")) == []
