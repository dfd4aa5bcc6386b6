"""`saas-analytics files list|show|replace|forget` as an operator runs them (the correction path's CLI)."""

from __future__ import annotations

from ops_helpers import rows, track, write_events

from pipeline_helpers import run_pipeline


def test_files_commands(deployment, tmp_path) -> None:
    landing = deployment.settings.landing_dir
    write_events(landing / "events_2026-06-01.jsonl.gz", [track("a1", "u1", "2026-06-01")])
    path = write_events(landing / "events_2026-06-02.jsonl.gz", [track("b1", "u2", "2026-06-02")])
    run_pipeline(deployment.warehouse, landing, "run-1")
    (landing / "events_2026-06-03.jsonl").write_bytes(b"")
    write_events(path, [track("b1", "u3", "2026-06-02")])  # changed after loading
    run_pipeline(deployment.warehouse, landing, "run-2")

    listed = deployment.cli("files", "list")
    assert listed.returncode == 0, listed.stderr
    states = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()}
    assert states == {"events_2026-06-01.jsonl.gz": "loaded", "events_2026-06-02.jsonl.gz": "quarantined",
                      "events_2026-06-03.jsonl": "waiting"}

    shown = deployment.cli("files", "show", "events_2026-06-02.jsonl.gz")
    assert shown.returncode == 0 and "core_events      1" in shown.stdout and "quarantined" in shown.stdout

    deployment.env["SAAS_OPERATOR"] = "dana"
    replaced = deployment.cli("files", "replace", "events_2026-06-02.jsonl.gz")
    assert replaced.returncode == 0, replaced.stderr
    assert "files: replace events_2026-06-02.jsonl.gz by dana: 1 events withdrawn, 1 loaded" in replaced.stdout
    assert rows(deployment.warehouse, "select user_id from core.fact_events where message_id = 'b1'") == [("u3",)]
    assert rows(deployment.warehouse, "select corrected_by, action from analytics.file_corrections") == [
        ("dana", "replace")]
    assert rows(deployment.warehouse, "select status, resolution from raw.quarantined_files") == [
        ("resolved", "replaced")]

    source = write_events(tmp_path / "fixed.jsonl.gz", [track("b1", "u2", "2026-06-02")])
    again = deployment.cli("files", "replace", "events_2026-06-02.jsonl.gz", "--from", str(source), "--no-refresh")
    assert again.returncode == 0 and "next run" in again.stdout, again.stderr
    assert rows(deployment.warehouse, "select user_id from core.fact_events where message_id = 'b1'") == [("u2",)]

    forgot = deployment.cli("files", "forget", "events_2026-06-01.jsonl.gz")
    assert forgot.returncode == 0 and "still in the landing folder" in forgot.stdout, forgot.stderr
    unknown = deployment.cli("files", "forget", "nope.jsonl")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines()[-1].startswith("error: nope.jsonl: not a loaded file")
