"""Connection settings as stored: secrets encrypted on the way in, masked on the way out."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from app.crypto import Cipher

MASK = "******"
SECRET_PATHS: tuple[tuple[str, ...], ...] = (
    ("auth", "pass"),
    ("auth", "accessToken"),
    ("accessToken",),
    ("refreshToken",),
)


def _get(tree: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    node: Any = tree
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def merge(
    incoming: BaseModel, stored: dict[str, Any] | None, cipher: Cipher, *, partial: bool
) -> dict[str, Any]:
    """Build the stored form of ``incoming``.

    With ``partial`` its top-level keys are merged into ``stored`` (an explicit null removes a key);
    otherwise it replaces ``stored``. A secret sent back as the mask keeps the stored secret, so a
    client may round-trip what GET returned.
    """
    new = incoming.model_dump(by_alias=True, exclude_unset=True, mode="json")
    new.pop("partial", None)
    for path in SECRET_PATHS:
        value = _get(new, path)
        if value == MASK:
            _set(new, path, _get(stored, path))
        elif isinstance(value, str):
            _set(new, path, cipher.encrypt(value))
    if not partial:
        return {k: v for k, v in new.items() if v is not None}
    merged = dict(stored or {})
    for key, value in new.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def masked(stored: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(stored)
    for path in SECRET_PATHS:
        if _get(out, path) is not None:
            _set(out, path, MASK)
    return out


def reveal(stored: dict[str, Any] | None, cipher: Cipher) -> dict[str, Any] | None:
    """Decrypted copy, for the code that logs in to a mail server and nowhere else."""
    if stored is None:
        return None
    out = copy.deepcopy(stored)
    for path in SECRET_PATHS:
        value = _get(out, path)
        if isinstance(value, str):
            _set(out, path, cipher.decrypt(value))
    return out
