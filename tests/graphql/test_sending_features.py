"""Templates, mail merge, gateways, suppression lists and stored drafts over GraphQL: the same
services as REST, so the same answers and refusals."""

from __future__ import annotations

from tests.graphql.conftest import codes, data, gql
from tests.integration import test_sending
from tests.integration.conftest import make_message, seed, wait_until
from tests.integration.test_sending import Outbox, parse

outbox = test_sending.outbox  # the fixture, shared with the other sending tests


async def test_templates_and_mail_merge(outbox: Outbox) -> None:
    await outbox.account(imap=False)
    c, h = outbox.live.client, outbox.live.headers
    create = (
        """mutation($input: TemplateCreateInput!) { createTemplate(input: $input) { created id account } }"""
    )
    made = data(await gql(c, create, {"input": {"name": "T", "content": {"subject": "Hi {{n}}",
                                                                        "html": "<p>{{n}}</p>"}}}, h))  # fmt: skip
    template_id = made["createTemplate"]["id"]
    found = data(await gql(c, "query($id: ID!) { template(id: $id) { name format content { subject html } } }",
                           {"id": template_id}, h))["template"]  # fmt: skip
    assert found == {
        "name": "T",
        "format": "html",
        "content": {"subject": "Hi {{n}}", "html": "<p>{{n}}</p>"},
    }
    listed = data(await gql(c, "{ templates { total templates { id name } } }", None, h))["templates"]
    assert listed == {"total": 1, "templates": [{"id": template_id, "name": "T"}]}

    submit = """mutation($input: SubmitInput!) { submitMessage(account: "acc", input: $input) {
      response mailMerge { success to { address } queueId code details } } }"""
    merge = {"template": template_id, "mailMerge": [{"to": {"address": "a@example.net"}, "params": {"n": "A"}},
                                                    {"to": {"address": "bad"}}]}  # fmt: skip
    answer = data(await gql(c, submit, {"input": merge}, h))["submitMessage"]
    assert [r["success"] for r in answer["mailMerge"]] == [True, False]
    assert answer["mailMerge"][1]["code"] == "InvalidRequest"
    assert [r["to"] for r in answer["mailMerge"]] == [{"address": "a@example.net"}, {"address": "bad"}]
    got = parse((await outbox.sink.wait_for(1))[0].data)
    assert got["Subject"] == "Hi A" and got["To"] == "a@example.net"

    broken = {"name": "B", "content": {"html": "{{#if}}"}}
    refused = await gql(c, create, {"input": broken}, h)
    assert codes(refused) == ["TemplateError"]
    gone = data(
        await gql(c, "mutation($id: ID!) { deleteTemplate(id: $id) { deleted } }", {"id": template_id}, h)
    )
    assert gone == {"deleteTemplate": {"deleted": True}}


async def test_gateways_and_blocklists(outbox: Outbox) -> None:
    c, h = outbox.live.client, outbox.live.headers
    create = """mutation($input: GatewayCreateInput!) { createGateway(input: $input) { gateway state } }"""
    gateway = {"gateway": "g1", "host": "127.0.0.1", "port": 2525, "user": "u", "pass": "hunter2"}
    assert data(await gql(c, create, {"input": gateway}, h)) == {
        "createGateway": {"gateway": "g1", "state": "new"}
    }
    got = data(await gql(c, '{ gateway(gateway: "g1") { gateway host port user pass deliveries } }', None, h))
    assert got["gateway"] == {"gateway": "g1", "host": "127.0.0.1", "port": 2525, "user": "u", "pass": "******",
                              "deliveries": 0}  # fmt: skip
    edit = 'mutation { updateGateway(gateway: "g1", input: {port: 2626}) { gateway } }'
    assert data(await gql(c, edit, None, h)) == {"updateGateway": {"gateway": "g1"}}
    assert (
        data(await gql(c, "{ gateways { total gateways { gateway } } }", None, h))["gateways"]["total"] == 1
    )

    add = """mutation { addToBlocklist(listId: "news", input: {recipient: "X@example.net"}) { success added } }"""
    assert data(await gql(c, add, None, h)) == {"addToBlocklist": {"success": True, "added": True}}
    assert data(await gql(c, add, None, h)) == {"addToBlocklist": {"success": True, "added": False}}
    listing = data(
        await gql(c, '{ blocklist(listId: "news") { total addresses { recipient source } } }', None, h)
    )
    assert listing["blocklist"] == {
        "total": 1,
        "addresses": [{"recipient": "x@example.net", "source": "api"}],
    }
    assert data(await gql(c, "{ blocklists { blocklists { listId count } } }", None, h))["blocklists"] == {
        "blocklists": [{"listId": "news", "count": 1}]
    }
    remove = 'mutation { removeFromBlocklist(listId: "news", recipient: "x@example.net") { deleted } }'
    assert data(await gql(c, remove, None, h)) == {"removeFromBlocklist": {"deleted": True}}
    bad = await gql(
        c, 'mutation { removeFromBlocklist(listId: "news", recipient: "nope") { deleted } }', None, h
    )
    assert codes(bad) == ["InvalidRequest"]


async def test_stored_draft_is_sent(outbox: Outbox) -> None:
    await outbox.account()
    c, h = outbox.live.client, outbox.live.headers
    draft = make_message(subject="Draft", sender=f"Me <{outbox.user.email}>", to="f@example.net")
    await seed(outbox.live.dovecot, outbox.user, "Drafts", [draft])
    listed: list[dict[str, str]] = []

    async def synced() -> bool:
        nonlocal listed
        listed = (await outbox.live.get("/v1/account/acc/messages", path="Drafts"))["messages"]
        return bool(listed)

    await wait_until(synced, 10, "the draft was never listed")
    send = (
        'mutation($id: ID!) { submitStoredMessage(account: "acc", id: $id) { response messageId queueId } }'
    )
    answer = data(await gql(c, send, {"id": listed[0]["id"]}, h))["submitStoredMessage"]
    assert answer["messageId"] == listed[0]["messageId"] and answer["queueId"]
    assert parse((await outbox.sink.wait_for(1))[0].data)["Subject"] == "Draft"
