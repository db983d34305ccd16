"""`driftline lineage export mlflow` and `[mlflow] auto_export` against a real MLflow
tracking server (tests/mlflow_server.py: SQLite store, its own artifact directory, a free
loopback port).

The module's own runs, on the small spans, with the export after every run on:
1. span 2, the tracking server up: the run is exported as it ends;
2. span 3, the tracking server stopped while the run is under way: the run completes,
   one warning names the server; the server comes back on the same store and port,
   and `lineage export mlflow` catches up;
3. span 5 (span 4's rows with a payment type outside the schema), the gate blocking:
   the run stops before Transform and is exported with that verdict.
Then a real `driftline serve` over the two pushed versions, a canary and a promotion
through `driftline rollout`, each moving the registry's aliases.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_server import MlflowServer

EXPERIMENT = "driftline-e2e"
MODEL = "taxi_big_tipper"


def _config(work, small_spans, server) -> str:
    return (f'data_root = "{small_spans}"\noutput_dir = "out"\nwindow = 1\n'
            "[evaluation]\nmin_auc = 0.0\nmin_f1 = 0.0\nmax_auc_drop = 1.0\n"
            '[drift]\ngate = "warn"\n[serving]\npoll_seconds = 0.2\n'
            f'[mlflow]\ntracking_uri = "{server.url}"\nexperiment = "{EXPERIMENT}"\nauto_export = true\n')


def _run(config, work, span, on_first_node):
    """`driftline run --span SPAN`, calling `on_first_node` once the run's first node has
    ended (its progress line): well after the run started, well before its export."""
    proc = subprocess.Popen([sys.executable, "-m", "driftline", "run", "--fast", "--config", str(config),
                             "--span", str(span)], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines, called = [], False
    for line in proc.stdout:
        lines.append(line)
        if not called and "CsvExampleGen" in line and line.rstrip().endswith(" s"):
            on_first_node()
            called = True
    proc.wait(timeout=900)
    assert called, "".join(lines)
    return proc.returncode, "".join(lines)


def _spans_with_a_bad_one(small_spans, work):
    data_root = work / "taxi"
    shutil.copytree(small_spans, data_root)
    (data_root / "span-5").mkdir()
    bad = (data_root / "span-4" / "data.csv").read_text().replace(",Cash,", ",Bitcoin,")
    (data_root / "span-5" / "data.csv").write_text(bad)
    return data_root


@pytest.fixture(scope="module")
def mirrored(small_spans, tmp_path_factory, driftline):
    work = tmp_path_factory.mktemp("mlflow")
    (work / "tracking").mkdir()
    # Each start of the server overlaps a run's own start; each run waits for it (or
    # stops it) on an event of its own: its first node's progress line.
    server = MlflowServer(work / "tracking").launch()
    try:
        config, blocking = work / "driftline.toml", work / "blocking.toml"
        config.write_text(_config(work, _spans_with_a_bad_one(small_spans, work), server))
        blocking.write_text(config.read_text().replace('gate = "warn"', 'gate = "block"'))
        first = _run(config, work, 2, lambda: (server.wait(), server.stop()))
        server.launch()
        seen = {}

        def before_the_next_export():
            server.wait()
            experiment = server.client().get_experiment_by_name(EXPERIMENT)
            seen["runs"] = server.client().search_runs([experiment.experiment_id]) if experiment else []

        second = _run(config, work, 3, before_the_next_export)
        blocked = driftline("run", "--fast", "--config", blocking, "--span", 5, cwd=work)
        assert blocked.returncode == 3, blocked.stdout + blocked.stderr
        again = driftline("lineage", "export", "mlflow", "--config", config, cwd=work)
        listed = json.loads(driftline("lineage", "runs", "--config", config, "--json", cwd=work).stdout)
        yield {"work": work, "config": config, "server": server, "client": server.client(), "first": first,
               "second": second, "before_the_next_export": seen["runs"], "blocked": blocked, "again": again,
               "runs": listed[::-1]}
    finally:
        server.stop()


def _mlflow_run(client, run_id):
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    found = client.search_runs([experiment], f"tags.`driftline.run_id` = '{run_id}'")
    assert len(found) == 1, (run_id, found)
    return found[0]


def _trace(mirrored, driftline, run_id) -> dict:
    proc = driftline("lineage", "trace", run_id, "--config", mirrored["config"], "--json", cwd=mirrored["work"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["summary"]


def test_a_stopped_server_costs_one_warning_and_the_next_export_catches_up(mirrored):
    code, output = mirrored["first"]
    assert code == 0, output
    warnings = [line for line in output.splitlines() if line.startswith("warning: MLflow export")]
    assert len(warnings) == 1, output
    assert mirrored["server"].url in warnings[0] and "catches up" in warnings[0]
    assert "Traceback" not in output
    first_id, second_id, _ = (r["run_id"] for r in mirrored["runs"])
    assert mirrored["before_the_next_export"] == []
    # The next run's export (the server back on its store and port) adds the missed run too.
    code, output = mirrored["second"]
    assert code == 0, output
    assert "warning: MLflow" not in output and "INFO" not in mirrored["again"].stderr
    brief = [line for line in output.splitlines() if line.startswith("MLflow ")]
    assert brief == [f"MLflow {mirrored['server'].url}: run {first_id} created, run {second_id} created; "
                     "no champion; no challenger"], output


def test_each_run_holds_what_lineage_trace_says(mirrored, driftline):
    client = mirrored["client"]
    assert [r["pushed_version"] is not None for r in mirrored["runs"]] == [True, True, False]
    for record in mirrored["runs"][:2]:
        summary = _trace(mirrored, driftline, record["run_id"])
        found = _mlflow_run(client, record["run_id"])
        params, tags, metrics = found.data.params, found.data.tags, found.data.metrics
        trainer = summary["trainer"]
        for name, value in trainer["hparams"].items():
            assert params[f"training.{name}"] == (value if isinstance(value, str) else json.dumps(value)), name
        assert params["seed"] == str(trainer["hparams"]["seed"])
        assert params["training.train_steps"] == str(trainer["train_steps"])
        assert params["span"] == str(record["span"]) and json.loads(params["window"]) == record["window"]
        assert tags["driftline.git_commit"] == summary["git_commit"] == record["git_commit"]
        assert tags["code.Trainer.fingerprint"] == trainer["code_fingerprint"]
        assert tags["schema.sha256"] == summary["schema"][0]["sha256"]
        for source in summary["sources"]:
            for name, digest in source["sha256"].items():
                assert tags[f"data.span-{source['span']}.{name}.sha256"] == digest
        assert tags["blessed"] == "yes" and summary["blessed"] is True
        assert tags["pushed.version"] == str(record["pushed_version"])
        assert tags["drift.verdict"] in ("passed", "over threshold, let through (gate warns)")
        assert tags["driftline.mlmd_store"].endswith("metadata.sqlite")
        judged = summary["judgement"]
        for name, value in judged["metrics"].items():
            assert metrics[name] == pytest.approx(value["value"], abs=1e-12)
            assert metrics[f"{name}.low"] == pytest.approx(value["low"], abs=1e-12)
            assert metrics[f"{name}.high"] == pytest.approx(value["high"], abs=1e-12)
        for name, value in (judged["trivial"] or {}).get("constant", {}).items():
            assert metrics[f"constant.{name}"] == pytest.approx(value, abs=1e-12)
        assert metrics["eval.examples"] == judged["examples"]
        artifacts = {f.path for f in client.list_artifacts(found.info.run_id)}
        assert {"drift_report", "error_analysis", "pushed_model"} <= artifacts
        pages = {f.path for f in client.list_artifacts(found.info.run_id, "error_analysis")}
        assert "error_analysis/index.html" in pages
        assert found.info.status == "FINISHED"
        assert record["mlflow"] == {mirrored["server"].url: found.info.run_id}


def test_a_run_the_drift_gate_stopped_is_exported_with_its_verdict(mirrored):
    record = mirrored["runs"][2]
    assert record["drift"]["passed"] is False and record["blessed"] is None
    brief = [line for line in mirrored["blocked"].stdout.splitlines() if line.startswith("MLflow ")]
    # Nothing has served yet: no deployment, so no alias.
    assert brief == [f"MLflow {mirrored['server'].url}: run {record['run_id']} created; no champion; no challenger"]
    found = _mlflow_run(mirrored["client"], record["run_id"])
    tags, metrics = found.data.tags, found.data.metrics
    assert tags["drift.verdict"] == "blocked" and tags["blessed"] == "not judged"
    why = tags["blessed.why_not"]
    assert why.startswith("the drift gate stopped it (") and "payment_type (schema anomaly)" in why
    assert tags["driftline.state"] == "blocked by the drift gate"
    assert "auc" not in metrics and any(k.startswith("drift.distance.") for k in metrics)
    assert "training.train_steps" not in found.data.params  # no Trainer ran
    assert "drift_report" in {f.path for f in mirrored["client"].list_artifacts(found.info.run_id)}


def _snapshot(client) -> dict:
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    found = {}
    for run in client.search_runs([experiment]):
        history = {k: len(client.get_metric_history(run.info.run_id, k)) for k in run.data.metrics}
        found[run.info.run_id] = (run.data.params, run.data.tags, history,
                                  sorted(f.path for f in client.list_artifacts(run.info.run_id)))
    found["versions"] = sorted((v.version, v.tags["driftline.version"])
                               for v in client.search_model_versions(f"name = '{MODEL}'"))
    found["aliases"] = client.get_registered_model(MODEL).aliases
    return found


def test_a_second_export_changes_nothing(mirrored, driftline):
    client = mirrored["client"]
    assert mirrored["again"].returncode == 0, mirrored["again"].stderr
    assert "0 change(s)" in mirrored["again"].stdout
    before = _snapshot(client)
    proc = driftline("lineage", "export", "mlflow", "--config", mirrored["config"], "--json", cwd=mirrored["work"])
    assert proc.returncode == 0, proc.stderr
    assert {r["action"] for r in json.loads(proc.stdout)["runs"]} == {"unchanged"}
    assert _snapshot(client) == before
    assert all(count == 1 for key, value in before.items() if key not in ("versions", "aliases")
               for count in value[2].values())


def test_slices_when_asked_and_another_experiment_gets_its_own_runs(mirrored, driftline):
    from driftline.tracking.payload import key

    client, work = mirrored["client"], mirrored["work"]
    proc = driftline("lineage", "export", "mlflow", "--config", mirrored["config"], "--experiment", "with-slices",
                     "--slices", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert {r["action"] for r in json.loads(proc.stdout)["runs"]} == {"created"}
    experiment = client.get_experiment_by_name("with-slices").experiment_id
    record = mirrored["runs"][1]
    found = client.search_runs([experiment], f"tags.`driftline.run_id` = '{record['run_id']}'")[0]
    page = _trace(mirrored, driftline, record["run_id"])["error_analysis"]
    analysis = json.loads((Path(page).parent / "analysis.json").read_text())
    scored = [e for e in analysis["slices"] if isinstance(e.get("f1_score"), float) and e["f1_score"] == e["f1_score"]]
    assert scored
    for entry in scored:
        name = key("slice", entry["slice"], "f1_score")
        assert found.data.metrics[name] == pytest.approx(entry["f1_score"], abs=1e-12), name
        assert found.data.metrics[key("slice", entry["slice"], "examples")] == entry["examples"]
    assert not any(k.startswith("slice.") for k in _mlflow_run(client, record["run_id"]).data.metrics)


def test_a_canary_then_a_promotion_move_the_aliases(mirrored, driftline):
    from serving_helpers import Served

    client, work, config = mirrored["client"], mirrored["work"], mirrored["config"]
    registered = {v.tags["driftline.version"]: v.version for v in client.search_model_versions(f"name = '{MODEL}'")}
    server = Served(config, work)
    try:
        state = server.wait(versions=2)
        stable = int(state["policy"]["slots"][state["policy"]["live"]])
        other = next(int(v) for v in state["versions"] if int(v) != stable)

        def rollout(*args):
            proc = driftline("rollout", *args, "--config", config, "--server", server.url, cwd=work, timeout=120)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert "warning: MLflow" not in proc.stderr, proc.stderr
            return client.get_registered_model(MODEL).aliases

        aliases = rollout("canary", "--version", other, "--percent", 10, "--reason", "try it")
        assert aliases == {"champion": registered[str(stable)], "challenger": registered[str(other)]}
        aliases = rollout("promote", "--reason", "holds up")
        assert aliases == {"champion": registered[str(other)]}
        aliases = rollout("rollback", "--reason", "back")
        assert aliases["champion"] == registered[str(stable)]
    finally:
        server.stop()
