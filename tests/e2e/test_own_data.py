"""A data set that is not the embedded example, made by hand so that the truth is known:
`driftline init` cuts it, `driftline run` trains and judges with the default bar, and
`driftline serve` answers for it, with no code edit.

The label depends on one input (`signal`): with it, the pushed model ranks almost
perfectly; with it ignored, only noise is left and the gate refuses the model against
the constant predictor. A few outcomes are missing, so the label is known where
`known_when` says (`score is not missing`)."""
import csv
import json
import re
import time

import numpy as np
import pytest

from serving_helpers import Served

pytestmark = pytest.mark.e2e

MODEL = "own"


def _write(path, rows_per_year=600, seed=3):
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["order_id", "day", "signal", "noise", "shop", "items", "score"])
        for year in (2020, 2021, 2022, 2023):
            for i in range(rows_per_year):
                signal = rng.uniform(0, 1)
                score = "" if rng.uniform() < 0.05 else f"{signal + rng.normal(0, 0.05):.4f}"
                writer.writerow([f"{year}-{i}", f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}", f"{signal:.4f}",
                                 f"{rng.normal():.4f}", rng.choice(["north", "south", "east"]),
                                 int(rng.integers(0, 10)), score])


def _summary_value(out: str, pattern: str) -> str:
    found = re.search(pattern, out, re.MULTILINE)
    assert found, out
    return found.group(1)


@pytest.fixture(scope="module")
def own(tmp_path_factory, driftline):
    work = tmp_path_factory.mktemp("own")
    source = work / "orders.csv"
    _write(source)
    found = {}
    for name, ignore in (("own", "order_id"), ("blind", "order_id,signal")):
        proc = driftline("init", source, "--time", "day", "--every", "year", "--label", "score > 0.5",
                         "--known-when", "score is not missing", "--ignore", ignore, "--into", work / name,
                         cwd=work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        config = work / name / "driftline.toml"
        run = driftline("run", "--config", config, cwd=work)
        found[name] = {"init": proc, "run": run, "config": config, "dir": work / name}
    return found


def test_init_cuts_by_year_and_declares_the_task(own):
    out = own["own"]["init"].stdout
    assert [line.split()[1] for line in out.splitlines() if line.startswith("span-")] == [
        "2020", "2021", "2022", "2023"]
    assert "task            label = score > 0.5, known when score is not missing; outcomes: score" in out
    inputs = _summary_value(out, r"^model inputs    \d+: (.*)$").split(", ")
    assert sorted(inputs) == ["items", "noise", "shop", "signal"]
    schema = (own["own"]["dir"] / "schema.pbtxt").read_text()
    assert 'not_in_environment: "SERVING"' in schema and "# score: an outcome of the label" in schema


def test_the_label_that_depends_on_an_input_is_learned_and_pushed(own):
    out = own["own"]["run"].stdout
    assert own["own"]["run"].returncode == 0, out + own["own"]["run"].stderr
    assert float(_summary_value(out, r"metrics\s+AUC (\d\.\d+)")) > 0.95
    assert "blessed         yes" in out and f"pushed          {own['own']['dir']}/output/serving/own/" in out
    # Rows without an outcome are left out of the judgement, as known_when says.
    assert "the rows whose label can be known" in out


def test_without_that_input_the_gate_refuses_against_the_constant(own):
    out = own["blind"]["run"].stdout
    assert "blessed         NO" in out, out + own["blind"]["run"].stderr
    assert "is not shown better than a constant's 0.500" in out
    assert "pushed          nothing: the serving model is unchanged" in out


def _logged_rows(log_dir, at_least: int, timeout: float = 60) -> int:
    """Waits for the request log to hold `at_least` rows (it is written off the request's path)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = sum(max(0, len(p.read_text().splitlines()) - 1) for p in log_dir.glob("*.csv"))
        if rows >= at_least:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"{log_dir} did not reach {at_least} rows")


def test_the_pushed_model_is_served_refuses_the_outcome_and_learns_late_outcomes(own, driftline):
    server = Served(own["own"]["config"], own["own"]["dir"])
    try:
        server.wait(versions=1)
        rows = [{"signal": 0.9, "noise": 0.1, "shop": "north", "items": 3},
                {"signal": 0.1, "noise": 0.1, "shop": "north", "items": 3}]
        status, answer, headers = server.post(f"/v1/models/{MODEL}:classify", {"examples": rows})
        assert status == 200, answer
        high, low = (dict(pairs)["1"] for pairs in answer["result"])
        assert high > 0.8 > 0.2 > low
        status, refused, _ = server.post(f"/v1/models/{MODEL}:classify",
                                         {"examples": [{**rows[0], "score": 0.7}]})
        assert status == 400 and "score" in refused["error"], refused
    finally:
        server.stop()
    # The outcomes arrive later: one above the rule's 0.5, one below. The server could
    # not tell whether they would be known (known_when reads the outcome); the file does.
    _logged_rows(own["own"]["dir"] / "output" / "request-logs" / MODEL, 2)
    request = headers["x-request-id"]
    outcomes = own["own"]["dir"] / "outcomes.csv"
    outcomes.write_text(f"request_id,score\n{request}-0,0.93\n{request}-1,0.12\n")
    proc = driftline("monitor", "labels", outcomes, "--config", own["own"]["config"], "--json",
                     cwd=own["own"]["dir"])
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert (result["matched"], result["unobservable"]) == (2, 0)
    (version, info), = result["versions"].items()
    assert (info["rows"], info["positives"]) == (2, 1)
