"""Render a cached object's sub-selection once, not on every request.

Completing a GraphQL value costs a few microseconds per field; a 20-message page is about a
thousand fields. Objects that mix in ``Memoized`` (folder pages, which the service layer already
caches and invalidates on every index change) remember the completed value per selection, so
the next identical query pays one dictionary lookup for the whole subtree.

Contract: everything below a ``Memoized`` object is plain data, with no resolver that depends on
the caller. Keys are the selection's AST nodes (the parser cache hands the same document to the
same query text; the memo keeps the nodes alive, so identity is never reused) plus the variables.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic_core import to_json
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

MAX_ENTRIES = 32  # distinct queries remembered per object
_MARK = secrets.token_hex(16)  # placeholders no response data can forge


def variables_key(coerced: dict[str, Any]) -> str:
    return repr(sorted(coerced.items()))


class Rendered(Mapping[str, Any]):
    """A completed value and its JSON, rendered once; reads like the dict it wraps."""

    __slots__ = ("json", "value")

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value
        self.json = encode(value)

    def __getitem__(self, key: str) -> Any:
        return self.value[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.value)

    def __len__(self) -> int:
        return len(self.value)


def encode(data: Any) -> bytes:
    """JSON for a response, splicing in the JSON of ``Rendered`` parts instead of encoding them
    again (most of a cached page's cost was its encoding)."""
    parts: list[bytes] = []

    def fallback(value: Any) -> Any:
        if isinstance(value, Rendered):
            parts.append(value.json)
            return f"\x00{_MARK}:{len(parts) - 1}\x00"
        raise TypeError(f"cannot encode {type(value).__name__}")

    out = to_json(data, fallback=fallback)
    for index, part in enumerate(parts):
        out = out.replace(b'"\\u0000%s:%d\\u0000"' % (_MARK.encode(), index), part, 1)
    return out


class Memoized:
    """Mix-in for objects whose rendering may be remembered (see the module docstring)."""

    __graphql_memo__: dict[Any, tuple[tuple[Any, ...], Any]]


class MemoizingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    _variables_key: str | None = None

    def complete_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if not isinstance(result, Memoized):
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        nodes = tuple(d.node for d in field_details_list)
        if any(d.fragment_variable_values is not None for d in field_details_list):
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        if self._variables_key is None:
            self._variables_key = variables_key(self.variable_values.coerced)
        key = (tuple(id(n) for n in nodes), self._variables_key)
        memo = result.__dict__.setdefault("__graphql_memo__", {})
        hit = memo.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], nodes, strict=True)):
            return hit[1]
        errors_before = len(self.collected_errors.errors)
        completed = super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )
        if isinstance(completed, dict) and len(self.collected_errors.errors) == errors_before:
            if len(memo) >= MAX_ENTRIES:
                memo.clear()
            rendered = Rendered(completed)
            memo[key] = (nodes, rendered)
            return rendered
        return completed
