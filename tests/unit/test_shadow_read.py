"""The shadow's log as a watcher reads it tick after tick: a file read once is not read
again until it changes, a file still being written is read again with its new rows, and
a row torn by a crash is left out."""
import csv

from driftline.monitoring import shadow
from driftline.serving.shadow import COLUMNS, PREFIX, log_dir


def _write(path, rows, mode="w"):
    with open(path, mode, newline="") as f:
        writer = csv.writer(f)
        if mode == "w":
            writer.writerow(COLUMNS)
        writer.writerows(rows)


def test_a_file_is_read_again_only_when_it_changed(tmp_path, monkeypatch):
    directory = log_dir(tmp_path)
    directory.mkdir(parents=True)
    closed, open_ = directory / f"{PREFIX}-1.csv", directory / f"{PREFIX}-2.csv"
    _write(closed, [["a-0", "1.0", "9", "0.25", "1.0", ""], ["a-1", "1.0", "9", "", "1.0", "boom"]])
    _write(open_, [["b-0", "2.0", "9", "0.75", "1.0", ""]])
    assert shadow.read(tmp_path) == {"a-0": ("9", 0.25), "a-1": ("9", None), "b-0": ("9", 0.75)}
    opened = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    with real_open(open_, "a") as f:  # the server writes on; a crash tears its last row
        f.write("b-1,3.0,9,0.5,1.0,\nb-2,3.1,9,not-a-num")
    found = shadow.read(tmp_path)
    assert opened == [str(open_)]  # the closed file came from what was read before
    assert found["b-1"] == ("9", 0.5) and "b-2" not in found and found["a-0"] == ("9", 0.25)
