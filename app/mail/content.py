"""What a message's content means to a client: HTML made safe to show, cid: images made
self-contained, and whether a message was sent by a machine answering on someone's behalf."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from urllib.parse import unquote

import nh3

# Schemes a shown message may link to or load; cid: stays (a client may resolve it itself) and
# data: is kept for images only (see _attribute).
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid", "data"})
# Presentational attributes mail HTML relies on; nh3 keeps none of these by default.
LAYOUT_ATTRIBUTES = {
    "*": {"align", "valign", "width", "height", "dir", "lang", "title", "bgcolor", "color"},
    "a": {"href", "name", "target"},
    "img": {"src", "alt", "width", "height", "border"},
    "table": {"border", "cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap"},
    "font": {"face", "size", "color"},
}
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpe?g|webp|bmp);base64,[A-Za-z0-9+/=\s]*\Z", re.I)
_CID = re.compile(r"cid:([^\s\"'()<>]+)", re.I)


def _attribute(tag: str, name: str, value: str) -> str | None:
    """data: URLs survive only as image sources with an image type (never a data:text/html link)."""
    if value.strip().lower().startswith("data:"):
        return value if tag == "img" and name == "src" and _DATA_IMAGE.match(value.strip()) else None
    return value


def web_safe_html(html: str) -> str:
    """HTML with scripts, event handlers, forms, frames and foreign schemes removed (by nh3)."""
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag, names in LAYOUT_ATTRIBUTES.items():
        attributes.setdefault(tag, set()).update(names)
    return nh3.clean(
        html,
        tags=set(nh3.ALLOWED_TAGS) | {"font", "center"},
        attributes=attributes,
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_attribute,
        link_rel="noopener noreferrer nofollow",
    )


def embed_images(html: str, images: Mapping[str, tuple[bytes, str]]) -> str:
    """Replace ``cid:`` references to the message's own images with ``data:`` URLs.

    ``images`` maps a Content-ID (without <>) to the image's bytes and content type; references
    to anything else are left as they are."""
    if not images:
        return html
    known = {cid.lower(): value for cid, value in images.items()}

    def inline(match: re.Match[str]) -> str:
        found = known.get(unquote(match.group(1)).lower())
        if found is None:
            return match.group(0)
        content, content_type = found
        return f"data:{content_type};base64,{base64.b64encode(content).decode('ascii')}"

    return _CID.sub(inline, html)


def _first(headers: Mapping[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0].strip().lower() if values else ""


def is_auto_reply(headers: Mapping[str, list[str]]) -> bool:
    """An out-of-office or other automatic answer, by the headers responders set: RFC 3834
    Auto-Submitted, the X-Autoreply family and ``Precedence: auto_reply``."""
    submitted = _first(headers, "auto-submitted")
    if submitted and submitted != "no":
        return True
    if any(_first(headers, h) for h in ("x-autoreply", "x-autorespond", "x-autoresponder")):
        return True
    return "auto_reply" in (_first(headers, "precedence"), _first(headers, "x-precedence"))


# Gmail system labels that say which of the special folders a message sits in.
_LABEL_USES = {"\\inbox": "\\Inbox", "\\sent": "\\Sent", "\\draft": "\\Drafts", "\\trash": "\\Trash",
               "\\spam": "\\Junk"}  # fmt: skip
MESSAGE_USES = frozenset({"\\Drafts", "\\Junk", "\\Sent", "\\Trash", "\\Inbox"})


def message_special_use(path: str, folder_use: str | None, labels: list[str] | None = None) -> str | None:
    """The special folder a message belongs to: its folder's own use, or, in an all-mail folder,
    what its Gmail labels say."""
    if path.upper() == "INBOX":
        return "\\Inbox"
    if folder_use in MESSAGE_USES:
        return folder_use
    for label in labels or []:
        use = _LABEL_USES.get(label.lower())
        if use is not None:
            return use
    return None
