"""Folder roles by name, for servers without SPECIAL-USE."""

from __future__ import annotations

import pytest

from app.mail.specialuse import (
    ARCHIVE,
    DRAFTS,
    JUNK,
    SENT,
    TRASH,
    Folder,
    assign,
    overrides,
    role_by_name,
    source,
)


@pytest.mark.parametrize(
    ("path", "delimiter", "role"),
    [
        ("Sent", "/", SENT),
        ("Sent Items", "/", SENT),
        ("Sent Messages", "/", SENT),
        ("INBOX.Sent", ".", SENT),
        ("inbox.sent items", ".", SENT),
        ("Gesendet", "/", SENT),
        ("Gesendete Elemente", "/", SENT),
        ("Envoyés", "/", SENT),
        ("Elementos enviados", "/", SENT),
        ("Posta inviata", "/", SENT),
        ("[Gmail]/Sent Mail", "/", SENT),
        ("Drafts", "/", DRAFTS),
        ("INBOX.Drafts", ".", DRAFTS),
        ("Entwürfe", "/", DRAFTS),
        ("Brouillons", "/", DRAFTS),
        ("Trash", "/", TRASH),
        ("Deleted Items", "/", TRASH),
        ("Deleted Messages", "/", TRASH),
        ("Papierkorb", "/", TRASH),
        ("Corbeille", "/", TRASH),
        ("INBOX.Trash", ".", TRASH),
        ("Spam", "/", JUNK),
        ("Junk", "/", JUNK),
        ("Junk E-mail", "/", JUNK),
        ("INBOX.Spam", ".", JUNK),
        ("Courrier indésirable", "/", JUNK),
        ("Archive", "/", ARCHIVE),
        ("INBOX.Archive", ".", ARCHIVE),
        ("Archiv", "/", ARCHIVE),
        # Decomposed Unicode (as some clients create folders) matches too.
        ("Envoye\u0301s", "/", SENT),
    ],
)
def test_usual_names(path: str, delimiter: str, role: str) -> None:
    assert role_by_name(path, delimiter) == role


@pytest.mark.parametrize(
    ("path", "delimiter"),
    [
        ("INBOX", "/"),
        ("Projects/Sent", "/"),  # deeper or under another parent: a user's own folder
        ("INBOX.Projects.Trash", "."),
        ("Sent stuff", "/"),
        ("Sentinel", "/"),
        ("Junk/Sent", "/"),
    ],
)
def test_other_names_have_no_role(path: str, delimiter: str) -> None:
    assert role_by_name(path, delimiter) is None


def folders(*paths: str, delimiter: str = "/", flags: dict[str, str] | None = None) -> list[Folder]:
    return [Folder(p, delimiter, (flags or {}).get(p)) for p in paths]


def test_names_fill_only_roles_the_server_left_open() -> None:
    roles = assign(
        folders("INBOX", "Sent", "Sent Items", "Trash", "Deleted Items", flags={"Sent Items": SENT})
    )
    assert roles == {"INBOX": None, "Sent": None, "Sent Items": SENT, "Trash": TRASH, "Deleted Items": None}


def test_one_folder_per_role_preferring_the_usual_name_and_the_top_level() -> None:
    roles = assign(folders("INBOX", "INBOX.Sent", "Sent Messages", "Sent", delimiter="."))
    assert [p for p, r in roles.items() if r == SENT] == ["Sent"]
    roles = assign(folders("INBOX", "INBOX.Trash", "INBOX.Spam", "INBOX.Junk", delimiter="."))
    assert roles["INBOX.Trash"] == TRASH
    assert [p for p, r in roles.items() if r == JUNK] == ["INBOX.Junk"]


def test_explicit_settings_win_over_flags_and_names() -> None:
    listed = folders("INBOX", "Sent", "Outgoing", "Trash", flags={"Sent": SENT})
    roles = assign(listed, {SENT: "Outgoing", TRASH: "Missing folder"})
    assert roles["Outgoing"] == SENT and roles["Sent"] is None
    assert roles["Trash"] == TRASH  # a setting naming no existing folder changes nothing


def test_overrides_from_account_settings() -> None:
    settings = {"host": "h", "sentMailPath": "INBOX.Out", "trashMailPath": "Bin", "junkMailPath": None}
    assert overrides(settings) == {SENT: "INBOX.Out", TRASH: "Bin"}
    assert overrides(None) == {}


def test_where_a_role_came_from() -> None:
    assert source("Sent", SENT, ["\\HasNoChildren", "\\sent"]) == "extension"
    assert source("INBOX.Sent", SENT, ["\\HasNoChildren"]) == "name"
    assert source("Outgoing", SENT, ["\\Sent"], {SENT: "Outgoing"}) == "user"
    assert source("Projects", None, []) is None
