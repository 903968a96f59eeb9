"""Which FETCH lines answer a request, and which are the server's news of a change meanwhile."""

from __future__ import annotations

from app.mail import unsolicited
from app.mail.session import Fetched, UidsFrom
from app.mail.types import Envelope, FetchedMessage


def summary(seq: int, uid: int, *, envelope: bool = True) -> FetchedMessage:
    return FetchedMessage(seq, uid=uid, flags=[], size=100, envelope=Envelope() if envelope else None)


def flags(seq: int, uid: int | None) -> FetchedMessage:
    return FetchedMessage(seq, uid=uid, flags=["\\Seen"])


def uids_of(found: Fetched) -> list[int | None]:
    return [m.uid for m in found.messages]


def news(found: Fetched) -> bool:
    return any(m.uid is None for m in found.messages)


def test_a_plain_answer_is_kept_whole() -> None:
    found = unsolicited.only_answers(Fetched([summary(1, 5), summary(2, 6)]), [5, 6], unsolicited.has_summary)
    assert uids_of(found) == [5, 6] and not news(found)


def test_the_last_message_below_n_answers_n_star_and_is_no_news() -> None:
    found = unsolicited.only_answers(Fetched([summary(2, 6)]), UidsFrom(7), unsolicited.has_summary)
    assert found.messages == []


def test_a_flags_line_next_to_summaries_is_news() -> None:
    lines = [summary(2, 6), flags(1, 5)]
    found = unsolicited.only_answers(Fetched(lines), UidsFrom(6), unsolicited.has_summary)
    assert uids_of(found) == [6, None] and found.messages[-1].seq == 0


def test_a_line_about_an_unrequested_uid_is_news() -> None:
    found = unsolicited.only_answers(Fetched([flags(1, 5), flags(3, 9)]), range(1, 6), unsolicited.has_flags)
    assert uids_of(found) == [5, None]


def test_a_line_without_uid_stays_and_needs_no_mark() -> None:
    found = unsolicited.only_answers(
        Fetched([flags(1, 5), flags(2, None), flags(3, 9)]), [5], unsolicited.has_flags
    )
    assert [(m.seq, m.uid) for m in found.messages] == [(1, 5), (2, None)]


def test_a_mark_from_the_fetch_is_kept_once() -> None:
    found = unsolicited.only_answers(
        Fetched([summary(1, 5), unsolicited.news_mark(), flags(2, 3)]), [5], unsolicited.has_summary
    )
    assert [(m.seq, m.uid) for m in found.messages] == [(1, 5), (0, None)]


def test_a_summary_with_a_malformed_envelope_still_answers() -> None:
    found = unsolicited.only_answers(Fetched([summary(1, 5, envelope=False)]), [5], unsolicited.has_summary)
    assert uids_of(found) == [5]


def test_which_untagged_lines_are_news() -> None:
    assert unsolicited.reports_change([b"3 EXISTS"])
    assert unsolicited.reports_change([b"OK [HIGHESTMODSEQ 9] x", b"2 EXPUNGE"])
    assert unsolicited.reports_change([b"VANISHED 4:5"])
    assert not unsolicited.reports_change([b"VANISHED (EARLIER) 4:5", b"OK [HIGHESTMODSEQ 9] x"])
    assert unsolicited.vanished_earlier([b"VANISHED (EARLIER) 4:5,8", b"VANISHED 9"]) == [4, 5, 8]
