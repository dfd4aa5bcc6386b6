"""Defect 7: `warehouse start` printed the password of DATABASE_URL. No output or log may contain one."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from ops_helpers import track, write_events
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from saas_analytics.errors import redact

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]

PLANTED = "Pl4nted-S3cret-7319"


def test_redact_masks_every_spelling() -> None:
    for text in (f"host=h user=u password={PLANTED} dbname=w", f"password='{PLANTED}'",
                 f"postgresql://u:{PLANTED}@h:5432/w", f"postgresql+psycopg2://u:{PLANTED}@/w?host=/tmp",
                 f'{{"login": "u", "password": "{PLANTED}"}}'):
        assert PLANTED not in redact(text) and "****" in redact(text), text


def files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()
            and p.name not in {"airflow.cfg"}]


def test_no_cli_output_or_log_contains_the_database_password(pg_server: dict, deployment) -> None:
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute("drop role if exists planted")
        conn.execute(sql.SQL("create role planted login superuser password {}").format(sql.Literal(PLANTED)))
    params = conninfo_to_dict(deployment.warehouse)
    meta = conninfo_to_dict(deployment.metadata)
    url = (f"postgresql://planted:{PLANTED}@/{params['dbname']}?host={params['host']}&port={params['port']}")
    meta_url = f"postgresql://planted:{PLANTED}@/{meta['dbname']}?host={meta['host']}&port={meta['port']}"
    deployment.env.update({"DATABASE_URL": url, "AIRFLOW_DATABASE_URL": meta_url})
    write_events(deployment.settings.landing_dir / "events_2026-06-01.jsonl.gz", [track("a1", "u1", "2026-06-01")])

    outputs = []
    for args in (["warehouse", "start"], ["warehouse", "status"], ["warehouse", "url"],
                 ["warehouse", "url", "--airflow"], ["warehouse", "url", "--sqlalchemy"], ["run"], ["summary"],
                 ["airflow", "status"], ["files", "list"], ["files", "show", "nope.jsonl"],
                 ["warehouse", "url", "--airflow", "--sqlalchemy"]):
        result = deployment.cli(*args)
        outputs.append((args, result.returncode, result.stdout + result.stderr))
    assert outputs[0][1] == 0 and "****" in outputs[0][2], outputs[0]
    assert outputs[5][1] == 0, outputs[5][2][-3000:]  # the run itself worked with that URL
    leaks = [(args, out) for args, _, out in outputs if PLANTED in out]
    assert not leaks, leaks
    # the password is usable when asked for explicitly
    shown = deployment.cli("warehouse", "url", "--show-password")
    assert PLANTED in shown.stdout
    # and no log the run wrote holds it (Airflow's task logs, component logs, our run log)
    assert list((deployment.settings.data_dir / "logs").glob("run-*.log"))
    assert files_containing(deployment.settings.data_dir / "logs", PLANTED) == []
    assert files_containing(deployment.settings.airflow_home / "logs", PLANTED) == []
