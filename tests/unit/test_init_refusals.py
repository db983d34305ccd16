"""`driftline init` refuses what it cannot use through the real CLI: exit 2, one message
naming the option, the column, the row or the character, nothing written, and all of it
before TensorFlow is imported (a TensorFlow that cannot be imported proves it)."""
import os
import subprocess
import sys

import pytest

from pipeline.config import PROJECT_ROOT

HEADER = "when,price,paid,carrier,hours\n"
ROWS = "".join(f"202{i % 3}-0{1 + i % 9}-1{i % 9},{10 + i},{(10 + i) * 0.3 if i % 2 else 1},"
               f"{'AB'[i % 2]},{i % 5}\n" for i in range(30))


def _init(tmp_path, *args, text=HEADER + ROWS):
    source = tmp_path / "trips.csv"
    source.write_text(text)
    blocker = tmp_path / "no-tensorflow"
    blocker.mkdir(exist_ok=True)
    (blocker / "tensorflow.py").write_text("raise ImportError('TensorFlow was imported')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(PROJECT_ROOT)])}
    return subprocess.run([sys.executable, "-m", "driftline", "init", str(source), "--into", str(tmp_path / "out"),
                           *args], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)


CASES = [
    (["--time", "start", "--label", "paid > 5"], "--time 'start': the file has no such column"),
    (["--time", "when", "--label", "paid >"], "--label 'paid >' cannot be read: expected a column, a "
     "number or a quoted text, found the end of the rule at character 7"),
    (["--time", "when", "--label", "paid > 0.2 * cost"], "--label 'paid > 0.2 * cost' reads the column "
     "'cost' (character 14), which the file does not have"),
    (["--time", "when", "--label", "carrier > 3"], "--label 'carrier > 3' uses 'carrier' (character 1) as "
     "a number, but the file holds text there"),
    (["--time", "when", "--label", "paid > 5", "--known-when", "carrier = 'A'"],
     "--known-when \"carrier = 'A'\" cannot be read: unexpected '=' at character 9"),
    (["--time", "when", "--label", "paid > 5", "--ignore", "price,nope"],
     "--ignore 'nope': the file has no such column"),
    (["--time", "when", "--kind", "regression", "--label", "paid > 5"],
     "--label 'paid > 5' says yes or no; a regression label is a number"),
    (["--time", "price", "--label", "paid > 5", "--every", "month"], None),
]


@pytest.mark.parametrize("args, says", CASES[:-1], ids=[c[1][:40] for c in CASES[:-1]])
def test_a_bad_option_is_refused_before_tensorflow(tmp_path, args, says):
    proc = _init(tmp_path, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and says in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_time_that_cannot_be_read_names_the_row(tmp_path):
    proc = _init(tmp_path, "--time", "when", "--label", "paid > 5",
                 text=HEADER + ROWS + "yesterday,1,2,A,3\n")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert ("trips.csv:32: when = 'yesterday' is not a time (Unix seconds, an ISO date or datetime, or a "
            "year; for another form give --time-format, e.g. %m/%d/%Y)") in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_years_cannot_be_cut_by_month(tmp_path):
    text = "year,paid,carrier\n" + "".join(f"{2020 + i % 3},{i},A\n" for i in range(12))
    proc = _init(tmp_path, "--time", "year", "--every", "month", "--label", "paid > 5", text=text)
    assert proc.returncode == 2 and "year holds years only; it cannot be cut by month" in proc.stderr, proc.stderr


def test_a_directory_that_holds_a_config_is_left_alone(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "driftline.toml").write_text("# mine\n")
    proc = _init(tmp_path, "--time", "when", "--label", "paid > 5")
    assert proc.returncode == 2 and "already holds driftline.toml" in proc.stderr, proc.stderr
    assert (tmp_path / "out" / "driftline.toml").read_text() == "# mine\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["driftline.toml"]


@pytest.mark.parametrize("text, expected", [
    ("1356998400", "2013-01-01T00:00:00+00:00"),
    ("1356998400.5", "2013-01-01T00:00:00.500000+00:00"),
    ("2013", "2013-01-01T00:00:00+00:00"),
    ("2013-03-04", "2013-03-04T00:00:00+00:00"),
    ("2013-03-04 05:06:07", "2013-03-04T05:06:07+00:00"),
    ("2013-03-04T05:06:07Z", "2013-03-04T05:06:07+00:00"),
    ("2013-03", "2013-03-01T00:00:00+00:00"),
    ("20130304", "2013-03-04T00:00:00+00:00"),
])
def test_every_form_of_time(text, expected):
    from driftline.data.init import instant, period_of

    moment = instant(text)
    assert moment.isoformat() == expected
    assert period_of(moment, "month") == expected[:7] and period_of(moment, "year") == expected[:4]


def test_a_time_format_and_a_zone_decide_the_periods(tmp_path):
    from driftline.data.init import Request, instant, prepare, time_zone

    moment = instant("03/04/2013", time_zone("America/New_York"), "%m/%d/%Y")
    assert moment.isoformat() == "2013-03-04T00:00:00-05:00"
    source = tmp_path / "days.csv"
    source.write_text("day,paid\n15/01/2020 10:00,1\n20/06/2020 10:00,7\n31/12/2020 23:30,9\n")
    request = Request(source, "day", "month", "paid > 5", tmp_path / "out", time_format="%d/%m/%Y %H:%M")
    assert {k: len(v) for k, v in prepare(request).by_period.items()} == {"2020-01": 1, "2020-06": 1, "2020-12": 1}
    # Midnight UTC on 1 January 2021 is still 2020 in New York.
    late = tmp_path / "late.csv"
    late.write_text("when,paid\n1609459200,1\n1577836800,7\n")
    for zone, periods in (("UTC", ["2020", "2021"]), ("America/New_York", ["2019", "2020"])):
        assert sorted(prepare(Request(late, "when", "year", "paid > 5", tmp_path / "o", time_zone=zone)).by_period) == periods
    request.time_format = ""
    with pytest.raises(Exception, match="days.csv:2: day = '15/01/2020 10:00' is not a time"):
        prepare(request)


def test_a_chart_file_name_is_safe_whatever_the_column_is_called():
    from driftline.analysis.report import chart_file

    assert chart_file("Zone/Area × Size (m2)") == "f1_by_Zone_Area_x_Size_m2_.png"
