"""Provider presets: the consent URLs, token endpoints, scopes and servers they generate."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

from app.services.oauth_client import AppClient, email_of, id_token_claims
from app.services.oauth_presets import endpoints


def consent(provider: str, options: dict[str, object], hint: str | None = "u@example.com") -> dict[str, str]:
    client = AppClient("app1", "cid", "secret", endpoints(provider, options), "https://mg.example/oauth")
    url = client.consent_url("STATE", "v" * 64, hint)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return {"base": f"{parts.scheme}://{parts.netloc}{parts.path}", **query}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_gmail_asks_for_offline_access_and_mail_scope_with_pkce() -> None:
    q = consent("gmail", {})
    assert q["base"] == "https://accounts.google.com/o/oauth2/v2/auth"
    assert q["access_type"] == "offline" and q["prompt"] == "consent" and q["login_hint"] == "u@example.com"
    assert q["scope"].split() == ["https://mail.google.com/", "openid", "email", "profile"]
    assert (
        q["state"] == "STATE" and q["client_id"] == "cid" and q["redirect_uri"] == "https://mg.example/oauth"
    )
    assert q["code_challenge_method"] == "S256" and q["code_challenge"] == s256("v" * 64)
    ends = endpoints("gmail", {})
    assert ends.token_url == "https://oauth2.googleapis.com/token"
    assert (ends.imap and ends.imap.host, ends.smtp and ends.smtp.port) == ("imap.gmail.com", 465)


def test_outlook_tenant_and_national_cloud() -> None:
    q = consent("outlook", {"authority": "organizations"}, hint=None)
    assert q["base"] == "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in q["scope"].split()
    assert "offline_access" in q["scope"].split() and "login_hint" not in q
    tenant = endpoints("outlook", {"tenant": "contoso.onmicrosoft.com", "cloud": "china"})
    assert tenant.token_url == "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert "https://partner.outlook.cn/SMTP.Send" in tenant.scopes and tenant.scope_on_refresh
    assert endpoints("outlook", {}).authorize_url == (
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    )
    smtp = endpoints("outlook", {}).smtp
    assert smtp is not None and (smtp.host, smtp.port, smtp.secure) == ("smtp.office365.com", 587, False)


def test_scope_changes_and_generic_endpoints() -> None:
    ends = endpoints(
        "gmail", {"skipScopes": ["profile"], "extraScopes": ["https://www.googleapis.com/auth/gmail.send"]}
    )
    assert ends.scopes == [
        "https://mail.google.com/",
        "openid",
        "email",
        "https://www.googleapis.com/auth/gmail.send",
    ]
    generic = endpoints(
        "generic",
        {"authorizationUrl": "https://id.example/a", "tokenUrl": "https://id.example/t", "scopes": ["mail"],
         "imap": {"host": "imap.example", "secure": True}, "smtp": {"host": "smtp.example", "port": 587, "secure": False}},
    )  # fmt: skip
    assert generic.imap is not None and (generic.imap.port, generic.imap.secure) == (993, True)
    assert generic.smtp is not None and generic.smtp.port == 587 and generic.scopes == ["mail"]
    q = consent("mailRu", {})
    assert q["base"] == "https://oauth.mail.ru/login" and q["scope"] == "userinfo mail.imap"


def test_identity_from_an_id_token() -> None:
    def part(obj: bytes) -> str:
        return base64.urlsafe_b64encode(obj).rstrip(b"=").decode()

    body = part(b'{"preferred_username": "x@contoso.com", "name": "X"}')
    token = {"id_token": f"{part(b'{}')}.{body}.sig"}
    claims = id_token_claims(token)
    assert email_of(claims) == "x@contoso.com" and claims["name"] == "X"
    assert email_of({"email": "not-an-address", "upn": "y@contoso.com"}) == "y@contoso.com"
