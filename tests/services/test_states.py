from __future__ import annotations

import pytest

from app.models import Account, AccountState
from app.services.states import IllegalTransition, can_transition, initial_state, transition

S = AccountState


class FakeSession:
    def __init__(self) -> None:
        self.added: list[object] = []
        self.info: dict[str, object] = {}

    def add(self, obj: object) -> None:
        self.added.append(obj)


def test_initial_state() -> None:
    assert initial_state({"host": "h"}, None) == S.init
    assert initial_state(None, None) == S.unset
    assert initial_state({"host": "h", "disabled": True}, None) == S.unset
    assert initial_state(None, {"provider": "gmail"}) == S.init
    assert initial_state(None, {"provider": "gmail", "enabled": False}) == S.unset


def test_lifecycle_records_events() -> None:
    acc = Account(id="a", name="A", state=S.init, imap={"auth": {"user": "u@x"}})
    session = FakeSession()
    for state in (S.connecting, S.syncing, S.connected, S.disconnected, S.connecting):
        transition(session, acc, state)  # type: ignore[arg-type]
    assert acc.state == S.connecting and acc.sync_time is not None
    transition(session, acc, S.authentication_error, {"response": "NO [AUTHENTICATIONFAILED]"})  # type: ignore[arg-type]
    assert acc.last_error == {"response": "NO [AUTHENTICATIONFAILED]"}
    types = [e.type for e in session.added]  # type: ignore[attr-defined]
    assert types == ["authenticationSuccess", "authenticationError"]


@pytest.mark.parametrize(
    ("a", "b"), [(S.init, S.connected), (S.disconnected, S.connected), (S.unset, S.connecting)]
)
def test_illegal(a: AccountState, b: AccountState) -> None:
    assert not can_transition(a, b)
    with pytest.raises(IllegalTransition):
        transition(FakeSession(), Account(id="a", name="A", state=a), b)  # type: ignore[arg-type]


def test_settings_changes_may_always_reset() -> None:
    for state in S:
        assert can_transition(state, S.init) and can_transition(state, S.unset)
