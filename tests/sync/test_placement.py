"""The share of accounts each sync process takes."""

from __future__ import annotations

from app.sync import placement


def test_share_keeps_every_process_within_one_account() -> None:
    assert [placement.share(1000, w) for w in (1, 2, 3, 7)] == [1000, 500, 334, 143]
    assert placement.share(0, 3) == 0 and placement.share(5, 0) == 5
