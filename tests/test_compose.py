"""``compose.yaml``: valid under the Compose specification's JSON schema (vendored in
``tests/fixtures/compose-spec.json``, so the check needs no network), and the scale-out topology
the README describes: API replicas that do not sync, workers that do, PostgreSQL and Redis, health
checks that start things in the right order, and only settings Mailgate knows."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml  # type: ignore[import-untyped]

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "compose-spec.json").read_text())
#: ``${NAME:?message}`` / ``${NAME:-default}`` / ``${NAME}``: Compose's interpolation.
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def load() -> dict[str, Any]:
    found = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(found, dict)
    return found


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema_rs.validator_for(SCHEMA)
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(document)]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment as Mailgate would see it, with ``${…}`` filled in."""
    raw = service.get("environment", {})
    pairs = dict(item.split("=", 1) for item in raw) if isinstance(raw, list) else dict(raw)
    return {k: INTERPOLATION.sub("interpolated", str(v)) for k, v in pairs.items()}


def documented_variables() -> set[str]:
    """The variables in the README's configuration table."""
    return set(re.findall(r"^\| `(MAILGATE_[A-Z0-9_]+)` \|", (ROOT / "README.md").read_text(), re.M))


def replicas(service: dict[str, Any]) -> int:
    return int(service.get("deploy", {}).get("replicas", 1))


def test_compose_file_follows_the_compose_specification() -> None:
    assert SCHEMA["$id"] == "compose_spec.json"  # the vendored schema, not something else
    assert schema_errors(load()) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "api", "replicas"), 2),  # belongs under deploy
        (("services", "worker", "deploy", "replica"), 2),  # misspelt
        (("services", "worker", "stop_grace_period"), 30),  # a duration is a string: "30s"
        (("services", "api", "healthcheck", "test"), {"url": "/health/ready"}),
        (("services", "api", "depends_on", "redis", "condition"), "service_ready"),
        (("volume",), {"pgdata": None}),
    ],
)
def test_the_schema_check_rejects_a_broken_file(path: tuple[str, ...], value: object) -> None:
    """Guards the check above: a mistake of the kind a hand edit makes is reported."""
    broken = copy.deepcopy(load())
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema_errors(broken) != []


def test_api_replicas_do_not_sync_and_answer_readiness_checks() -> None:
    services = load()["services"]
    api = services["api"]
    assert replicas(api) >= 2
    env = environment(api)
    assert Settings.from_env(env).sync is False
    test = " ".join(api["healthcheck"]["test"])
    assert "http://127.0.0.1:3000/health/ready" in test
    # Every replica gets a host port of its own, on loopback only.
    (port,) = api["ports"]
    host, published, target = port.split(":")
    low, _, high = published.partition("-")
    assert host == "127.0.0.1" and target == "3000"
    assert int(high or low) - int(low) + 1 >= replicas(api)


def test_workers_sync_and_run_tasks_on_the_shared_database_and_redis() -> None:
    services = load()["services"]
    worker = services["worker"]
    assert worker["command"] == ["mailgate", "worker"] and replicas(worker) >= 2
    for name in ("api", "worker"):
        settings = Settings.from_env(environment(services[name]))
        assert (
            settings.database_url.startswith("postgresql+asyncpg://")
            and "@postgres:" in settings.database_url
        )
        assert settings.redis_url is not None and settings.redis_url.startswith("redis://redis:")
        assert settings.secret and settings.auto_migrate is False
    assert Settings.from_env(environment(worker)).sync is True
    assert environment(services["api"]).keys() - {"MAILGATE_SYNC"} == environment(worker).keys()


def test_services_start_in_order_and_the_schema_is_migrated_once() -> None:
    services = load()["services"]
    assert {"api", "worker", "migrate", "postgres", "redis"} <= services.keys()
    assert services["migrate"]["command"] == ["mailgate", "migrate"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in services.items():  # "healthy" can only be waited for with a health check
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)


def test_only_documented_settings_are_used() -> None:
    documented = documented_variables()
    assert {"MAILGATE_DATABASE_URL", "MAILGATE_SYNC"} <= documented  # the table was found
    services = load()["services"]
    used = {k for s in services.values() for k in environment(s) if k.startswith("MAILGATE_")}
    dockerfile = (ROOT / "Dockerfile").read_text()
    used |= set(re.findall(r"\b(MAILGATE_[A-Z0-9_]+)=", dockerfile))
    assert used - documented == set()


def test_the_image_is_built_from_this_repository() -> None:
    services = load()["services"]
    for name in ("api", "worker", "migrate"):
        assert services[name]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()
    assert re.search(r'^CMD \["mailgate", "serve"\]$', (ROOT / "Dockerfile").read_text(), re.M)
