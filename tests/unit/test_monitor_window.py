"""The request log's windows (driftline/monitoring/window.py) and their bad inputs."""
import pytest

from components.errors import DataError
from driftline.monitoring import window
from driftline.serving.request_log import EXTRA, RequestLog
from pipeline.errors import ConfigError

FEATURES = ["payment_type", "fare"]


def _log(directory, n, start=1000.0, max_bytes=1 << 20):
    log = RequestLog(directory, FEATURES, max_bytes=max_bytes)
    log.start()
    log.add([["Cash", f"{i}.5", f"r{i}", f"{start + i:.3f}", "7", "blue", "", "0.5", "1", "2.0"]
             for i in range(n)])
    log.stop()


def test_the_newest_rows_and_the_same_number_before_them(tmp_path):
    _log(tmp_path, 250, max_bytes=2048)  # several rotated files, read oldest first
    assert len(list(tmp_path.glob("requests-*.csv"))) > 1
    found = window.select(tmp_path, 100)
    assert found.total_rows == 250 and found.current.num_rows == 100 and found.previous.num_rows == 100
    assert found.current.column("request_id").to_pylist()[0] == "r150"
    assert found.previous.column("request_id").to_pylist()[0] == "r50"
    small = window.select(tmp_path, 200)
    assert small.previous.num_rows == 50


def test_since_a_time_takes_the_rows_logged_from_then(tmp_path):
    _log(tmp_path, 30, start=1_700_000_000.0)
    found = window.select(tmp_path, 5, since="2023-11-14T22:13:40")  # 1_700_000_020 UTC
    assert found.current.column("request_id").to_pylist() == [f"r{i}" for i in range(20, 30)]
    assert window.select(tmp_path, 5, since="1700000025").current.num_rows == 5
    with pytest.raises(ConfigError, match="not a time"):
        window.select(tmp_path, 5, since="yesterday")
    with pytest.raises(DataError, match="no logged request in the window"):
        window.select(tmp_path, 5, since="2030-01-01")


def test_a_directory_without_a_log_or_with_other_columns_is_refused(tmp_path):
    with pytest.raises(DataError, match="no request log files"):
        window.select(tmp_path, 10)
    (tmp_path / "requests-1.csv").write_text("payment_type,fare\nCash,1.0\n")
    with pytest.raises(DataError, match="not a request log for this schema: columns request_id"):
        window.select(tmp_path, 10)
    assert EXTRA[0] == "request_id"


def test_a_watcher_reads_each_complete_window_after_the_last_one_it_judged(tmp_path):
    _log(tmp_path, 95, start=1000.0)
    table, files = window.read_log(tmp_path)
    found = list(window.consecutive(table, files, after=1019.0, rows=25))  # rows 20..94 are new
    assert [w.current.column("request_id").to_pylist()[0] for w in found] == ["r20", "r45", "r70"]
    assert all(w.current.num_rows == 25 for w in found)  # the last 0 rows wait for more
    assert found[0].previous.column("request_id").to_pylist() == [f"r{i}" for i in range(20)]
    assert found[1].previous.column("request_id").to_pylist()[0] == "r20"
    assert list(window.consecutive(table, files, after=1080.0, rows=25)) == []
    assert window.since(table, 1090.0).column("request_id").to_pylist() == [f"r{i}" for i in range(90, 95)]


def _rewrite_line(path, number, change):
    lines = path.read_text().splitlines(keepends=True)
    lines[number - 1] = change(lines[number - 1])
    path.write_text("".join(lines))


def test_a_torn_row_in_an_older_file_is_left_out_and_named(tmp_path):
    _log(tmp_path, 250, max_bytes=2048)
    oldest = sorted(tmp_path.glob("requests-*.csv"))[0]
    _rewrite_line(oldest, 3, lambda line: line[:12] + "\n")  # a crash mid-write
    notes = []
    found = window.select(tmp_path, 100, notes=notes)
    assert found.total_rows == 249 and found.current.column("request_id").to_pylist()[0] == "r150"
    assert notes == [f"{oldest}:3: a torn row was left out ('Cash,1.5,r1,')"], notes


def test_a_row_whose_timestamp_is_not_a_number_is_left_out_and_named(tmp_path):
    _log(tmp_path, 30)
    path = next(tmp_path.glob("requests-*.csv"))
    _rewrite_line(path, 5, lambda line: line.replace("1003.000", "yesterday"))
    notes = []
    found = window.select(tmp_path, 10, notes=notes)
    assert found.total_rows == 29 and "r3" not in found.current.column("request_id").to_pylist() + \
        found.previous.column("request_id").to_pylist()
    assert notes == [f"{path}: 1 row left out, the timestamp not a number of seconds (line 5: 'yesterday')"]


def test_a_log_without_a_serving_feature_of_the_schema_is_refused_naming_it(tmp_path):
    _log(tmp_path, 30)
    path = next(tmp_path.glob("requests-*.csv"))
    with pytest.raises(DataError) as refused:
        window.select(tmp_path, 10, features=["payment_type", "fare", "trip_miles"])
    assert str(refused.value).startswith(f"{path}: not a request log for this schema: column trip_miles is "
                                         "missing")
