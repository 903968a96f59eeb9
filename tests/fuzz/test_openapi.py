"""Every operation of /openapi.json, fuzzed against a real server with a connected account:
no server error except a documented 503, and every answer matches the documented responses.

Deterministic (derandomized generation, no example database) and bounded (a few positive and
negative examples per operation), so it runs in every ``make test``."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (  # type: ignore[attr-defined]  # resolved by the check registry
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from app.api import openapi
from app.main import endpoints
from tests.fuzz.conftest import ACCOUNT, SEEDED, Target

EXAMPLES_PER_OPERATION = 20
CONFIG = {"generation": {"with-security-parameters": False}, "request-timeout": 30}  # the real token is sent
#: What every answer must satisfy (server errors are checked in `check`: a documented 503 passes).
#: Not "schema-valid data is accepted": the API validates more than JSON Schema can say (at least
#: one of imap/oauth2, no line breaks in search criteria, ...) and answers those with a 400.
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]
#: Operations that may change or remove the account the others need connected.
TOUCH_ACCOUNT = {("PUT", "/v1/account/{account}"), ("DELETE", "/v1/account/{account}")}
OPERATIONS = [
    (method.upper(), path) for path, item in openapi.build(endpoints())["paths"].items() for method in item
]


@pytest.fixture(scope="session")
def api_schema(target: Target) -> Any:
    config = SchemathesisConfig.from_dict(CONFIG)
    return schemathesis.openapi.from_url(f"{target.base_url}/openapi.json", config=config)


@pytest.fixture(scope="session")
def real_messages(target: Target) -> list[str]:
    return target.message_ids(SEEDED)


def streams(case: Any) -> bool:
    ok = case.operation.definition.raw["responses"].get("200", {})
    return "text/event-stream" in ok.get("content", {})


def check_stream(case: Any, target: Target) -> None:
    """An event stream never ends: only its status and media type are checked, then it is closed."""
    kwargs = case.as_transport_kwargs(base_url=target.base_url, headers=target.headers)
    with requests.request(**kwargs, stream=True, timeout=30) as response:
        documented = case.operation.definition.raw["responses"]
        assert str(response.status_code) in documented, (
            case.formatted_path,
            case.query,
            response.status_code,
        )
        expected = "text/event-stream" if response.status_code == 200 else "application/json"
        assert response.headers["content-type"].startswith(expected), response.headers


def check(case: Any, target: Target) -> None:
    if streams(case):
        check_stream(case, target)
        return
    response = case.call(base_url=target.base_url, headers=target.headers)
    if response.status_code >= 500:
        documented = case.operation.definition.raw.get("responses", {})
        assert response.status_code == 503 and "503" in documented, (
            f"{case.method} {case.formatted_path} {case.query} {case.body!r:.300}: "
            f"{response.status_code} {response.text[:500]}"
        )
    case.validate_response(response, headers=target.headers, checks=CHECKS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_operation(api_schema: Any, target: Target, real_messages: list[str], method: str, path: str) -> None:
    operation = api_schema[path][method]
    fixed = [{"account": ACCOUNT}] if "{account}" in path else [{}]
    if "{message}" in path:  # a real message as well as made-up ids
        # each operation its own message, so that one deleting or moving it leaves the others theirs
        chosen = real_messages[OPERATIONS.index((method, path)) % len(real_messages)]
        fixed.append({"account": ACCOUNT, "message": chosen})
    cases = st.one_of(
        *(operation.as_strategy(mode, path_parameters=p or None) for mode in GenerationMode for p in fixed)
    )

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],  # no shrinking: bounded time, and the report shows the request
    )
    @given(case=cases)
    def fuzz(case: Any) -> None:
        try:
            check(case, target)
        finally:
            if (method, path) in TOUCH_ACCOUNT:
                target.restore_account()

    fuzz()
