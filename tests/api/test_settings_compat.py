"""Settings as EmailEngine clients send them: '*' for all events, every documented key accepted."""

from __future__ import annotations

import httpx2


async def test_star_list_means_all_events(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post("/v1/settings", json={"webhookEvents": ["*"]}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"updated": ["webhookEvents"]}
    assert (await client.get("/v1/settings", headers=auth)).json()["webhookEvents"] == "*"
    r = await client.post("/v1/settings", json={"webhookEvents": ["messageNew", "nope"]}, headers=auth)
    assert r.status_code == 400 and "webhookEvents.1" in r.json()["details"]


async def test_documented_keys_are_stored_and_returned(
    client: httpx2.AsyncClient, auth: dict[str, str]
) -> None:
    body = {
        "webhooksCustomHeaders": [{"key": "X-Tenant", "value": "t1"}],
        "notifyAttachments": True,
        "notifyAttachmentSize": 1024,
        "notifyWebSafeHtml": True,
        "notifyCalendarEvents": True,
        "inboxNewOnly": True,
        "deliveryAttempts": 3,
        "ignoreMailCertErrors": True,
        "locale": "de",
        "timezone": "Europe/Tallinn",
        "pageBrandName": "Mail",
        "queueKeep": 50,
        "trackOpens": True,
        "imapStrategy": "dedicated",
        "logs": {"all": False, "maxLogLines": 100},
        "openAiAPIKey": "sk-never-stored",
    }
    r = await client.post("/v1/settings", json=body, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == sorted(body)
    r = await client.get("/v1/settings", headers=auth)
    got = r.json()
    assert "sk-never-stored" not in r.text and got["openAiAPIKey"] is False
    for key, value in body.items():
        if key != "openAiAPIKey":
            assert got[key] == value, key
    assert "messageNew" in got["eventTypes"]


async def test_get_picks_the_keys_asked_for(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/v1/settings", json={"webhooksEnabled": True, "pageBrandName": "X"}, headers=auth)
    r = await client.get("/v1/settings?webhooksEnabled=true&pageBrandName=true", headers=auth)
    assert r.json() == {"webhooksEnabled": True, "pageBrandName": "X"}


async def test_unknown_keys_still_refused(client: httpx2.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post("/v1/settings", json={"webhookEvent": ["*"], "trackOpens": True}, headers=auth)
    assert r.status_code == 400
    assert r.json()["details"] == {"webhookEvent": "Unknown field"}
    r = await client.post(
        "/v1/settings", json={"webhooksCustomHeaders": [{"key": "Bad\r\nX: y"}]}, headers=auth
    )
    assert r.status_code == 400 and r.json()["code"] == "InvalidRequest"
