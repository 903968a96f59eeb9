"""The admin UI's OAuth2 screens in a real browser (``frontend/e2e/oauth.spec.ts``): a generic
OAuth2 app pointing at the local test provider, an account added through the provider's consent
(it consents without a login page) that connects to a Dovecot taking the provider's tokens, and
the protocol log of an account that keeps one."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import require_tools, run_spec, serving_mailgate
from tests.servers.dovecot import Dovecot
from tests.servers.idp import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthProvider


async def test_oauth2_screens_in_a_browser(
    tmp_path: Path, sqlite_template: Path, oauth_provider: OAuthProvider, dovecot_oauth: Dovecot
) -> None:
    require_tools()
    oauth_email, _ = dovecot_oauth.fresh_user()
    oauth_provider.add_user(oauth_email, "Olivia Auth")
    oauth_provider.consent_user = oauth_email
    log_email, log_password = dovecot_oauth.fresh_user()
    async with serving_mailgate(tmp_path, sqlite_template) as base_url:
        await run_spec(
            "e2e/oauth.spec.ts",
            {
                "E2E_BASE_URL": base_url,
                "E2E_IDP_AUTHORIZE_URL": oauth_provider.authorize_url,
                "E2E_IDP_TOKEN_URL": oauth_provider.token_url,
                "E2E_IDP_USERINFO_URL": oauth_provider.userinfo_url,
                "E2E_CLIENT_ID": OAUTH_CLIENT_ID,
                "E2E_CLIENT_SECRET": OAUTH_CLIENT_SECRET,
                "E2E_IMAP_HOST": dovecot_oauth.host,
                "E2E_IMAP_PORT": str(dovecot_oauth.port),
                "E2E_OAUTH_USER": oauth_email,
                "E2E_LOG_USER": log_email,
                "E2E_LOG_PASS": log_password,
            },
        )
    # The consent went through the provider: it saw this instance's /oauth as the redirect URI.
    asked = oauth_provider.last_authorize or {}
    assert asked.get("redirect_uri") == f"{base_url}/oauth", asked
