"""What Mailgate knows about each OAuth2 provider: endpoints, scopes and mail servers.

A preset turns an application's stored fields into the URLs and servers one account needs; the
generic provider takes them all from the application, which is how providers without a preset
(and the test suite's local provider) plug in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROVIDERS = ("gmail", "gmailService", "outlook", "outlookService", "mailRu", "generic")
#: Providers whose accounts are authorized by a user's consent.
CONSENT_PROVIDERS = ("gmail", "outlook", "mailRu", "generic")
#: Service-account applications: stored and listed (EmailEngine accepts them), not yet usable.
SERVICE_PROVIDERS = ("gmailService", "outlookService")

#: Microsoft's sign-in host per national cloud.
MICROSOFT_CLOUDS = {
    "global": "https://login.microsoftonline.com",
    "gcc-high": "https://login.microsoftonline.us",
    "dod": "https://login.microsoftonline.us",
    "china": "https://login.chinacloudapi.cn",
}
MICROSOFT_OUTLOOK_RESOURCE = {
    "global": "https://outlook.office.com",
    "gcc-high": "https://outlook.office365.us",
    "dod": "https://outlook-dod.office365.us",
    "china": "https://partner.outlook.cn",
}


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    secure: bool

    def settings(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "secure": self.secure}


@dataclass(frozen=True)
class Endpoints:
    """Everything needed to run the flow for one application."""

    provider: str
    authorize_url: str | None
    token_url: str | None
    userinfo_url: str | None
    scopes: list[str]
    imap: Server | None
    smtp: Server | None
    #: Extra query parameters of the consent URL (Google needs these to issue a refresh token).
    authorize_params: dict[str, str] = field(default_factory=dict)
    #: Whether a refresh must repeat the scopes (Microsoft's v2 endpoint wants them).
    scope_on_refresh: bool = False


def _scopes(base: list[str], options: dict[str, Any]) -> list[str]:
    skip = set(options.get("skipScopes") or [])
    wanted = [s for s in base if s not in skip]
    for extra in options.get("extraScopes") or []:
        if extra not in wanted:
            wanted.append(extra)
    return wanted


def _server(raw: Any) -> Server | None:
    if not isinstance(raw, dict) or not raw.get("host"):
        return None
    secure = bool(raw.get("secure", False))
    return Server(str(raw["host"]), int(raw.get("port") or (993 if secure else 143)), secure)


def _outlook(provider: str, options: dict[str, Any]) -> Endpoints:
    cloud = str(options.get("cloud") or "global")
    login = MICROSOFT_CLOUDS.get(cloud, MICROSOFT_CLOUDS["global"])
    resource = MICROSOFT_OUTLOOK_RESOURCE.get(cloud, MICROSOFT_OUTLOOK_RESOURCE["global"])
    authority = str(options.get("tenant") or options.get("authority") or "common")
    base = f"{login}/{authority}/oauth2/v2.0"
    if provider == "outlookService":
        scopes = [f"{resource.replace('outlook.office.com', 'outlook.office365.com')}/.default"]
    else:
        scopes = [
            f"{resource}/IMAP.AccessAsUser.All",
            f"{resource}/SMTP.Send",
            "offline_access",
            "openid",
            "profile",
            "email",
        ]
    return Endpoints(
        provider=provider,
        authorize_url=f"{base}/authorize",
        token_url=f"{base}/token",
        userinfo_url=None,  # the identity comes from the id_token: Graph is another resource
        scopes=_scopes(scopes, options),
        imap=Server("outlook.office365.com", 993, True),
        smtp=Server("smtp.office365.com", 587, False),
        authorize_params={"prompt": "select_account"},
        scope_on_refresh=True,
    )


def endpoints(provider: str, options: dict[str, Any]) -> Endpoints:
    """The endpoints, scopes and servers of an application of ``provider`` with ``options``."""
    if provider in ("outlook", "outlookService"):
        return _outlook(provider, options)
    if provider in ("gmail", "gmailService"):
        return Endpoints(
            provider=provider,
            authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
            token_url="https://oauth2.googleapis.com/token",
            userinfo_url="https://www.googleapis.com/oauth2/v3/userinfo",
            scopes=_scopes(["https://mail.google.com/", "openid", "email", "profile"], options),
            imap=Server("imap.gmail.com", 993, True),
            smtp=Server("smtp.gmail.com", 465, True),
            authorize_params={"access_type": "offline", "prompt": "consent"},
        )
    if provider == "mailRu":
        return Endpoints(
            provider=provider,
            authorize_url="https://oauth.mail.ru/login",
            token_url="https://oauth.mail.ru/token",
            userinfo_url="https://oauth.mail.ru/userinfo",
            scopes=_scopes(["userinfo", "mail.imap"], options),
            imap=Server("imap.mail.ru", 993, True),
            smtp=Server("smtp.mail.ru", 465, True),
        )
    return Endpoints(
        provider=provider,
        authorize_url=options.get("authorizationUrl"),
        token_url=options.get("tokenUrl"),
        userinfo_url=options.get("userInfoUrl"),
        scopes=_scopes(list(options.get("scopes") or []), options),
        imap=_server(options.get("imap")),
        smtp=_server(options.get("smtp")),
    )
