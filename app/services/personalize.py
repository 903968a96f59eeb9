"""What a submit adds to the message it builds: rendered templates, the preview text, tracking
links and the one-click unsubscribe headers (RFC 8058), prepared once per request and applied
per message (a mail merge applies them to every recipient's copy)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.mail import links as html_links
from app.mail import render
from app.models import Account
from app.schemas.submit import SubmitInput
from app.services import templates, tracking
from app.services.context import Context
from app.services.principal import Principal

log = logging.getLogger(__name__)


@dataclass
class Extras:
    renderer: render.Renderer | None = None
    params: dict[str, Any] = field(default_factory=dict)
    base: str | None = None  # public URL for links to this instance
    track_opens: bool = False
    track_clicks: bool = False
    list_id: str | None = None

    @property
    def links_needed(self) -> bool:
        return self.track_opens or self.track_clicks or self.list_id is not None

    def content(self, data: SubmitInput, params: dict[str, Any] | None = None) -> render.Content:
        """Subject, text, html and preview text for one message (``params`` of a merge entry)."""
        if self.renderer is None:
            return render.Content(data.subject, data.text, data.html, data.previewText)
        try:
            return self.renderer({**self.params, **(params or {})})
        except render.TemplateError as exc:
            raise templates.TemplateInvalid(
                f"Template error in {exc}", details={exc.part: exc.problem}
            ) from None

    def decorate(
        self,
        ctx: Context,
        account: str,
        message_id: str,
        recipient: str | None,
        html: str | None,
        preview: str | None,
    ) -> tuple[str | None, dict[str, str]]:
        """The final HTML (preview text, tracked links, open pixel) and extra headers."""
        headers: dict[str, str] = {}
        if html is not None and preview:
            html = render.with_preview(html, preview)
        if not self.links_needed or self.base is None:
            return html, headers
        links = tracking.Links(ctx, self.base, account, message_id, recipient)
        if html is not None and self.track_clicks:
            html = html_links.rewrite_links(html, links.click)
        if html is not None and self.track_opens:
            html = html_links.add_pixel(html, links.open())
        if self.list_id is not None and recipient is not None:
            headers["List-Unsubscribe"] = f"<{links.unsubscribe(self.list_id)}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return html, headers


async def prepare(ctx: Context, principal: Principal, account: Account, data: SubmitInput) -> Extras:
    """Load the template and the tracking settings once for the whole request."""
    extras = Extras(list_id=data.listId)
    template = None
    if data.template is not None:
        template = await templates.usable(ctx, principal, data.template, account.id)
    if template is not None or data.render is not None or data.mailMerge is not None:
        own = {"subject": data.subject, "text": data.text, "html": data.html, "previewText": data.previewText}
        fmt = (data.render.format if data.render else None) or (template.format if template else "html")
        extras.renderer = templates.renderer(template, own, markdown=fmt == "markdown")
        extras.params = dict(data.render.params or {}) if data.render else {}
    stored = await tracking.settings(ctx)
    opens = data.trackOpens if data.trackOpens is not None else bool(stored.get("trackOpens"))
    clicks = data.trackClicks if data.trackClicks is not None else bool(stored.get("trackClicks"))
    asked = bool(data.trackOpens or data.trackClicks or data.listId)
    if opens or clicks or data.listId:
        try:
            extras.base = tracking.base_url(data.baseUrl, stored.get("serviceUrl"))
        except tracking.NoServiceUrl:
            if asked:  # asked for in this request: say why it cannot be done
                raise
            log.warning("trackOpens/trackClicks are set, but serviceUrl is not: messages are not tracked")
            opens = clicks = False
    extras.track_opens, extras.track_clicks = opens, clicks
    return extras
