"""The Metabase provisioner against a stateful fake of Metabase's API (metabase_fake): every request it
sends must match the documented shapes (metabase_api_schemas), a second run changes nothing, a changed
card SQL updates that card in place, and failures come back as one clear line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from metabase_fake import FakeMetabase

from saas_analytics.config import get_settings
from saas_analytics.dashboards import metabase as mb
from saas_analytics.dashboards.definitions import load_dashboard, load_dashboards

REPO = Path(__file__).resolve().parents[3]
READER_PASSWORD = "reader-secret-123"


@pytest.fixture(scope="module")
def dashboards():
    return load_dashboards(REPO / "sql" / "dashboards")


@pytest.fixture
def fake():
    with FakeMetabase() as server:
        yield server


def config_for(server: FakeMetabase, **changes) -> mb.MetabaseConfig:
    config = mb.MetabaseConfig(
        url=server.url, admin_email="admin@example.com", admin_password="S3cure-admin-passphrase",
        warehouse=mb.WarehouseConnection("postgres", 5432, "warehouse", "analytics_reader", READER_PASSWORD),
    )
    return replace(config, **changes)


def provision(server: FakeMetabase, dashboards, **kwargs) -> mb.ProvisionResult:
    config = kwargs.pop("config", None) or config_for(server)
    return mb.provision(config, dashboards, **kwargs)


def total_cards(dashboards) -> int:
    return sum(len(d.cards) for d in dashboards)


def test_first_run_sets_up_metabase_and_creates_everything(fake: FakeMetabase, dashboards) -> None:
    result = provision(fake, dashboards)

    assert fake.violations == []
    assert fake.is_setup, "a fresh Metabase gets its first admin through POST /api/setup"
    assert fake.writes()[0] == ("POST", "/api/setup")
    assert ("POST", "/api/session") not in fake.writes(), "setup already returns a session"

    (database,) = fake.databases.values()
    assert database["engine"] == "postgres" and database["name"] == mb.DEFAULT_DATABASE_NAME
    assert database["details"] | {"password": "?"} == {
        "host": "postgres", "port": 5432, "dbname": "warehouse", "user": "analytics_reader", "password": "?",
        "ssl": False, "schema-filters-type": "inclusion", "schema-filters-patterns": "analytics",
    }
    assert database["details"]["password"] == READER_PASSWORD
    assert mb.MANAGED_MARKER in database["description"]

    collections = fake.live("collection")
    (root,) = [c for c in collections.values() if c["location"] == "/"]
    assert root["name"] == mb.DEFAULT_COLLECTION_NAME
    assert sorted(c["name"] for c in collections.values() if c["location"] == f"/{root['id']}/") == sorted(
        d.name for d in dashboards)
    assert all(mb.MANAGED_MARKER in c["description"] for c in collections.values())

    assert len(fake.live("card")) == total_cards(dashboards)
    assert {d["name"] for d in fake.live("dashboard").values()} == {d.name for d in dashboards}
    for definition in dashboards:
        dashboard = fake.dashboards[result.dashboard_ids[definition.key]]
        assert dashboard["collection_id"] == root["id"]
        assert [p["slug"] for p in dashboard["parameters"]] == [f.slug for f in definition.filters]
        assert len(dashboard["dashcards"]) == len(definition.cards)
        for card, dashcard in zip(definition.cards, dashboard["dashcards"], strict=True):
            stored = fake.cards[dashcard["card_id"]]
            assert stored["name"] == card.name
            assert stored["dataset_query"]["native"]["query"] == card.sql
            assert (dashcard["row"], dashcard["col"], dashcard["size_x"], dashcard["size_y"]) == (
                card.layout.row, card.layout.col, card.layout.width, card.layout.height)
            assert sorted(m["target"][1][1] for m in dashcard["parameter_mappings"]) == sorted(card.tags)
    assert result.count("created", "card") == total_cards(dashboards)
    assert result.count("created", "dashboard") == len(dashboards)


def test_every_request_matches_the_documented_api(fake: FakeMetabase, dashboards) -> None:
    provision(fake, dashboards)
    provision(fake, dashboards)
    assert fake.violations == []
    sent = {(r.method, r.path.split("/")[2]) for r in fake.requests}
    # the provisioner exercised every write endpoint the schemas describe
    for endpoint in [("POST", "setup"), ("POST", "session"), ("POST", "database"), ("PUT", "database"),
                     ("POST", "collection"), ("POST", "card"), ("POST", "dashboard"), ("PUT", "dashboard")]:
        assert endpoint in sent, endpoint
    card_posts = [r for r in fake.requests if (r.method, r.path) == ("POST", "/api/card")]
    tagged = [r for r in card_posts if r.body["dataset_query"]["native"]["template-tags"]]
    assert tagged, "cards with a date filter carry template tags"
    for request in tagged:
        for name, tag in request.body["dataset_query"]["native"]["template-tags"].items():
            assert tag == {"id": tag["id"], "name": name, "display-name": tag["display-name"], "type": "date",
                           "required": False}


def test_second_run_changes_nothing(fake: FakeMetabase, dashboards) -> None:
    provision(fake, dashboards)
    before = len(fake.requests)
    snapshot = (repr(fake.cards), repr(fake.dashboards), repr(fake.collections), repr(fake.databases))

    result = provision(fake, dashboards)

    assert not result.changed, [c for c in result.changes if c.action != "unchanged"]
    assert fake.writes(before) == [("POST", "/api/session")], "only the login; everything else is a GET"
    assert (repr(fake.cards), repr(fake.dashboards), repr(fake.collections), repr(fake.databases)) == snapshot
    assert result.count("unchanged", "card") == total_cards(dashboards)


def test_second_run_with_an_api_key_sends_only_gets(fake: FakeMetabase, dashboards) -> None:
    provision(fake, dashboards)
    fake.api_keys.add("mb_test_key")
    before = len(fake.requests)
    result = provision(fake, dashboards, config=config_for(fake, api_key="mb_test_key", admin_password=None))
    assert not result.changed
    assert fake.writes(before) == []
    assert all(r.headers.get("x-api-key") == "mb_test_key" for r in fake.requests[before:]
               if r.path not in ("/api/health",))


def test_metabase_57_query_shape_is_understood(fake: FakeMetabase, dashboards) -> None:
    provision(fake, dashboards)
    fake.mbql5 = True  # GET /api/card answers dataset_query as {"lib/type": "mbql/query", "stages": [...]}
    before = len(fake.requests)
    assert not provision(fake, dashboards).changed
    assert fake.writes(before) == [("POST", "/api/session")]


def test_listings_without_descriptions_are_looked_up(fake: FakeMetabase, dashboards) -> None:
    provision(fake, dashboards)
    fake.terse_items = True
    before = len(fake.requests)
    assert not provision(fake, dashboards).changed
    assert fake.writes(before) == [("POST", "/api/session")]


@pytest.fixture
def definitions_copy(tmp_path: Path) -> Path:
    target = tmp_path / "dashboards"
    shutil.copytree(REPO / "sql" / "dashboards", target)
    return target


def test_changed_sql_updates_that_card_in_place(fake: FakeMetabase, dashboards, definitions_copy: Path) -> None:
    first = provision(fake, dashboards)
    sql_file = definitions_copy / "executive_overview" / "active_users_trend.sql"
    sql_file.write_text(sql_file.read_text().replace("order by activity_date", "order by activity_date asc"))
    changed = load_dashboards(definitions_copy)
    card_id = first.card_ids["executive_overview/active_users_trend"]
    before = len(fake.requests)

    result = provision(fake, changed)

    assert fake.violations == []
    assert fake.writes(before) == [("POST", "/api/session"), ("PUT", f"/api/card/{card_id}")]
    assert "order by activity_date asc" in fake.cards[card_id]["dataset_query"]["native"]["query"]
    assert result.card_ids == first.card_ids, "same card ids: updated in place, dashboards untouched"
    assert [(c.name, c.detail) for c in result.changes if c.action == "updated"] == [
        ("Executive overview / Active users (DAU, WAU, MAU)", "sql")]
    assert len(fake.live("card")) == total_cards(dashboards)


def test_changed_layout_moves_the_dashcard_keeping_its_id(fake: FakeMetabase, dashboards,
                                                          definitions_copy: Path) -> None:
    first = provision(fake, dashboards)
    path = definitions_copy / "pipeline_health.yml"
    path.write_text(path.read_text().replace("layout: {row: 15, col: 0, width: 24, height: 4}",
                                             "layout: {row: 15, col: 0, width: 24, height: 8}"))
    dashboard_id = first.dashboard_ids["pipeline_health"]
    ids_before = [d["id"] for d in fake.dashboards[dashboard_id]["dashcards"]]
    before = len(fake.requests)

    provision(fake, load_dashboards(definitions_copy))

    assert fake.writes(before) == [("POST", "/api/session"), ("PUT", f"/api/dashboard/{dashboard_id}")]
    dashcards = fake.dashboards[dashboard_id]["dashcards"]
    assert [d["id"] for d in dashcards] == ids_before
    assert dashcards[-1]["size_y"] == 8


def test_removed_card_is_archived_and_leaves_its_dashboard(fake: FakeMetabase, dashboards,
                                                           definitions_copy: Path) -> None:
    first = provision(fake, dashboards)
    path = definitions_copy / "engagement_retention.yml"
    text = path.read_text()
    start = text.index("  - sql: cohort_sizes.sql")
    end = text.index("  - sql: feature_uses_per_user.sql")
    path.write_text(text[:start] + text[end:])
    (definitions_copy / "engagement_retention" / "cohort_sizes.sql").unlink()
    card_id = first.card_ids["engagement_retention/cohort_sizes"]

    result = provision(fake, load_dashboards(definitions_copy))

    assert fake.violations == []
    assert fake.cards[card_id]["archived"] is True
    dashboard = fake.dashboards[first.dashboard_ids["engagement_retention"]]
    assert card_id not in [d["card_id"] for d in dashboard["dashcards"]]
    assert result.count("archived", "card") == 1


def test_items_it_does_not_manage_are_never_touched(fake: FakeMetabase, dashboards) -> None:
    fake.is_setup = True
    fake.collections[99] = {"id": 99, "name": mb.DEFAULT_COLLECTION_NAME, "description": "made by hand",
                            "location": "/", "archived": False, "personal_owner_id": None}
    with pytest.raises(mb.MetabaseError, match="not managed by saas-analytics"):
        provision(fake, dashboards)
    assert fake.collections[99]["description"] == "made by hand"
    assert not fake.cards and not fake.dashboards


def test_drifted_database_settings_are_repaired(fake: FakeMetabase, dashboards) -> None:
    provision(fake, dashboards)
    (database,) = fake.databases.values()
    database["details"]["user"] = "postgres"  # someone switched the connection to a superuser
    before = len(fake.requests)
    result = provision(fake, dashboards)
    assert database["details"]["user"] == "analytics_reader"
    assert ("PUT", f"/api/database/{database['id']}") in fake.writes(before)
    assert [c.detail for c in result.changes if c.kind == "database"] == ["user"]
    assert fake.violations == []


def test_update_credentials_and_connection_check(fake: FakeMetabase, dashboards) -> None:
    provision(fake, dashboards)
    fake.warehouse_password = "rotated-password"
    with pytest.raises(mb.MetabaseError, match="cannot query the warehouse as analytics_reader"):
        provision(fake, dashboards, check_connection=True)
    rotated = config_for(fake, warehouse=replace(config_for(fake).warehouse, password="rotated-password"))
    result = provision(fake, dashboards, config=rotated, update_credentials=True, check_connection=True)
    assert [c.action for c in result.changes if c.kind == "database"] == ["updated"]
    assert ("POST", "/api/dataset") in fake.writes()
    assert fake.violations == []


def test_wrong_reader_password_is_reported_with_metabases_reason(fake: FakeMetabase, dashboards) -> None:
    fake.warehouse_password = "the-real-one"
    with pytest.raises(mb.MetabaseError, match=r"POST /api/database: HTTP 400 .*password authentication failed"):
        provision(fake, dashboards)


def test_unreachable_metabase_is_a_clear_error(dashboards) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = mb.MetabaseConfig(
        url=f"http://127.0.0.1:{port}", admin_email="a@example.com", admin_password="x",
        warehouse=mb.WarehouseConnection("postgres", 5432, "warehouse", "analytics_reader", "x"))
    with pytest.raises(mb.MetabaseError, match=rf"Metabase at http://127.0.0.1:{port} is unreachable"):
        mb.provision(config, dashboards)


def test_refused_login_names_the_settings(fake: FakeMetabase, dashboards) -> None:
    fake.is_setup = True
    with pytest.raises(mb.MetabaseError, match="refused the login of admin@example.com .*METABASE_ADMIN_PASSWORD"):
        provision(fake, dashboards, config=config_for(fake, admin_password="wrong"))


def test_setup_refused_once_a_user_exists_is_surfaced(fake: FakeMetabase, dashboards) -> None:
    fake.fail[("POST", "/api/setup")] = (403, {"message": "The /api/setup route can only be used to create the "
                                                          "first user, however a user currently exists."})
    with pytest.raises(mb.MetabaseError, match=r"POST /api/setup: HTTP 403 The /api/setup route can only"):
        provision(fake, dashboards)


def test_non_admin_is_refused(fake: FakeMetabase, dashboards) -> None:
    fake.is_setup, fake.admin_is_superuser = True, False
    with pytest.raises(mb.MetabaseError, match="is not a Metabase admin"):
        provision(fake, dashboards)


def test_bad_api_key_is_refused_clearly(fake: FakeMetabase, dashboards) -> None:
    fake.is_setup = True
    with pytest.raises(mb.MetabaseError, match=r"refused GET /api/user/current: HTTP 401 Unauthenticated"):
        provision(fake, dashboards, config=config_for(fake, api_key="mb_wrong"))


def test_server_error_names_the_request_and_metabases_message(fake: FakeMetabase, dashboards) -> None:
    fake.fail[("POST", "/api/card")] = (500, {"message": "Something went wrong: disk full"})
    with pytest.raises(mb.MetabaseError, match=r"refused POST /api/card: HTTP 500 Something went wrong: disk full"):
        provision(fake, dashboards)


def test_something_that_is_not_metabase(dashboards, tmp_path: Path) -> None:
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "health").write_text("<html>hello</html>")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = mb.MetabaseConfig(url=f"http://127.0.0.1:{server.server_address[1]}",
                                   warehouse=mb.WarehouseConnection("h", 5432, "d", "u", "p"))
        with pytest.raises(mb.MetabaseError, match="is not JSON .*really Metabase"):
            mb.provision(config, dashboards)
    finally:
        server.shutdown()
        server.server_close()


# --- the visualizations Metabase gets ------------------------------------------------------------


def test_visualization_settings_per_display(dashboards) -> None:
    cards = {c.ref: c for d in dashboards for c in d.cards}
    heatmap = mb.visualization_settings(cards["engagement_retention/retention_heatmap"])
    assert mb.metabase_display(cards["engagement_retention/retention_heatmap"]) == "table"
    assert heatmap["table.pivot"] is True
    assert (heatmap["table.pivot_column"], heatmap["table.cell_column"]) == ("months_since_signup", "retention_rate")
    assert heatmap["table.column_formatting"][0]["columns"] == ["retention_rate"]

    platform = mb.visualization_settings(cards["engagement_retention/active_users_by_platform"])
    assert platform["graph.dimensions"] == ["activity_date", "platform"]
    assert platform["graph.metrics"] == ["active_users"]
    assert platform["stackable.stack_type"] == "stacked"

    combo = cards["executive_overview/mrr_arr_trend"]
    assert mb.metabase_display(combo) == "combo"
    assert mb.visualization_settings(combo)["series_settings"] == {
        "mrr": {"axis": "left", "display": "bar"}, "arr": {"axis": "right", "display": "line"}}

    kpi = mb.visualization_settings(cards["executive_overview/kpi_mrr"])
    assert kpi["scalar.field"] == "mrr"
    assert kpi["column_settings"]['["name","mrr"]']["number_style"] == "currency"


def test_ids_are_stable_across_runs_and_processes(dashboards) -> None:
    card = dashboards[0].cards[0]
    assert mb.tag_id(card, "start_date") == mb.tag_id(load_dashboard(dashboards[0].path).cards[0], "start_date")
    ids = [mb.parameter_id(d, f) for d in dashboards for f in d.filters]
    assert len(set(ids)) == len(ids)


# --- configuration --------------------------------------------------------------------------------


def settings_with(**changes):
    return replace(get_settings(), **({"metabase_url": "http://metabase:3000", "reader_password": "pw",
                                       "database_url": None} | changes))


def test_config_takes_the_warehouse_address_from_database_url() -> None:
    settings = settings_with(database_url="postgresql://pipeline:secret@postgres:5432/warehouse")
    config = mb.MetabaseConfig.from_env(settings)
    assert (config.warehouse.host, config.warehouse.port, config.warehouse.dbname) == ("postgres", 5432, "warehouse")
    assert (config.warehouse.user, config.warehouse.password) == (settings.reader_role, "pw")
    assert "pw" not in repr(config) and "secret" not in repr(config)


def test_config_overrides_and_errors() -> None:
    env = {"metabase_warehouse_host": "db.internal", "metabase_warehouse_port": "6543",
           "metabase_warehouse_dbname": "wh", "metabase_database_name": "Warehouse", "metabase_collection": "BI"}
    config = mb.MetabaseConfig.from_env(settings_with(**env))
    assert (config.warehouse.host, config.warehouse.port, config.warehouse.dbname) == ("db.internal", 6543, "wh")
    assert (config.database_name, config.collection_name) == ("Warehouse", "BI")
    with pytest.raises(ValueError, match="METABASE_WAREHOUSE_HOST"):
        mb.MetabaseConfig.from_env(settings_with(database_url="host=/tmp/socket dbname=warehouse"))
    with pytest.raises(ValueError, match="ANALYTICS_READER_PASSWORD"):
        mb.MetabaseConfig.from_env(settings_with(reader_password=None, **env))
    with pytest.raises(ValueError, match="METABASE_URL"):
        mb.MetabaseConfig.from_env(settings_with(metabase_url=None, **env))


# --- the command ----------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("METABASE_", "ANALYTICS_READER"))}
    return subprocess.run([sys.executable, "-c", "from saas_analytics.cli import main; main()", *args],
                          env=base | {"METABASE_API_KEY": ""} | env, capture_output=True, text=True, timeout=120,
                          cwd=REPO)


def test_cli_provisions_then_reports_nothing_to_do(fake: FakeMetabase) -> None:
    env = {"METABASE_URL": fake.url, "METABASE_ADMIN_EMAIL": "admin@example.com",
           "METABASE_ADMIN_PASSWORD": "S3cure-admin-passphrase", "METABASE_WAREHOUSE_HOST": "postgres",
           "METABASE_WAREHOUSE_PORT": "5432", "METABASE_WAREHOUSE_DBNAME": "warehouse",
           "ANALYTICS_READER_PASSWORD": READER_PASSWORD}
    first = run_cli("metabase", "provision", env=env)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout and f"{fake.url}/dashboard/" in first.stdout
    second = run_cli("metabase", "provision", env=env)
    assert second.returncode == 0, second.stderr
    assert "up to date, nothing changed" in second.stdout
    assert fake.violations == []


def test_cli_failure_is_one_line_and_exit_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli("metabase", "provision", env={
        "METABASE_URL": f"http://127.0.0.1:{port}", "METABASE_WAREHOUSE_HOST": "postgres",
        "ANALYTICS_READER_PASSWORD": "x", "METABASE_ADMIN_EMAIL": "a@example.com", "METABASE_ADMIN_PASSWORD": "x"})
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: Metabase at http://127.0.0.1:{port} is unreachable (ConnectError")
    assert errors[0].endswith("is it running, and is METABASE_URL right?")
    assert "Traceback" not in result.stderr


# --- what real Metabase does that a naive client trips over --------------------------------------------


@pytest.mark.parametrize(("password", "problem"), [
    ("change-me-metabase-admin", "no digit"), ("ab1", "fewer than 6"), ("qwerty123", "common password")])
def test_a_weak_admin_password_is_refused_before_setup_naming_the_rule(fake: FakeMetabase, dashboards, password,
                                                                       problem) -> None:
    with pytest.raises(mb.MetabaseError, match=problem) as refused:
        provision(fake, dashboards, config=config_for(fake, admin_password=password))
    assert "Metabase's default password complexity 'normal'" in str(refused.value)
    assert ("POST", "/api/setup") not in fake.writes() and not fake.is_setup


def test_the_fake_refuses_weak_passwords_at_setup_like_metabase(fake: FakeMetabase) -> None:
    client = mb.MetabaseClient(fake.url)
    token = client.get("/api/session/properties")["setup-token"]
    body = {"token": token, "user": {"email": "a@example.com", "password": "change-me-metabase-admin",
                                     "first_name": "A", "last_name": "B"}, "prefs": {"site_name": "x"}}
    with pytest.raises(mb.MetabaseError, match="HTTP 400 .*password"):
        client.post("/api/setup", body)
    client.close()


def test_the_env_example_admin_password_passes_the_rule() -> None:
    values = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                  if line and not line.startswith("#") and "=" in line)
    assert mb.password_problems(values["METABASE_ADMIN_PASSWORD"]) == []


def test_ssl_stored_by_metabase_is_not_a_change_unless_we_set_it(dashboards) -> None:
    with FakeMetabase(warehouse_accepts_tls=True) as fake:
        provision(fake, dashboards)
        (database,) = fake.databases.values()
        assert database["details"]["ssl"] is True, "the fake stores ssl: true like Metabase"
        before = len(fake.requests)
        result = provision(fake, dashboards)
        assert [c.action for c in result.changes if c.kind == "database"] == ["unchanged"]
        assert fake.writes(before) == [("POST", "/api/session")]
        # set explicitly, it is compared (and kept)
        result = provision(fake, dashboards, config=config_for(fake, warehouse=replace(
            config_for(fake).warehouse, ssl=True)))
        assert [c.action for c in result.changes if c.kind == "database"] == ["unchanged"]
        result = provision(fake, dashboards, config=config_for(fake, warehouse=replace(
            config_for(fake).warehouse, ssl=False)))
        assert [c.detail for c in result.changes if c.kind == "database"] == ["ssl"]


def test_removed_card_is_archived_only_after_the_dashboard_dropped_it(fake: FakeMetabase, dashboards,
                                                                      definitions_copy: Path) -> None:
    first = provision(fake, dashboards)
    path = definitions_copy / "pipeline_health.yml"
    text = path.read_text()
    path.write_text(text[:text.index("  - sql: recent_runs.sql")])
    (definitions_copy / "pipeline_health" / "recent_runs.sql").unlink()
    card_id = first.card_ids["pipeline_health/recent_runs"]
    dashboard_id = first.dashboard_ids["pipeline_health"]
    before = len(fake.requests)

    provision(fake, load_dashboards(definitions_copy))

    writes = fake.writes(before)
    assert writes.index(("PUT", f"/api/dashboard/{dashboard_id}")) < writes.index(("PUT", f"/api/card/{card_id}"))
    stored = fake.dashboards[dashboard_id]["dashcards"]  # what Metabase keeps, hidden or not
    assert card_id not in [d["card_id"] for d in stored]
