"""Bad input through the real CLI, one table: every case ends in one readable message
naming the file, field or value, the documented exit code, no traceback, and nothing
created where nothing is promised (no output directory, no store, no model).

Every case here is refused before TensorFlow is imported, so the table runs in seconds;
failures that happen inside a running pipeline are in tests/e2e/test_failures.py."""
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, List

import pytest

from pipeline.config import PROJECT_ROOT

CURATED = PROJECT_ROOT / "schemas" / "schema.pbtxt"
BAD_INPUT, BLOCKED, BUSY = 2, 3, 75


@dataclass
class Case:
    name: str
    # Builds the inputs under `work` (which holds a copy of the small spans in taxi/)
    # and returns the CLI arguments.
    setup: Callable
    code: int
    says: List[str] = field(default_factory=list)
    # Where the message goes: stderr, or stdout for `schema check`, whose output is the
    # list of problems (file:line:col each, as linters print them).
    stream: str = "stderr"


def _config(work, text):
    path = work / "driftline.toml"
    path.write_text(f'data_root = "{work / "taxi"}"\noutput_dir = "{work / "out"}"\n' + text)
    return ["--config", path]


def _span_file(work, span=4):
    return work / "taxi" / f"span-{span}" / "data.csv"


def _rewrite_span(work, transform, span=4):
    path = _span_file(work, span)
    path.write_bytes(transform(path.read_bytes()))


def _run(work, *extra):
    return ["run", "--fast", "--data-root", work / "taxi", "--output-dir", work / "out", *extra]


def empty_span_dir(work):
    (work / "taxi" / "span-5").mkdir()
    (work / "taxi" / "span-5" / "README.txt").write_text("the 2017 extract goes here\n")
    return _run(work)


def zero_padded_span_dir(work):
    shutil.copytree(work / "taxi" / "span-4", work / "taxi" / "span-05")
    return _run(work)


def header_only_span(work):
    _rewrite_span(work, lambda data: data.splitlines(keepends=True)[0])
    return _run(work)


def empty_span_file(work):
    _rewrite_span(work, lambda data: b"")
    return _run(work)


def latin1_byte(work):
    _rewrite_span(work, lambda data: data.replace(b",Cash,", b",Cash\xe9,", 1))
    return _run(work)


def ragged_row(work):
    def cut(data):
        lines = data.splitlines(keepends=True)
        lines[3] = lines[3].rsplit(b",", 2)[0] + b"\n"
        return b"".join(lines)
    _rewrite_span(work, cut)
    return _run(work)


def duplicated_column(work):
    _rewrite_span(work, lambda data: data.replace(b"fare,", b"fare,fare,", 1)
                  .replace(b"\n", b"\n", 1))
    return _run(work)


def nul_byte(work):
    _rewrite_span(work, lambda data: data.replace(b",Cash,", b",Ca\x00sh,", 1))
    return _run(work)


def binary_junk(work):
    _rewrite_span(work, lambda data: bytes(range(256)) * 8)
    return _run(work)


def lone_carriage_return_in_header(work):
    # Found by `make reliability`'s fuzzing: Python's csv module raised on it.
    _rewrite_span(work, lambda data: b"\r\x01" + data)
    return _run(work)


def two_spans_different_headers(work):
    other = work / "taxi" / "span-4" / "more.csv"
    other.write_bytes(b"fare,tips\n1.0,0.5\n")
    return _run(work)


def line_break_for_csv_example_gen(work):
    _rewrite_span(work, lambda data: data.replace(b",Cash,", b',"Ca\nsh",', 1))
    return _run(work, *_config(work, 'example_gen = "beam"\n'))


def config_types(work):
    return _run(work, *_config(work, 'span = "4"\nwindow = "2"\n'))


def config_path_as_number(work):
    return _run(work, *_config(work, "schema_file = 5\n"))


def config_many_problems(work):
    return _run(work, *_config(work, '[training]\nhidden_units = ["a", "b"]\nlearning_rate = -1.0\n'
                                     "train_steps = true\n[evaluation]\nmin_auc = 5\n"))


def config_empty_layers(work):
    return _run(work, *_config(work, "[training]\nhidden_units = []\n"))


def config_negative_layer(work):
    return _run(work, *_config(work, "[training]\nhidden_units = [-1]\n"))


def config_workers_without_mode(work):
    return _run(work, *_config(work, "[beam]\ndirect_num_workers = 0\n"))


def config_is_a_directory(work):
    (work / "conf.d").mkdir()
    return _run(work, "--config", work / "conf.d")


def config_not_utf8(work):
    (work / "latin1.toml").write_bytes(b"# r\xe9glages\nspan = 4\n")
    return _run(work, "--config", work / "latin1.toml")


def config_unknown_key(work):
    return _run(work, *_config(work, "[training]\nlearning_rat = 0.1\n"))


def schema_binary(work):
    (work / "schema.pb").write_bytes(b"\x0a\x04fare\x10\x02\xff\xfe")
    return _run(work, *_config(work, f'schema_file = "{work / "schema.pb"}"\n'))


def schema_empty_run(work):
    (work / "empty.pbtxt").write_text("")
    return _run(work, *_config(work, f'schema_file = "{work / "empty.pbtxt"}"\n'))


def schema_empty_check(work):
    (work / "empty.pbtxt").write_text("")
    return ["schema", "check", work / "empty.pbtxt", "--data-root", work / "taxi"]


def schema_binary_check(work):
    (work / "schema.pb").write_bytes(b"\x0a\x04fare\xff")
    return ["schema", "check", work / "schema.pb", "--data-root", work / "taxi"]


def _without_trip_miles(work):
    """The curated schema with its trip_miles feature (a model input) removed."""
    text = CURATED.read_text()
    start = text.index('feature {\n  name: "trip_miles"')
    (work / "no-miles.pbtxt").write_text(text[:start] + text[text.index("\n}\n", start) + 3:])
    return work / "no-miles.pbtxt"


def schema_lacks_a_model_input_run(work):
    return _run(work, *_config(work, f'schema_file = "{_without_trip_miles(work)}"\n'))


def schema_lacks_a_model_input_check(work):
    return ["schema", "check", _without_trip_miles(work), "--data-root", work / "taxi"]


def _task(work, text):
    return _run(work, *_config(work, "[task]\n" + text))


def task_rule_unreadable(work):
    return _task(work, 'label = "tips > 0.2 *"\n')


def task_rule_unknown_column(work):
    return _task(work, 'label = "tips > 0.2 * fares"\n')


def task_outcome_as_input(work):
    return _task(work, 'label = "tips > 0.2 * fare"\ntreat = {tips = "scale"}\n')


def task_text_label_compared_as_number(work):
    return _task(work, 'label = "company > 15"\n')


def task_known_when_is_not_a_test(work):
    return _task(work, 'label = "tips > 0.2 * fare"\nknown_when = "fare * 2"\n')


def task_regression_label_of_text(work):
    return _task(work, 'kind = "regression"\nlabel = "company"\n')


def task_checked_with_schema(work):
    _config(work, '[task]\nlabel = "tips > 0.2 * fare"\nignore = ["no_such_column"]\n')
    return ["schema", "check", "--config", work / "driftline.toml"]


def schema_binary_diff(work):
    (work / "schema.pb").write_bytes(b"\x0a\x04fare\xff")
    return ["schema", "diff", CURATED, work / "schema.pb"]


def schema_feature_twice_diff(work):
    text = CURATED.read_text()
    twice = text.replace('feature {\n  name: "trip_miles"',
                         'feature {\n  name: "fare"\n  type: INT\n}\nfeature {\n  name: "trip_miles"', 1)
    (work / "twice.pbtxt").write_text(twice)
    return ["schema", "diff", CURATED, work / "twice.pbtxt"]


def drift_same_span(work):
    return ["drift", "--data-root", work / "taxi", "--baseline-span", 4, "--span", 4,
            "--output-dir", work / "out"]


def drift_missing_span(work):
    return ["drift", "--data-root", work / "taxi", "--baseline-span", 1, "--span", 9,
            "--output-dir", work / "out"]


def drift_duplicated_column(work):
    duplicated_column(work)
    return ["drift", "--data-root", work / "taxi", "--baseline-span", 3, "--span", 4,
            "--output-dir", work / "out"]


def skew_header_only(work):
    serving = work / "serving"
    serving.mkdir()
    (serving / "log.csv").write_bytes(_span_file(work).read_bytes().splitlines(keepends=True)[0])
    return ["drift", "--data-root", work / "taxi", "--span", 4, "--serving-data", serving,
            "--output-dir", work / "out"]


def lineage_negative_limit(work):
    return ["lineage", "runs", "--limit", "-1", "--output-dir", work / "out"]


def lineage_missing_store(work):
    return ["lineage", "runs", "--output-dir", work / "out"]


def kubeflow_unknown_node(work):
    config = work / "kfp.toml"
    config.write_text("span = 3\nwindow = 1\n[kubeflow]\npipeline_root = 'gs://b/r'\n"
                      "data_root = 'gs://b/d'\nserving_dir = 'gs://b/s'\n"
                      "[kubeflow.resources.Trainr]\ncpu_limit = 1.0\n")
    return ["kubeflow", "compile", "--config", config, "--output-dir", work / "out"]


CASES = [
    Case("span holding no CSV", empty_span_dir, BAD_INPUT, ["span-5: holds no CSV file"]),
    Case("span-05 is not read as span 5", zero_padded_span_dir, BAD_INPUT,
         ["span-05: not a span directory ExampleGen reads", "rename it to", "span-5"]),
    Case("CSV with a header and no rows", header_only_span, BAD_INPUT,
         ["span-4: the CSV files hold a header and no rows"]),
    Case("empty CSV file", empty_span_file, BAD_INPUT, ["span-4/data.csv: the file is empty"]),
    Case("a Latin-1 byte", latin1_byte, BAD_INPUT, ["span-4/data.csv:", "byte 0xe9", "not UTF-8"]),
    Case("a row with fields missing", ragged_row, BAD_INPUT,
         ["span-4/data.csv:4: 16 fields where the header has 18"]),
    Case("a column named twice", duplicated_column, BAD_INPUT,
         ["span-4/data.csv:1: column 'fare' appears twice in the header"]),
    Case("a NUL byte", nul_byte, BAD_INPUT, ["span-4/data.csv:", "a NUL byte at offset"]),
    Case("binary junk as a CSV file", binary_junk, BAD_INPUT, ["span-4/data.csv"]),
    Case("a lone carriage return in the header", lone_carriage_return_in_header, BAD_INPUT,
         ["span-4/data.csv:1: the header row names no columns"]),
    Case("two files of a span with different columns", two_spans_different_headers, BAD_INPUT,
         ["span-4/more.csv: columns ['fare', 'tips'] differ from"]),
    Case("a quoted line break that CsvExampleGen cannot read", line_break_for_csv_example_gen,
         BAD_INPUT, ["span-4: column 'payment_type' of data row", "holds a line break inside quotes"]),
    Case("config values of the wrong type", config_types, BAD_INPUT,
         ["2 problems in the configuration", "'span' = '4' has the wrong type",
          "'window' = '2' has the wrong type"]),
    Case("a path given as a number", config_path_as_number, BAD_INPUT,
         ["'schema_file' = 5 has the wrong type: it must be a path"]),
    Case("training settings out of range", config_many_problems, BAD_INPUT,
         ["4 problems", "'training.hidden_units' = ['a', 'b'] holds 'a'",
          "'training.learning_rate' = -1.0 is too small", "'training.train_steps' = true",
          "'evaluation.min_auc' = 5 is too large"]),
    Case("no hidden layer", config_empty_layers, BAD_INPUT, ["'training.hidden_units' = [] is empty"]),
    Case("a negative layer size", config_negative_layer, BAD_INPUT,
         ["'training.hidden_units' = [-1] holds -1"]),
    Case("workers the running mode ignores", config_workers_without_mode, BAD_INPUT,
         ["'beam.direct_num_workers' = 0 has no effect with direct_running_mode = 'in_memory'"]),
    Case("--config naming a directory", config_is_a_directory, BAD_INPUT,
         ["conf.d: is a directory, not a config file"]),
    Case("a config file that is not UTF-8", config_not_utf8, BAD_INPUT,
         ["latin1.toml:1: not UTF-8 text (byte 0xe9"]),
    Case("an unknown config key", config_unknown_key, BAD_INPUT,
         ["unknown setting 'training.learning_rat'"]),
    Case("a binary schema file to run", schema_binary, BAD_INPUT, ["schema.pb:2:8: byte 0xff is not UTF-8 text"]),
    Case("an empty schema file to run", schema_empty_run, BAD_INPUT,
         ["empty.pbtxt:1:1: the schema defines no feature"]),
    Case("an empty schema file to check", schema_empty_check, BAD_INPUT,
         ["empty.pbtxt:1:1: the schema defines no feature"], stream="stdout"),
    Case("a binary schema file to check", schema_binary_check, BAD_INPUT,
         ["schema.pb:2:6: byte 0xff is not UTF-8 text"], stream="stdout"),
    Case("a schema without a column of the data, to run", schema_lacks_a_model_input_run, BAD_INPUT,
         ["no-miles.pbtxt:1:1: data column trip_miles has no feature in the schema"]),
    Case("a schema without a column of the data, to check", schema_lacks_a_model_input_check,
         BAD_INPUT, ["no-miles.pbtxt:1:1: data column trip_miles has no feature in the schema"],
         stream="stdout"),
    Case("a task label rule that cannot be read", task_rule_unreadable, BAD_INPUT,
         ["'task.label' cannot be read: expected a column, a number or a quoted text, found the end "
          "of the rule at character 13 of 'tips > 0.2 *'"]),
    Case("a task label reading a column the schema lacks", task_rule_unknown_column, BAD_INPUT,
         ["'task.label' = 'tips > 0.2 * fares' reads the column 'fares' (character 14), which the "
          "schema does not have"]),
    Case("a label's outcome made a model input", task_outcome_as_input, BAD_INPUT,
         ["'task.treat.tips': 'tips' is an outcome of the label"]),
    Case("a text column compared as a number in the label", task_text_label_compared_as_number, BAD_INPUT,
         ["'task.label' = 'company > 15' uses 'company' (character 1) as a number, but the schema "
          "says it is text"]),
    Case("a regression label that is not a number", task_regression_label_of_text, BAD_INPUT,
         ["'task.label' = 'company': the column 'company' holds text"]),
    Case("a known_when that is not a test", task_known_when_is_not_a_test, BAD_INPUT,
         ["'task.known_when' = 'fare * 2' gives a value, not yes or no"]),
    Case("a task ignoring a column the schema lacks, to check", task_checked_with_schema, BAD_INPUT,
         ["the config's task cannot use this schema: 'task.ignore' names 'no_such_column'"],
         stream="stdout"),
    Case("a binary schema file to diff", schema_binary_diff, BAD_INPUT, ["is not UTF-8 text"]),
    Case("a feature defined twice, to diff", schema_feature_twice_diff, BAD_INPUT,
         ["duplicate feature 'fare'"]),
    Case("drift of a span against itself", drift_same_span, BAD_INPUT,
         ["--baseline-span 4 and --span 4 name the same span"]),
    Case("drift of a missing span", drift_missing_span, BAD_INPUT, ["span 9 not found"]),
    Case("drift over a file with a column named twice", drift_duplicated_column, BAD_INPUT,
         ["span-4/data.csv:1: column 'fare' appears twice in the header"]),
    Case("serving logs with a header and no rows", skew_header_only, BAD_INPUT,
         ["serving: the CSV files hold a header and no rows"]),
    Case("a negative --limit", lineage_negative_limit, BAD_INPUT, ["--limit: -1 is not 1 or more"]),
    Case("lineage of a store that does not exist", lineage_missing_store, BAD_INPUT,
         ["metadata.sqlite: no MLMD store here"]),
    Case("a resource limit for a node the graph lacks", kubeflow_unknown_node, BAD_INPUT,
         ["kubeflow.image is not set", "kubeflow.resources names 'Trainr'"]),
]


@pytest.fixture
def work(tmp_path, small_spans):
    shutil.copytree(small_spans, tmp_path / "taxi")
    return tmp_path


def cli(*args, cwd=PROJECT_ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "driftline", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_message_and_its_exit_code(case, work):
    proc = cli(*case.setup(work), cwd=work)
    said = proc.stdout if case.stream == "stdout" else proc.stderr
    assert proc.returncode == case.code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr + proc.stdout
    message = [line for line in said.splitlines() if line.strip()]
    assert message, proc.stdout + proc.stderr
    if case.stream == "stderr":
        assert message[0].startswith(("driftline: ", "usage: ")), said
    for text in case.says:
        assert text in said, f"{text!r} not in:\n{said}"
    # Nothing created where nothing is promised, so nothing was trained or pushed.
    assert not (work / "out").exists(), sorted(p.name for p in (work / "out").rglob("*"))


def test_a_second_run_into_a_busy_output_directory_is_refused(work):
    from driftline.run import lock as run_lock

    with run_lock.holding(work / "out"):
        proc = cli(*_run(work), cwd=work)
    assert proc.returncode == BUSY, proc.stderr
    assert "another driftline run is writing here" in proc.stderr
    assert f"process {os.getpid()}" in proc.stderr  # the holder is named
    assert "Traceback" not in proc.stderr
    assert not (work / "out" / "metadata.sqlite").exists()


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory on a read-only file system (a private tmpfs, remounted read-only)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                                            str(mount)], capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a private read-only file system")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_schema_update_refuses_a_file_it_cannot_write(read_only_dir):
    schema = read_only_dir / "schema.pbtxt"
    schema.write_text(CURATED.read_text())
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_dir)], check=True)
    proc = cli("schema", "update", "--from-run", "latest", schema, "--write",
               "--output-dir", read_only_dir / "out")
    assert proc.returncode == BAD_INPUT, proc.stderr
    assert f"{schema}: cannot write this file (Read-only file system); nothing was written" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert schema.read_bytes() == CURATED.read_bytes()


@pytest.mark.parametrize("content, says", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not an MLMD database"),
    (None, "not an MLMD database (no Artifact/Execution tables)"),  # SQLite, but another program's
], ids=["a file that is not SQLite", "another program's SQLite database"])
def test_a_store_that_is_not_mlmd_is_refused_and_left_as_it_is(work, content, says):
    import sqlite3

    store = work / "out" / "metadata.sqlite"
    store.parent.mkdir()
    if content is None:
        with sqlite3.connect(store) as db:
            db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    else:
        store.write_bytes(content)
    before = store.read_bytes()
    proc = cli(*_run(work), cwd=work)
    assert proc.returncode == BAD_INPUT, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(f"driftline: {store}: {says}") and "nothing was run" in proc.stderr, proc.stderr
    assert store.read_bytes() == before  # nothing recreated silently
    assert sorted(p.name for p in (work / "out").iterdir()) == ["metadata.sqlite"]


def test_a_mysql_server_that_is_down_is_named_and_nothing_runs(work):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = _config(work, f'[metadata]\nmysql_host = "127.0.0.1"\nmysql_port = {port}\n')
    proc = cli("run", "--fast", *args, cwd=work)
    assert proc.returncode == BAD_INPUT, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(f"driftline: mysql://root@127.0.0.1:{port}/metadb: the MLMD store cannot "
                                  "be reached, so nothing was run"), proc.stderr
    assert not (work / "out").exists()
