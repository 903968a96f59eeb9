"""Many messages built at once: in worker processes from POOL_FROM on, inline below it."""

from __future__ import annotations

import email
import email.policy

import pytest

from app.mail import batch


def spec(i: int) -> dict[str, object]:
    return {
        "from_": {"name": "Shop", "address": "shop@example.com"},
        "to": [{"name": f"Customer {i}", "address": f"c{i}@example.net"}],
        "subject": f"Order {i}",
        "text": f"Hello {i}",
        "html": f"<p>Hello {i}</p>",
        "message_id": f"<m{i}@example.com>",
    }


@pytest.mark.parametrize("count", [3, batch.POOL_FROM + 20])
async def test_every_message_is_built_in_order_and_a_bad_one_alone_fails(count: int) -> None:
    specs = [spec(i) for i in range(count)]
    specs[1] = {**specs[1], "subject": "line\r\nBcc: x@example.com"}
    built = await batch.build_many(specs)
    assert len(built) == count
    assert isinstance(built[1], str) and "line breaks" in built[1]
    for i, raw in enumerate(built):
        if i == 1:
            continue
        assert isinstance(raw, bytes)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["Subject"] == f"Order {i}" and msg["Message-ID"] == f"<m{i}@example.com>"
        assert msg["To"] == f"Customer {i} <c{i}@example.net>"
    batch.shutdown()
