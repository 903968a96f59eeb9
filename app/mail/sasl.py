"""SASL initial responses for bearer tokens."""

from __future__ import annotations

import base64


def oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """RFC 7628 OAUTHBEARER: the GS2 header naming the user, then host, port and the token."""
    escaped = user.replace("=", "=3D").replace(",", "=2C")
    message = f"n,a={escaped},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(message.encode()).decode("ascii")
