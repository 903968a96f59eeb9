"""Both signature schemes: EmailEngine's ``X-EE-Wh-Signature`` and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _standard_key(secret: str) -> bytes:
    """Standard Webhooks secrets look like ``whsec_<base64>``; any other string is used as is."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:] + "==")
        except ValueError:
            pass
    return secret.encode()


def headers(secret: str | None, event_id: int, attempt: int, timestamp: int, body: bytes) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "User-Agent": "Mailgate-Webhooks/1",
        "X-EE-Wh-Event-Id": str(event_id),
        "X-EE-Wh-Attempts-Made": str(attempt),
        "webhook-id": f"evt_{event_id}",
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        ee = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        out["X-EE-Wh-Signature"] = base64.urlsafe_b64encode(ee).rstrip(b"=").decode()
        signed = f"evt_{event_id}.{timestamp}.".encode() + body
        std = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
        out["webhook-signature"] = "v1," + base64.b64encode(std).decode()
    return out
