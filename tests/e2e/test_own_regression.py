"""A label that is a number, on a data set made by hand: `driftline init --kind
regression`, `driftline run` (judged by RMSE and MAE against the train mean and by
intervals), `driftline serve` (:predict and :regress answer, :classify is a 400), and the
late outcomes' join (online RMSE), with no code edit."""
import base64
import csv
import json
import re
import time

import numpy as np
import pytest

from serving_helpers import Served

pytestmark = pytest.mark.e2e

MODEL = "homes"


def _write(path, rows=2000, seed=5):
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["listed", "size", "rooms", "area", "noise", "price"])
        for i in range(rows):
            size, area = rng.uniform(30, 200), rng.choice(["centre", "north", "south"])
            price = 20 * size + {"centre": 800, "north": 200, "south": 0}[area] + rng.normal(0, 150)
            writer.writerow([f"{2019 + i * 4 // rows}-{1 + i % 12:02d}-{1 + i % 28:02d}", f"{size:.1f}",
                             int(rng.integers(1, 7)), area, f"{rng.normal():.3f}", f"{price:.2f}"])


@pytest.fixture(scope="module")
def homes(tmp_path_factory, driftline):
    work = tmp_path_factory.mktemp("homes")
    _write(work / "homes.csv")
    init = driftline("init", work / "homes.csv", "--time", "listed", "--kind", "regression", "--label", "price",
                     "--into", work / MODEL, cwd=work)
    assert init.returncode == 0, init.stdout + init.stderr
    config = work / MODEL / "driftline.toml"
    run = driftline("run", "--config", config, cwd=work)
    return {"work": work, "dir": work / MODEL, "config": config, "init": init, "run": run}


def _value(out: str, pattern: str) -> float:
    found = re.search(pattern, out)
    assert found, out
    return float(found.group(1))


def test_the_model_errs_far_less_than_the_mean_and_is_pushed(homes):
    out = homes["run"].stdout
    assert homes["run"].returncode == 0, out + homes["run"].stderr
    rmse = _value(out, r"metrics\s+RMSE ([\d.]+)")
    constant = _value(out, r"the train mean [\d.e+]+ for every row: RMSE ([\d.]+)")
    # The noise in the prices is 150: the model should come near it, the mean nowhere near.
    assert rmse < 250 < 800 < constant, out
    assert "is below the constant's" in out and "blessed         yes" in out
    assert f"pushed          {homes['dir']}/output/serving/{MODEL}/" in out


def _homes(n, seed=9):
    rng = np.random.default_rng(seed)
    rows = [{"size": float(rng.uniform(30, 200)), "rooms": int(rng.integers(1, 7)),
             "area": str(rng.choice(["centre", "north", "south"])), "noise": 0.0} for _ in range(n)]
    truth = [20 * r["size"] + {"centre": 800, "north": 200, "south": 0}[r["area"]] + rng.normal(0, 150)
             for r in rows]
    return rows, truth


def _logged(log_dir, at_least: int):
    """Waits for the request log (written off the request's path) to hold the rows."""
    deadline = time.monotonic() + 60
    while sum(max(0, len(p.read_text().splitlines()) - 1) for p in log_dir.glob("*.csv")) < at_least:
        assert time.monotonic() < deadline, f"{log_dir} holds fewer than {at_least} rows"
        time.sleep(0.2)


def test_the_served_number_comes_by_predict_and_regress_and_classify_is_refused(homes, driftline):
    import tensorflow as tf

    rows, truth = _homes(250)
    server = Served(homes["config"], homes["dir"])
    try:
        server.wait(versions=1)
        status, answer, headers = server.post(f"/v1/models/{MODEL}:regress", {"examples": rows})
        assert status == 200 and len(answer["result"]) == 250, answer
        home = rows[0]
        example = tf.train.Example(features=tf.train.Features(feature={
            "size": tf.train.Feature(float_list=tf.train.FloatList(value=[home["size"]])),
            "rooms": tf.train.Feature(int64_list=tf.train.Int64List(value=[home["rooms"]])),
            "area": tf.train.Feature(bytes_list=tf.train.BytesList(value=[home["area"].encode()])),
            "noise": tf.train.Feature(float_list=tf.train.FloatList(value=[0.0]))}))
        status, predicted, _ = server.post(f"/v1/models/{MODEL}:predict", {"instances": [
            {"b64": base64.b64encode(example.SerializeToString()).decode()}]})
        assert status == 200, predicted
        assert np.isclose(predicted["predictions"][0]["predictions"][0], answer["result"][0], atol=1e-3)
        status, refused, _ = server.post(f"/v1/models/{MODEL}:classify", {"examples": [home]})
        assert status == 400 and "predicts a number (a regression task)" in refused["error"], refused
    finally:
        server.stop()
    _logged(homes["dir"] / "output" / "request-logs" / MODEL, 251)
    # The prices are known later: joined by request id, they give the online RMSE.
    outcomes = homes["dir"] / "outcomes.csv"
    rid = headers["x-request-id"]
    outcomes.write_text("request_id,price\n" + "".join(f"{rid}-{i},{p:.2f}\n" for i, p in enumerate(truth)))
    with open(homes["config"], "a") as f:
        f.write("\n[monitoring]\nmax_online_rmse = 50\n")
    proc = driftline("monitor", "labels", outcomes, "--config", homes["config"], "--json", cwd=homes["dir"])
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the alarm: RMSE far above 50
    result = json.loads(proc.stdout)
    (_, info), = result["versions"].items()
    expected = float(np.sqrt(np.mean((np.asarray(answer["result"]) - np.round(truth, 2)) ** 2)))
    assert result["task_kind"] == "regression" and info["rows"] == 250 and info["judged"]
    assert np.isclose(info["rmse"]["value"], expected, rtol=1e-4)
    assert info["rmse"]["low"] < expected < info["rmse"]["high"]
    assert [a["kind"] for a in result["alarms"]] == ["online_rmse"]
    # The dashboard, redrawn after the join, charts the online RMSE.
    assert (homes["dir"] / "output" / "monitoring" / "dashboard" / "online_f1.png").stat().st_size > 0
