"""The request log: rows handed over without waiting, written in order, files rotated,
and rows it cannot keep counted as dropped."""
import csv

from driftline.serving.request_log import RequestLog


def _rows_on_disk(directory, prefix="requests"):
    rows = []
    for path in sorted(directory.glob(f"{prefix}-*.csv")):
        with open(path, newline="") as f:
            found = list(csv.reader(f))
        assert found[0] == ["x", "y"], path  # each file starts with the header
        rows += found[1:]
    return rows


def test_every_row_reaches_the_files_in_order_across_rotations(tmp_path):
    log = RequestLog(tmp_path, ["x"], max_bytes=300, extra=["y"])
    log.start()
    for request in range(40):
        log.add([[f"{request}", f"a,{row}"] for row in range(3)])  # a comma is quoted, not split
    log.stop()
    assert _rows_on_disk(tmp_path) == [[f"{r}", f"a,{i}"] for r in range(40) for i in range(3)]
    assert len(list(tmp_path.glob("requests-*.csv"))) > 3
    assert log.written == 120 and log.dropped == 0


def test_rows_past_the_waiting_limit_are_dropped_and_counted(tmp_path):
    log = RequestLog(tmp_path, ["x"], queue_rows=5, extra=["y"])  # not started: nothing drains
    log.add([["1", "a"]] * 4)
    log.add([["2", "b"]] * 3)  # one fits
    log.add([["3", "c"]])
    assert log.dropped == 3
    log.start()
    log.stop()
    assert _rows_on_disk(tmp_path) == [["1", "a"]] * 4 + [["2", "b"]]


def test_a_disk_that_refuses_the_file_drops_the_rows_and_the_log_keeps_going(tmp_path, monkeypatch):
    log = RequestLog(tmp_path, ["x"], extra=["y"])
    refused = []

    def no_space(*args):
        refused.append(True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(log, "_open", no_space)
    log.start()
    log.add([["1", "a"], ["2", "b"]])
    log.flush()
    assert refused and log.dropped == 2 and log.written == 0
    monkeypatch.undo()  # space again: the next rows are written
    log.add([["3", "c"]])
    log.stop()
    assert _rows_on_disk(tmp_path) == [["3", "c"]] and log.dropped == 2
