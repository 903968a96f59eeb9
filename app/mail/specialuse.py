"""Folder roles (Sent, Drafts, Trash, Junk, Archive) for servers that do not flag them.

Servers without SPECIAL-USE (RFC 6154), or that leave a role unflagged, still name their special
folders in a handful of well-known ways, in the user's language. A role is taken from a flag when
the server gives one, from the account's explicit setting when there is one, and from the name
otherwise; each role goes to at most one folder, so ``path=\\Sent`` is never ambiguous.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SENT, DRAFTS, TRASH, JUNK, ARCHIVE = "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"
ROLES = (SENT, DRAFTS, TRASH, JUNK, ARCHIVE)

#: Account settings (``imap.sentMailPath``...) that name a role's folder explicitly.
OVERRIDE_KEYS = {
    SENT: "sentMailPath",
    DRAFTS: "draftsMailPath",
    TRASH: "trashMailPath",
    JUNK: "junkMailPath",
    ARCHIVE: "archiveMailPath",
}

# Earlier names win when a mailbox has several candidates for one role.
_NAMES: dict[str, tuple[str, ...]] = {
    SENT: (
        "Sent", "Sent Items", "Sent Messages", "Sent Mail", "Sent-Mail", "Sent E-mail", "Sent Email",
        "Gesendet", "Gesendete Elemente", "Gesendete Objekte", "Gesendete Nachrichten",
        "Envoyés", "Éléments envoyés", "Messages envoyés", "Envoyes", "Elements envoyes",
        "Enviados", "Elementos enviados", "Correo enviado", "Mensajes enviados",
        "Posta inviata", "Inviati", "Elementi inviati", "Messaggi inviati", "Inviata",
        "Itens enviados", "Mensagens enviadas", "Enviadas",
        "Verzonden", "Verzonden items", "Verzonden berichten",
        "Skickat", "Skickade", "Skickade objekt", "Skickade meddelanden",
        "Sendt", "Sendte elementer", "Sendte meldinger", "Sendte e-mails", "Sendte",
        "Lähetetyt", "Lähetetyt kohteet", "Wysłane", "Elementy wysłane",
        "Odeslaná pošta", "Odeslané", "Elküldött elemek", "Elküldött", "Отправленные",
        "Gönderilmiş Öğeler", "Gönderilenler", "Απεσταλμένα", "已发送", "送信済み", "보낸편지함",
    ),
    DRAFTS: (
        "Drafts", "Draft", "Entwürfe", "Entwurf", "Brouillons", "Borradores", "Bozze",
        "Rascunhos", "Concepten", "Utkast", "Kladder", "Kladde", "Luonnokset",
        "Wersje robocze", "Koncepty", "Piszkozatok", "Черновики", "Taslaklar", "Πρόχειρα",
        "草稿", "下書き", "임시보관함",
    ),
    TRASH: (
        "Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin", "Rubbish",
        "Papierkorb", "Gelöschte Elemente", "Gelöschte Objekte", "Gelöschte Nachrichten",
        "Corbeille", "Éléments supprimés", "Elements supprimes", "Messages supprimés",
        "Papelera", "Elementos eliminados", "Elementos borrados",
        "Cestino", "Posta eliminata", "Elementi eliminati",
        "Lixeira", "Lixo", "Itens excluídos", "Itens eliminados",
        "Prullenbak", "Verwijderde items", "Verwijderde berichten",
        "Papperskorgen", "Borttagna objekt", "Borttagna meddelanden",
        "Papirkurv", "Slettet", "Slettede elementer", "Slettede meldinger",
        "Roskakori", "Poistetut", "Poistetut kohteet", "Kosz", "Elementy usunięte",
        "Koš", "Odstraněná pošta", "Törölt elemek", "Корзина", "Удаленные", "Удалённые",
        "Çöp", "Silinmiş Öğeler", "Κάδος απορριμμάτων", "已删除", "ごみ箱", "휴지통",
    ),
    JUNK: (
        "Junk", "Spam", "Junk E-mail", "Junk Email", "Junk Mail", "Bulk Mail", "Junk-E-Mail",
        "Spamverdacht", "Unerwünscht", "Courrier indésirable", "Indésirables", "Pourriels",
        "Correo no deseado", "Posta indesiderata", "Lixo eletrônico", "Lixo electrónico",
        "Ongewenste e-mail", "Ongewenst", "Skräppost", "Søppelpost", "Uønsket e-post",
        "Uønsket post", "Roskaposti", "Wiadomości-śmieci", "Nevyžádaná pošta", "Levélszemét",
        "Спам", "Нежелательная почта", "Önemsiz", "Ανεπιθύμητα", "垃圾邮件", "迷惑メール",
    ),
    ARCHIVE: (
        "Archive", "Archives", "Archiv", "Archivio", "Archivo", "Arquivo", "Archief", "Arkiv",
        "Arkisto", "Archiwum", "Archívum", "Архив", "Arşiv", "Αρχειοθέτηση", "归档", "アーカイブ",
    ),
}  # fmt: skip

#: Parents under which special folders commonly live (Cyrus and Courier keep everything in INBOX).
_PARENTS = frozenset({"inbox", "[gmail]", "[google mail]"})


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


def _by_name() -> dict[str, tuple[str, int]]:
    """{normalised name: (role, preference)}."""
    table: dict[str, tuple[str, int]] = {}
    for role, names in _NAMES.items():
        for preference, name in enumerate(names):
            table.setdefault(_key(name), (role, preference))
    return table


_BY_NAME = _by_name()


@dataclass(frozen=True, slots=True)
class Folder:
    path: str
    delimiter: str | None
    special_use: str | None  # the server's flag, if any


def role_by_name(path: str, delimiter: str | None) -> str | None:
    """The role a folder's name suggests: top level, or one level below INBOX."""
    parts = path.split(delimiter) if delimiter else [path]
    if len(parts) > 2 or (len(parts) == 2 and _key(parts[0]) not in _PARENTS):
        return None
    found = _BY_NAME.get(_key(parts[-1]))
    return found[0] if found else None


def _rank(folder: Folder) -> tuple[int, int, str]:
    parts = folder.path.split(folder.delimiter) if folder.delimiter else [folder.path]
    return (_BY_NAME[_key(parts[-1])][1], len(parts), folder.path)


def overrides(imap_settings: Mapping[str, object] | None) -> dict[str, str]:
    """{role: path} from the account's ``*MailPath`` settings."""
    settings = imap_settings or {}
    return {
        role: str(settings[key]) for role, key in OVERRIDE_KEYS.items() if isinstance(settings.get(key), str)
    }


def assign(folders: Iterable[Folder], explicit: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """{path: special use} for every folder: explicit settings, then server flags, then names."""
    folders = list(folders)
    paths = {f.path for f in folders}
    result: dict[str, str | None] = {f.path: f.special_use for f in folders}
    for role, path in (explicit or {}).items():
        if path not in paths:
            continue  # a setting naming a missing folder leaves the role to the server and names
        for other, use in result.items():
            if use is not None and use.lower() == role.lower():
                result[other] = None
        result[path] = role
    taken = {use.lower() for use in result.values() if use}
    candidates: dict[str, list[Folder]] = {}
    for folder in folders:
        if result[folder.path] is not None:
            continue
        guess = role_by_name(folder.path, folder.delimiter)
        if guess is not None and guess.lower() not in taken:
            candidates.setdefault(guess, []).append(folder)
    for role, found in candidates.items():
        result[min(found, key=_rank).path] = role
    return result


def source(
    path: str, special_use: str | None, server_flags: Iterable[str], explicit: Mapping[str, str] | None = None
) -> str | None:
    """How a folder got its role: ``user`` (account setting), ``extension`` (the server's flag) or
    ``name`` (guessed from the name)."""
    if not special_use:
        return None
    if (explicit or {}).get(special_use) == path:
        return "user"
    if special_use.lower() in {f.lower() for f in server_flags}:
        return "extension"
    return "name"
