"""The deployment files (deploy/, docs/deployment.md) as far as a machine without docker or
helm can check them: every instance that can run supportops (the root dagster.yaml, the
Postgres one in deploy/, the one the Helm chart renders from deploy/helm/values.yaml) keeps
the same single-writer limits; compose wires its services to each other and to the image;
the Dockerfile copies files that exist and serves the module the project declares."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from config.settings import DAGSTER_PG_URL_ENV, PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
MODULE = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["dagster"][
    "module_name"
]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)


def helm_form(config: dict) -> dict:
    """An instance yaml block as the chart's values spell it (camelCase keys)."""
    return {camel(k): helm_form(v) if isinstance(v, dict) else v for k, v in config.items()}


ROOT_INSTANCE = load(PROJECT_ROOT / "dagster.yaml")
SERVICE_INSTANCE = load(DEPLOY / "dagster.yaml")
HELM = load(DEPLOY / "helm" / "values.yaml")
COMPOSE = load(DEPLOY / "compose.yaml")


def test_every_instance_runs_one_run_at_a_time_with_one_warehouse_slot() -> None:
    expected = {
        "runs": {"max_concurrent_runs": 1},
        "pools": {"default_limit": 1, "granularity": "op"},
    }
    assert ROOT_INSTANCE["concurrency"] == SERVICE_INSTANCE["concurrency"] == expected
    # The chart renders the block only when enabled, and refuses a run limit set also on its
    # queued run coordinator (without `enabled` that one would be -1: no limit).
    assert HELM["concurrency"] == {"enabled": True, **helm_form(expected)}
    # The run queue that enforces max_concurrent_runs is on in both services.
    assert SERVICE_INSTANCE["run_coordinator"]["class"] == "QueuedRunCoordinator"
    coordinator = HELM["dagsterDaemon"]["runCoordinator"]
    assert coordinator == {"enabled": True, "type": "QueuedRunCoordinator"}  # no own limit
    # Crash handling (a dead run's slot freed) is the same everywhere.
    assert ROOT_INSTANCE["run_monitoring"] == SERVICE_INSTANCE["run_monitoring"]
    assert HELM["dagsterDaemon"]["runMonitoring"] == helm_form(ROOT_INSTANCE["run_monitoring"])


def test_the_service_instance_is_valid_dagster_config_on_postgres(monkeypatch) -> None:
    """Dagster's own validation of deploy/dagster.yaml (schema, and the run-queue settings
    it refuses beside `concurrency`), without connecting anywhere."""
    from dagster._core.instance.config import dagster_instance_config

    monkeypatch.setenv(DAGSTER_PG_URL_ENV, "postgresql+psycopg2://u@db:5432/dagster")
    config, _ = dagster_instance_config(str(DEPLOY))
    assert config["storage"] == {"postgres": {"postgres_url": {"env": DAGSTER_PG_URL_ENV}}}
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_helm_runs_on_kubernetes_jobs_pinned_with_the_warehouse_volume() -> None:
    assert HELM["runLauncher"]["type"] == "K8sRunLauncher"
    [code] = HELM["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"] == ["-m", MODULE]
    launcher = HELM["runLauncher"]["config"]["k8sRunLauncher"]
    # Run pods mount the same claim at the same path, on the same node as the code location.
    assert launcher["volumes"] == code["volumes"]
    assert launcher["volumeMounts"] == code["volumeMounts"]
    assert launcher["runK8sConfig"]["podSpecConfig"]["nodeSelector"] == code["nodeSelector"]
    data_dir = {e["name"]: e["value"] for e in code["env"]}["SUPPORTOPS_DATA_DIR"]
    assert [m["mountPath"] for m in code["volumeMounts"]] == [data_dir]


def test_compose_wires_postgres_code_location_webserver_daemon_and_dashboards() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "code", "webserver", "daemon", "dashboards"}
    dagster_services = ("code", "webserver", "daemon")
    for name in (*dagster_services, "dashboards"):
        env = services[name]["environment"]
        assert services[name]["image"] == "supportops:latest", name
        assert env["DAGSTER_HOME"] == "/app/deploy", name  # deploy/dagster.yaml in the image
        assert env[DAGSTER_PG_URL_ENV].startswith("postgresql+psycopg2://dagster:"), name
        assert "@postgres:5432/dagster" in env[DAGSTER_PG_URL_ENV], name
    assert services["code"]["build"]["dockerfile"] == "deploy/Dockerfile"
    # The local image is never looked for in a registry (a pull would fail, or fetch another).
    others = [name for name in services if name not in ("postgres", "code")]
    assert all(services[name]["pull_policy"] == "never" for name in others)
    assert "deploy" not in services["code"] and "scale" not in services["code"]  # one replica
    # The webserver and daemon load the code location by its service name and port.
    [location] = load(DEPLOY / "workspace.yaml")["load_from"]
    assert location["grpc_server"]["host"] == "code"
    for name in ("webserver", "daemon"):
        command = services[name]["command"]
        assert command[command.index("-w") + 1] == "deploy/workspace.yaml"
    # The warehouse volume: written only by the code location (its runs), read by the
    # dashboards; compute logs shared so the webserver shows what runs printed.
    data_dir = services["code"]["environment"]["SUPPORTOPS_DATA_DIR"]
    mounts = {name: services[name].get("volumes", []) for name in services}
    assert f"data:{data_dir}" in mounts["code"] and f"data:{data_dir}" in mounts["dashboards"]
    assert not any(m.startswith("data:") for m in mounts["webserver"] + mounts["daemon"])
    assert all("dagster:/app/.dagster" in mounts[name] for name in dagster_services)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, as Docker reads them: comment lines dropped (also
    inside a continued instruction), then continued lines joined."""
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.strip().startswith("#"))
    joined = [line.strip() for line in text.replace("\\\n", " ").splitlines() if line.strip()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined]


def test_the_dockerfile_copies_files_that_exist_and_serves_the_project_module() -> None:
    instructions = dockerfile_instructions()
    copied = [src for op, args in instructions if op == "COPY" for src in shlex.split(args)[:-1]]
    assert copied, "no COPY found"
    missing = [src for src in copied if not (PROJECT_ROOT / src).exists()]
    assert not missing
    # Every package the wheel builds is in the image (hatch builds it in `uv sync`).
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert set(packages) <= set(copied)
    [cmd] = [args for op, args in instructions if op == "CMD"]
    command = yaml.safe_load(cmd)  # the exec form is a JSON (so YAML) list
    assert command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-m") + 1] == MODULE
    assert command[command.index("-p") + 1] == str(
        load(DEPLOY / "workspace.yaml")["load_from"][0]["grpc_server"]["port"]
    )
    # Its installs are the locked ones, without the dev group.
    syncs = [
        " ".join(part.split())
        for op, args in instructions
        if op == "RUN"
        for part in args.split("&&")
        if "uv sync" in part
    ]
    assert syncs == [
        "uv sync --frozen --no-dev --no-install-project",
        "uv sync --frozen --no-dev",
    ]
    env = " ".join(args for op, args in instructions if op == "ENV")
    assert "DAGSTER_HOME=/app/deploy" in env


@pytest.mark.parametrize("path", ["dashboards/app.py", "deploy/workspace.yaml"])
def test_compose_commands_name_files_in_the_image(path: str) -> None:
    commands = [" ".join(s.get("command", [])) for s in COMPOSE["services"].values()]
    assert any(path in c for c in commands)
    assert (PROJECT_ROOT / path).exists()
