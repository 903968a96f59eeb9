"""Strawberry types generated from pydantic models: one definition of every shape for REST and
GraphQL. Field names, descriptions, nullability and nesting come from the model; anything a
GraphQL type cannot say exactly (free-form objects, ``list | "*"`` unions) becomes ``JSON``."""

from __future__ import annotations

import dataclasses
import enum
import types
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import strawberry
from pydantic import BaseModel
from strawberry.scalars import JSON

SCALARS: tuple[type, ...] = (str, int, float, bool, datetime)
_cache: dict[tuple[type[BaseModel], bool, str], type] = {}
_names: dict[type[BaseModel], str] = {}
_overrides: dict[type[BaseModel], dict[str, Any]] = {}


def register(model: type[BaseModel], name: str, **overrides: Any) -> None:
    """Name a model's GraphQL type (``AddressOut`` is just ``Address``) and override field types
    (an epoch in milliseconds overflows GraphQL's 32-bit ``Int``), wherever the model appears."""
    _names[model] = name
    _overrides[model] = overrides


@dataclasses.dataclass(frozen=True)
class _Shape:
    type: Any
    nullable: bool
    can_be_false: bool = False  # ``X | Literal[False]`` (EmailEngine's "switched off")


def _shape(annotation: Any, as_input: bool) -> _Shape:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _shape(args[0], as_input)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        nullable = len(members) < len(args)
        can_be_false = any(get_origin(a) is Literal and args_of(a) == (False,) for a in members)
        members = [a for a in members if not (get_origin(a) is Literal and args_of(a) == (False,))]
        if len(members) == 1 and (as_input or not can_be_false):
            inner = _shape(members[0], as_input)
            return _Shape(inner.type, nullable or inner.nullable, can_be_false)
        return _Shape(JSON, nullable, can_be_false)
    if origin is Literal:
        kinds = {type(a) for a in args}
        return _Shape(kinds.pop() if len(kinds) == 1 else JSON, False)
    if origin is list:
        inner = _shape(args[0], as_input)
        return _Shape(list[inner.type | None] if inner.nullable else list[inner.type], False)  # type: ignore[name-defined]
    if origin is dict or annotation is Any:
        return _Shape(JSON, False)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return _Shape(str, False)
        if issubclass(annotation, BaseModel):
            return _Shape(input_type(annotation) if as_input else output_type(annotation), False)
        if annotation in SCALARS:
            return _Shape(annotation, False)
    return _Shape(JSON, False)


def args_of(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation)


def _build(model: type[BaseModel], name: str, as_input: bool, overrides: dict[str, Any]) -> type:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for python_name, info in model.model_fields.items():
        graphql_name = info.alias or python_name
        if python_name in overrides:
            annotation = overrides[python_name]
        else:
            shape = _shape(info.annotation, as_input)
            annotation = shape.type | None if shape.nullable or as_input else shape.type
            if as_input and shape.can_be_false:
                # GraphQL has no "object or false": a sibling flag says "switched off".
                flag = "no" + graphql_name[0].upper() + graphql_name[1:]
                annotations[flag] = bool | None
                namespace[flag] = strawberry.field(
                    default=strawberry.UNSET, description=f"true stores no {graphql_name} settings at all"
                )
        annotations[python_name] = annotation
        options: dict[str, Any] = {"name": graphql_name, "description": info.description}
        if as_input:
            options["default"] = strawberry.UNSET
        namespace[python_name] = strawberry.field(**options)
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    cls = type(name, (), namespace)
    description = model.__dict__.get("__doc__")
    if as_input:
        return strawberry.input(cls, name=name, description=description)
    return strawberry.type(cls, name=name, description=description)


def output_type(model: type[BaseModel]) -> type:
    """The GraphQL object type for a REST response shape (resolvers return the model itself)."""
    name = _names.get(model, model.__name__)
    key = (model, False, name)
    if key not in _cache:
        _cache[key] = _build(model, name, False, _overrides.get(model, {}))
    return _cache[key]


def input_type(model: type[BaseModel], name: str | None = None) -> type:
    """The GraphQL input type for a REST request shape; every field is optional in GraphQL and
    the model (via ``to_payload``) decides what is required, with REST's messages."""
    base = name or _names.get(model, model.__name__)
    if not base.endswith("Input"):
        base += "Input"
    key = (model, True, base)
    if key not in _cache:
        _cache[key] = _build(model, base, True, {})
    return _cache[key]


def to_payload(value: Any) -> Any:
    """A strawberry input value as the JSON-like data the pydantic model validates (unset
    fields left out, so that partial updates stay partial)."""
    if isinstance(value, list):
        return [to_payload(v) for v in value]
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    definition: Any = getattr(value, "__strawberry_definition__")  # noqa: B009
    out: dict[str, Any] = {}
    for field in definition.fields:
        item = getattr(value, field.python_name)
        if item is strawberry.UNSET:
            continue
        name = field.graphql_name or field.python_name
        if name.startswith("no") and name[2:3].isupper() and isinstance(item, bool):
            target = name[2].lower() + name[3:]
            if item:
                out[target] = False
            continue
        out.setdefault(name, to_payload(item))
    return out
