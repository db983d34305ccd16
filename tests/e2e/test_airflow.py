"""A real Apache Airflow 2.10 runs the pipeline's DAG (`driftline airflow dag`) with
`airflow dags test`, in a throwaway AIRFLOW_HOME with its own SQLite database:

1. span 4's day: every task of span 4's graph succeeds and a model is pushed; MLMD holds
   what a local run of the same inputs holds;
2. span 5's day, whose payment_type holds a value outside the schema's domain: the
   DriftGate task fails the run, the tasks after it are upstream_failed, nothing is pushed;
3. span 6's day, a good span: the run succeeds and pushes.

Airflow comes from its own virtualenv (`make airflow-setup`, requirements-airflow.lock).
"""
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from collections import Counter

import ml_metadata as mlmd
import pytest

from pipeline import metadata
from pipeline.config import PROJECT_ROOT

from e2e_helpers import PIPELINE, pushed_by

AIRFLOW = PROJECT_ROOT / ".venv-airflow" / "bin" / "airflow"
FIRST_DAY = "2026-01-01"  # span N covers 2026-01-0N


def _day(span: int) -> str:
    return f"2026-01-{span:02d}"


# What Airflow itself says, read once through its own API after the runs: the DAG
# folder's import errors, the DAG's tasks and catchup, every run's state and task states,
# and the days a catchup from the DAG's start to span 6's day would run.
INSPECT = """
import datetime as dt, json, sys
from airflow.models import DagBag, DagRun
bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
dag = bag.get_dag(sys.argv[2])
runs = {r.run_id: {"state": r.state, "tasks": {ti.task_id: ti.state for ti in r.get_task_instances()}}
        for r in DagRun.find(dag_id=sys.argv[2])}
infos = dag.iter_dagrun_infos_between(dag.start_date, dt.datetime.fromisoformat(sys.argv[3]))
print(json.dumps({"import_errors": bag.import_errors, "tasks": sorted(dag.task_ids), "catchup": dag.catchup,
                  "runs": runs, "days": [i.logical_date.date().isoformat() for i in infos]}))
"""


class Airflow:
    """The `airflow` command, and Airflow's Python, against one throwaway home."""

    def __init__(self, home, dags):
        self.dags = dags
        self.env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
                    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}
        self.env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)

    def __call__(self, *args, timeout=900, env=None):
        return subprocess.run([str(AIRFLOW), *map(str, args)], env=env or self.env, capture_output=True,
                              text=True, timeout=timeout)

    def inspect(self, until: str) -> dict:
        proc = subprocess.run([str(AIRFLOW.with_name("python")), "-c", INSPECT, str(self.dags), PIPELINE,
                               f"{until}T00:00:00+00:00"], env=self.env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_id(day: str) -> str:
    return f"manual__{day}T00:00:00+00:00"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, small_spans, driftline):
    setup = subprocess.run(["make", "-s", "airflow-setup"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    work = tmp_path_factory.mktemp("airflow")
    data = work / "taxi"
    shutil.copytree(small_spans, data)
    span4 = (data / "span-4" / "data.csv").read_text()
    (data / "span-5").mkdir()
    (data / "span-5" / "data.csv").write_text(span4.replace(",Cash,", ",Bitcoin,"))
    (data / "span-6").mkdir()
    (data / "span-6" / "data.csv").write_text(span4)
    config = work / "driftline.toml"
    config.write_text(f'data_root = "{data}"\noutput_dir = "{work / "out"}"\nwindow = 2\n'
                      f'[airflow]\nfirst_span_date = "{FIRST_DAY}"\n')
    dags = work / "dags"
    wrote = driftline("airflow", "dag", "--config", config, "--out", dags, "--fast", cwd=work)
    assert wrote.returncode == 0, wrote.stdout + wrote.stderr
    airflow = Airflow(work / "home", dags)
    migrated = airflow("db", "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    tested = {span: airflow("dags", "test", PIPELINE, _day(span)) for span in (4, 5, 6)}
    local = driftline("run", "--fast", "--config", config, "--span", 4, "--output-dir", work / "local", cwd=work)
    assert local.returncode == 0, local.stdout + local.stderr
    return {"work": work, "data": data, "airflow": airflow, "wrote": wrote, "tested": tested,
            "seen": airflow.inspect(until=_day(6)),
            "store": _store(work / "out"), "local": _store(work / "local")}


def _store(output_dir):
    return mlmd.MetadataStore(metadata.sqlite_config(output_dir / "metadata.sqlite", readonly=True))


def _only_run(store) -> str:
    runs = metadata.pipeline_runs(store)
    assert len(runs) == 1
    return runs[0].name


def _shape(store, run_id: str) -> dict:
    """What MLMD holds of one run, without ids or times: each node's execution type and
    state, the types of the artifacts it read and wrote, and its contexts' types."""
    types = {t.id: t.name for t in store.get_artifact_types()}
    execution_types = {t.id: t.name for t in store.get_execution_types()}
    shape = {}
    for node, execution in metadata.run_executions(store, PIPELINE, run_id).items():
        events = store.get_events_by_execution_ids([execution.id])
        artifacts = {a.id: types[a.type_id] for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
        shape[node] = {
            "type": execution_types[execution.type_id],
            "state": metadata.STATE_NAMES[execution.last_known_state],
            "events": sorted(Counter((e.type, e.path.steps[0].key, artifacts[e.artifact_id]) for e in events).items()),
            "contexts": sorted(c.type for c in store.get_contexts_by_execution(execution.id)),
        }
    return shape


def test_the_dag_imports_and_its_tasks_are_the_graphs_nodes(scenario):
    from driftline.config import load_config
    from pipeline import airflow_runner
    from pipeline.spans import find_spans

    seen = scenario["seen"]
    assert seen["import_errors"] == {}
    tasks = set(seen["tasks"])
    config = load_config(scenario["work"] / "dags" / "driftline_dag.toml")
    graphs = airflow_runner.shapes(config, find_spans(config.data_root))
    assert tasks == {node for shape in graphs.values() for node in shape["nodes"]}
    # What ran for span 4 is exactly span 4's graph as a local run has it.
    local_nodes = set(metadata.run_executions(scenario["local"], PIPELINE, _only_run(scenario["local"])))
    states = seen["runs"][_run_id(_day(4))]["tasks"]
    ran = {t for t, s in states.items() if s == "success"}
    assert ran == local_nodes == set(graphs[4]["nodes"])
    skipped = {t for t, s in states.items() if s == "skipped"}
    assert skipped == tasks - local_nodes  # the ExampleGens of spans 1, 2, 5 and 6


def test_a_good_span_runs_every_task_and_pushes(scenario):
    store = scenario["store"]
    assert scenario["tested"][4].returncode == 0, scenario["tested"][4].stdout[-3000:]
    assert scenario["seen"]["runs"][_run_id(_day(4))]["state"] == "success"
    pushed = pushed_by(store, _run_id(_day(4)))
    assert (pushed / "saved_model.pb").is_file()
    # The run's summary, as `driftline run` prints it, is in the last task's log.
    assert "span            4 (trained on spans 3, 4)" in scenario["tested"][4].stdout


def test_mlmd_holds_what_a_local_run_of_the_same_inputs_holds(scenario):
    airflow_run = _shape(scenario["store"], _run_id(_day(4)))
    local_run = _shape(scenario["local"], _only_run(scenario["local"]))
    assert airflow_run == local_run
    runs = [c for c in metadata.pipeline_runs(scenario["store"]) if c.name == _run_id(_day(4))]
    assert runs[0].custom_properties["runner"].string_value == "airflow"


def test_lineage_trace_answers_for_an_airflow_run(scenario, driftline):
    work = scenario["work"]
    pushed = pushed_by(scenario["store"], _run_id(_day(4)))
    proc = driftline("lineage", "trace", pushed, "--output-dir", work / "out", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    sources = {s["span"]: s["sha256"] for s in json.loads(proc.stdout)["summary"]["sources"]}
    assert sources == {
        span: {"data.csv": hashlib.sha256((scenario["data"] / f"span-{span}" / "data.csv").read_bytes()).hexdigest()}
        for span in (3, 4)
    }


def test_a_blocked_span_fails_the_run_at_the_gate_and_pushes_nothing(scenario, driftline):
    work = scenario["work"]
    run_id = _run_id(_day(5))
    assert scenario["tested"][5].returncode != 0  # `airflow dags test` says the run failed
    states = scenario["seen"]["runs"][run_id]["tasks"]
    assert states["DriftGate"] == "failed"
    for node in ("Transform", "Trainer", "baseline_model_resolver", "ModelGate", "Pusher"):
        assert states[node] == "upstream_failed", states
    assert scenario["seen"]["runs"][run_id]["state"] == "failed"
    log = scenario["tested"][5].stdout + scenario["tested"][5].stderr
    assert "the drift gate stopped span 5 before Transform and Trainer" in log
    assert "Bitcoin" in log
    executions = metadata.run_executions(scenario["store"], PIPELINE, run_id)
    assert "Pusher" not in executions and "Trainer" not in executions
    runs = driftline("lineage", "runs", "--output-dir", work / "out", "--json", cwd=work)
    assert runs.returncode == 0, runs.stderr
    blocked = next(r for r in json.loads(runs.stdout) if r["run_id"] == run_id)
    assert blocked["blessed"] is None and blocked["pushed_version"] is None
    assert blocked["nodes"]["DriftGate"] == "complete"
    assert blocked["drift"]["passed"] is False


def test_the_next_days_good_span_runs_and_pushes(scenario):
    store = scenario["store"]
    run_id = _run_id(_day(6))
    assert scenario["tested"][6].returncode == 0, scenario["tested"][6].stdout[-3000:]
    assert scenario["seen"]["runs"][run_id]["state"] == "success"
    assert pushed_by(store, run_id).name != pushed_by(store, _run_id(_day(4))).name


def test_a_catchup_replays_the_spans_in_order(scenario):
    """The runs Airflow's scheduler would make from the DAG's start to span 6's day, each
    mapped to its span as the tasks map it."""
    from driftline.airflow.calendar import span_for
    from pipeline.spans import find_spans

    seen = scenario["seen"]
    assert seen["catchup"] is True
    spans = find_spans(scenario["data"])
    assert [span_for(FIRST_DAY, 1, dt.date.fromisoformat(day), spans)[0] for day in seen["days"]] == spans


def test_on_a_mysql_store_an_airflow_run_records_a_local_runs_lineage(scenario, driftline, tmp_path):
    """MLMD on a MySQL server ([metadata] mysql_host): the same DAG, its own dag id, span 4."""
    from mariadb_server import DATABASE, PASSWORD, USER, MariaDB

    server = MariaDB(tmp_path / "mariadb").start()
    try:
        work = scenario["work"]
        config = work / "mysql.toml"
        config.write_text(f'data_root = "{scenario["data"]}"\noutput_dir = "{work / "out-mysql"}"\nwindow = 2\n'
                          + server.settings()
                          + f'[airflow]\nfirst_span_date = "{FIRST_DAY}"\ndag_id = "driftline_mysql"\n')
        wrote = driftline("airflow", "dag", "--config", config, "--out", work / "dags", "--fast", cwd=work)
        assert wrote.returncode == 0, wrote.stdout + wrote.stderr
        airflow = scenario["airflow"]
        proc = airflow("dags", "test", "driftline_mysql", _day(4),
                       env={**airflow.env, "DRIFTLINE_MYSQL_PASSWORD": PASSWORD})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        store = mlmd.MetadataStore(metadata.mysql_config("127.0.0.1", server.port, DATABASE, USER, PASSWORD))
        assert _shape(store, _run_id(_day(4))) == _shape(scenario["local"], _only_run(scenario["local"]))
        assert not (work / "out-mysql" / "metadata.sqlite").exists()
    finally:
        server.stop()
