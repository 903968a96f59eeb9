"""Limits on what one GraphQL document may ask for: size (tokens), aliases, depth and cost.

All are checked once per distinct document (the validation cache remembers the verdict), so
they must not depend on variable values: a page size given as a variable counts as its
declared default, or as the largest page allowed."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

MAX_TOKENS = 10_000
MAX_ALIASES = 50
MAX_DEPTH = 8  # the deepest real selection (messages → edges → node → from → name) is 5
MAX_COST = 200_000  # a 1000-message page with every field costs about 120,000
MAX_PAGE = 1000
PAGE_ARGUMENTS = ("first", "pageSize")
LIST_FACTOR = 5  # assumed length of a list with no page-size argument (recipients, attachments)


class CostLimit(ValidationRule):
    """Each field costs 1; a paged field multiplies its selection by the page size, any other
    list by ``LIST_FACTOR``. Documents above ``MAX_COST`` are refused before they run."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.defaults: dict[str, int] = {}

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        self.defaults = {
            v.variable.name.value: int(v.default_value.value)
            for v in node.variable_definitions or ()
            if isinstance(v.default_value, IntValueNode)
        }
        schema = self.context.schema
        root = {"query": schema.query_type, "mutation": schema.mutation_type}.get(
            node.operation.value, schema.subscription_type
        )
        if root is None:
            return
        cost = self._cost(node.selection_set, root, paged=False, seen=frozenset())
        if cost > MAX_COST:
            name = node.name.value if node.name else "anonymous"
            self.report_error(
                GraphQLError(
                    f"Operation '{name}' is too expensive: cost {cost} exceeds {MAX_COST}; "
                    "ask for fewer items or fields",
                    node,
                    extensions={
                        "code": "QueryTooComplex",
                        "statusCode": 400,
                        "cost": cost,
                        "maxCost": MAX_COST,
                    },
                )
            )

    def _page_size(self, node: FieldNode, field: Any) -> int | None:
        for name in PAGE_ARGUMENTS:
            if name not in field.args:
                continue
            given = next((a.value for a in node.arguments or () if a.name.value == name), None)
            if isinstance(given, IntValueNode):
                return max(0, min(int(given.value), MAX_PAGE))
            if isinstance(given, VariableNode):
                return min(self.defaults.get(given.name.value, MAX_PAGE), MAX_PAGE)
            default: Any = field.args[name].default_value
            return int(default) if isinstance(default, int) else MAX_PAGE
        return None

    def _cost(self, selection_set: SelectionSetNode, parent: Any, paged: bool, seen: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                    continue
                field = parent.fields.get(name)
                if field is None:
                    continue  # reported by the standard rules
                page = self._page_size(selection, field)
                child = 1
                if selection.selection_set is not None:
                    child += self._cost(
                        selection.selection_set, get_named_type(field.type), page is not None, seen
                    )
                if page is not None:
                    factor = page
                elif is_list_type(get_nullable_type(field.type)):
                    factor = 1 if paged else LIST_FACTOR
                else:
                    factor = 1
                total += child * factor
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.context.schema.get_type(condition.name.value) if condition else parent
                total += self._cost(selection.selection_set, target, paged, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # unknown or cyclic: the standard rules say so
                target = self.context.schema.get_type(fragment.type_condition.name.value)
                total += self._cost(fragment.selection_set, target, paged, seen | {name})
        return total


DepthLimit = depth_validator(MAX_DEPTH, None, None)
AliasLimit = alias_validator(MAX_ALIASES)


#: Added to GraphQL's standard validation rules.
RULES = (DepthLimit, AliasLimit, CostLimit)
