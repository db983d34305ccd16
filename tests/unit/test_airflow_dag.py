"""The Airflow DAG's parts that need neither Airflow nor TensorFlow: the span a day picks,
the [airflow] settings, the union of the spans' graphs, the shapes kept on disk and the
DAG file itself. A real Airflow runs the DAG in tests/e2e/test_airflow.py."""
import datetime as dt
import json

import pytest

from components.errors import DataError
from driftline.airflow import calendar, shape
from driftline.commands.airflow import dag_file_text, write_dag
from driftline.config import load_config
from pipeline.errors import ConfigError


def _day(text):
    return dt.date.fromisoformat(text)


def test_without_a_calendar_every_day_picks_the_newest_span():
    assert calendar.span_for("", 1, _day("2030-05-01"), [1, 2, 7])[0] == 7


def test_a_day_picks_the_span_whose_days_cover_it():
    assert [calendar.span_for("2026-01-01", 1, _day(f"2026-01-0{d}"), [1, 2, 3, 4])[0] for d in (1, 2, 3, 4)] \
        == [1, 2, 3, 4]
    # Spans of a week: days 8 to 14 are span 2's.
    assert calendar.span_for("2026-01-01", 7, _day("2026-01-08"), [1, 2, 3])[0] == 2
    assert calendar.span_for("2026-01-01", 7, _day("2026-01-14"), [1, 2, 3])[0] == 2
    assert calendar.span_for("2026-01-01", 7, _day("2026-01-15"), [1, 2, 3])[0] == 3
    # Each span's first day, the inverse: what `driftline airflow dag` prints.
    assert calendar.first_day("2026-01-01", 7, 2) == _day("2026-01-08")
    assert all(calendar.span_covering("2026-01-01", 7, calendar.first_day("2026-01-01", 7, n)) == n
               for n in range(1, 60))


def test_a_day_whose_span_has_not_arrived_picks_the_newest_and_says_so():
    span, why = calendar.span_for("2026-01-01", 1, _day("2026-01-09"), [1, 2, 3])
    assert span == 3 and "span 9, which covers 2026-01-09, has not arrived" in why


def test_a_day_before_span_1_is_refused():
    with pytest.raises(DataError, match=r"2025-12-31 is before span 1's first day \(2026-01-01"):
        calendar.span_for("2026-01-01", 1, _day("2025-12-31"), [1, 2])


def test_a_missing_span_between_others_is_refused_rather_than_replaced():
    with pytest.raises(DataError, match="span 2 covers 2026-01-02 but there is no span-2 directory"):
        calendar.span_for("2026-01-01", 1, _day("2026-01-02"), [1, 3])


def test_no_span_at_all_is_refused():
    with pytest.raises(DataError, match="no span-N directory"):
        calendar.span_for("", 1, _day("2026-01-02"), [])


def test_airflow_settings_are_checked_with_the_rest(tmp_path):
    path = tmp_path / "driftline.toml"
    path.write_text('[airflow]\nfirst_span_date = "2026-02-30"\nspan_days = 0\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "'airflow.first_span_date' = '2026-02-30' is not a day of the calendar" in str(caught.value)
    assert "airflow.span_days" in str(caught.value)
    path.write_text('[airflow]\nstart_date = "1 Jan"\n')
    with pytest.raises(ConfigError, match="airflow.start_date"):
        load_config(path)


def test_the_union_of_the_spans_graphs_keeps_every_edge_and_each_node_after_its_inputs():
    shapes = {
        1: {"nodes": ["Gen1", "Stats", "Train"],
            "upstream": {"Gen1": [], "Stats": ["Gen1"], "Train": ["Gen1", "Stats"]}},
        2: {"nodes": ["Gen1", "Gen2", "Stats", "Prev", "Train"],
            "upstream": {"Gen1": [], "Gen2": [], "Stats": ["Gen2"], "Prev": ["Gen1"],
                         "Train": ["Gen1", "Gen2", "Stats"]}},
    }
    union = shape.union(shapes)
    assert set(union["nodes"]) == {"Gen1", "Gen2", "Stats", "Prev", "Train"}
    assert union["upstream"]["Stats"] == ["Gen1", "Gen2"]
    position = {node: i for i, node in enumerate(union["nodes"])}
    for node, before in union["upstream"].items():
        assert all(position[b] < position[node] for b in before)


def test_the_shapes_are_read_back_from_disk_and_a_changed_config_or_span_list_misses(tmp_path):
    config = load_config(overrides={"output_dir": tmp_path})
    path = shape.shapes_file(config, "a = 1", [1, 2])
    assert path != shape.shapes_file(config, "a = 2", [1, 2])
    assert path != shape.shapes_file(config, "a = 1", [1, 2, 3])
    path.parent.mkdir(parents=True)
    kept = {"1": {"nodes": ["X"], "upstream": {"X": []}}}
    path.write_text(json.dumps(kept))
    assert shape.load(config, "a = 1", [1, 2]) == {1: kept["1"]}


def test_the_dag_file_names_its_config_and_is_found_by_airflows_parser(tmp_path):
    config = load_config(overrides={"output_dir": tmp_path / "out"})
    config.airflow.first_span_date = "2026-01-01"
    written = write_dag(config, tmp_path / "dags", "2026-12-07")
    # Not driftline.py: the DAG folder is on sys.path, and that name would hide the package.
    assert written.name == "driftline_dag.py"
    text = written.read_text()
    assert text == dag_file_text("driftline_dag.toml", "2026-12-07")
    compile(text, str(written), "exec")
    # Airflow's safe mode parses only files that mention both words.
    assert "airflow" in text.lower() and "dag" in text.lower()
    again = load_config(written.with_suffix(".toml"))
    assert again.airflow.first_span_date == "2026-01-01"
    assert again.output_dir == tmp_path / "out" and again.data_root == config.data_root


def test_a_runs_inputs_are_read_once_and_again_when_a_file_or_the_code_changed(tmp_path, monkeypatch):
    import shutil

    from driftline.airflow import task
    from driftline.run import run as local_run
    from pipeline.config import PROJECT_ROOT

    for span in (1, 2):
        shutil.copytree(PROJECT_ROOT / "data" / "taxi" / f"span-{span}", tmp_path / "data" / f"span-{span}")
    config = load_config(overrides={"data_root": tmp_path / "data", "output_dir": tmp_path / "out"})
    config.span = 2
    calls = []
    real = local_run.check_inputs
    monkeypatch.setattr(local_run, "check_inputs", lambda c: calls.append(1) or real(c))
    first = task._run_inputs(config, "scheduled__2026-01-02T00:00:00+00:00")
    again = task._run_inputs(config, "scheduled__2026-01-02T00:00:00+00:00")
    assert len(calls) == 1 and again == first and first.window == [1, 2]
    data = tmp_path / "data" / "span-2" / "data.csv"
    data.write_text(data.read_text().replace(",Cash,", ",Bitcoin,", 1))
    changed = task._run_inputs(config, "scheduled__2026-01-02T00:00:00+00:00")
    assert len(calls) == 2 and changed.source_sha256[2] != first.source_sha256[2]
    # Edited executor code: the fingerprints TFX's cache keys on are taken again.
    import pipeline.inputs

    monkeypatch.setattr(pipeline.inputs, "code_fingerprint", lambda package: f"edited {package}")
    task._run_inputs(config, "scheduled__2026-01-02T00:00:00+00:00")
    assert len(calls) == 3


def _running(store, types, run_id, node):
    from ml_metadata.proto import metadata_store_pb2 as pb

    node_context = (store.get_context_by_type_and_name("node", f"driftline.{node}")
                    or pb.Context(type_id=types["node"], name=f"driftline.{node}"))
    execution = pb.Execution(type_id=types["execution"], last_known_state=pb.Execution.RUNNING)
    execution_id, _, _ = store.put_execution(
        execution, [], [pb.Context(type_id=types["run"], name=run_id), node_context])
    return execution_id


def test_a_killed_tries_execution_is_closed_by_the_next_task_and_the_run_goes_on(tmp_path):
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2 as pb

    from driftline.airflow import task
    from pipeline import metadata

    config = load_config(overrides={"output_dir": tmp_path})
    store = mlmd.MetadataStore(metadata.connection_config(config))
    types = {"run": store.put_context_type(pb.ContextType(name=metadata.RUN_CONTEXT)),
             "node": store.put_context_type(pb.ContextType(name=metadata.NODE_CONTEXT)),
             "execution": store.put_execution_type(pb.ExecutionType(name="Trainer"))}
    this_run = _running(store, types, "manual__2026-01-04T00:00:00+00:00", "Trainer")
    older_run = _running(store, types, "manual__2026-01-03T00:00:00+00:00", "Trainer")
    task._close_earlier_tries(config, "manual__2026-01-04T00:00:00+00:00")
    closed, older = store.get_executions_by_id([this_run, older_run])
    assert closed.last_known_state == older.last_known_state == pb.Execution.CANCELED
    assert "its Airflow task ended before the node finished" in closed.custom_properties[metadata.STOPPED].string_value
    # The run itself is not marked stopped: its next tries carry on.
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, "manual__2026-01-04T00:00:00+00:00")
    assert metadata.STOPPED not in context.custom_properties
    assert "abandoned" in store.get_context_by_type_and_name(
        metadata.RUN_CONTEXT, "manual__2026-01-03T00:00:00+00:00").custom_properties[metadata.STOPPED].string_value
