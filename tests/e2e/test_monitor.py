"""`driftline monitor` over the log a real `driftline serve` wrote: requests whose every
payment_type is "Cash" raise a skew alarm against the serving version's training data
(found through MLMD) and a drift alarm against the window before; the same rows
unchanged raise none for payment_type; each pass is an MLMD execution reading the
served model. A real Prometheus, on loopback with `driftline monitor rules`' rules,
scrapes the server and fires DriftlineFeatureSkew{feature="payment_type"}."""
import csv
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import ml_metadata as mlmd
import numpy as np
import pytest

from components.properties import custom_property
from pipeline import metadata
from system_programs import require_program
from serving_helpers import Served, b64, free_port

MODEL = "taxi_big_tipper"


def _send(server, version, examples, per_request=25):
    for start in range(0, len(examples), per_request):
        batch = examples[start:start + per_request]
        status, body, _ = server.post(f"/v1/models/{MODEL}/versions/{version}:predict",
                                      {"instances": [b64(e) for e in batch]})
        assert status == 200, body


def _monitor(driftline, config, work, rows):
    proc = driftline("monitor", "--config", config, "--window", rows, "--json", cwd=work, timeout=300)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def monitored(runs, challengers, small_spans, driftline):
    from test_pipeline import _raw_examples_from_rows

    import shutil

    work = runs["work"]
    for leftover in (work / "monitor-log", work / "prometheus"):  # a reused work directory
        shutil.rmtree(leftover, ignore_errors=True)
    config = work / "monitor.toml"
    config.write_text((work / "base.toml").read_text()
                      + f'\n[serving]\npoll_seconds = 0.2\nlog_dir = "{work / "monitor-log"}"\n'
                      + "[monitoring]\nmin_requests = 50\n")
    serving = work / "challenge" / "serving" / MODEL
    version = max(int(p.name) for p in serving.iterdir() if p.name.isdigit())
    with open(small_spans / "span-4" / "data.csv") as f:
        rows = list(csv.DictReader(f))
    cash = [dict(row, payment_type="Cash") for row in rows]
    server = Served(config, work)
    prometheus = None
    try:
        server.wait(versions=2)
        prometheus = _prometheus(driftline, config, work, server)
        _send(server, version, _raw_examples_from_rows(rows))
        server.post("/v1/models/" + MODEL + ":predict", {"instances": []})  # an error: not logged
        unchanged = _monitor(driftline, config, work, len(rows))
        quiet = _alerts_after_evaluations(prometheus, evaluations=3)
        _send(server, version, _raw_examples_from_rows(cash))
        shifted = _monitor(driftline, config, work, len(rows))
        fired = _wait_for_alert(prometheus, "DriftlineFeatureSkew", timeout=90)
        outcomes = _outcomes(work, rows)
        labelled = driftline("monitor", "labels", outcomes, "--config", config, "--json", cwd=work, timeout=300)
        # The watcher's first tick: every window was judged above and no outcome file has
        # arrived, and one alarmed window is not the three in a row that retraining needs.
        watched = driftline("monitor", "--watch", "--passes", 1, "--config", config, "--server", server.url,
                            cwd=work, timeout=300)
        metrics_text = server.get("/metrics")
        browsed = _browse(f"{server.url}/dashboard", work / "prometheus")
    finally:
        if prometheus is not None:
            prometheus["proc"].terminate()
            prometheus["proc"].wait(timeout=30)
        server.stop()
    return {"version": str(version), "rows": len(rows), "unchanged": unchanged, "shifted": shifted,
            "work": work, "quiet_alerts": quiet, "fired": fired, "labelled": labelled, "watched": watched,
            "outcomes": outcomes, "metrics_text": metrics_text, "config": config, "browsed": browsed}


def _browse(url, home):
    """Debian's chromium, headless, loads the page: its console output and a screenshot."""
    binary = require_program("chromium", "chromium")
    shot = home / "dashboard.png"
    proc = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1100,1400", "--enable-logging=stderr", "--v=0",
                           f"--user-data-dir={home / 'chromium'}", f"--screenshot={shot}", url],
                          capture_output=True, text=True, timeout=180)
    return {"returncode": proc.returncode, "stderr": proc.stderr, "screenshot": shot}


def _outcomes(work, rows):
    """The outcome file a taxi company would send later: each logged request id of the
    unchanged rows (logged in the order they were sent) with the ride's real tip."""
    from driftline.monitoring.window import read_log

    table, _ = read_log(work / "monitor-log")
    ids = table.column("request_id").to_pylist()[:len(rows)]
    path = work / "outcomes.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["request_id", "tips"])
        for rid, row in zip(ids, rows):
            writer.writerow([rid, row["tips"]])
    return path


def _prometheus(driftline, config, work, server):
    """Debian's prometheus on a free loopback port, its own data directory, scraping the
    server every second and evaluating `driftline monitor rules`' rules every second."""
    binary = require_program("prometheus", "prometheus")
    home = work / "prometheus"
    home.mkdir(exist_ok=True)
    written = driftline("monitor", "rules", "--config", config, "--output", home / "rules.yml", cwd=work)
    assert written.returncode == 0, written.stderr
    (home / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "rule_files:\n  - rules.yml\n"
        "scrape_configs:\n  - job_name: driftline\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{server.rest_port}']\n")
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={home / 'prometheus.yml'}",
                             f"--storage.tsdb.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            cwd=home, stdout=subprocess.DEVNULL, stderr=open(home / "prometheus.log", "w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2):
                return {"proc": proc, "url": url, "home": home}
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise AssertionError(f"prometheus did not become ready: {(home / 'prometheus.log').read_text()[-2000:]}")


def _alerts(prometheus):
    with urllib.request.urlopen(prometheus["url"] + "/api/v1/alerts", timeout=5) as response:
        return json.loads(response.read())["data"]["alerts"]


def _api(prometheus, path):
    with urllib.request.urlopen(prometheus["url"] + path, timeout=5) as response:
        return json.loads(response.read())["data"]


def _stamp(text: str) -> float:
    """Prometheus's RFC 3339 times (nanoseconds, Z) as seconds since the epoch."""
    import datetime as dt

    head, _, rest = text.rstrip("Z").partition(".")
    fraction = rest.split("+")[0].split("-")[0]
    moment = dt.datetime.fromisoformat(head.rstrip("Z")).replace(tzinfo=dt.timezone.utc)
    return moment.timestamp() + float(f"0.{fraction or 0}")


def _alerts_after_evaluations(prometheus, evaluations, timeout=120):
    """The alerts once the rules were evaluated `evaluations` times after a scrape that
    began after this call: an absence of alerts is then an answer, not a race."""
    start = time.time()
    deadline = time.monotonic() + timeout
    scraped = None
    while scraped is None:
        assert time.monotonic() < deadline, "prometheus did not scrape the server"
        stamps = [_stamp(t["lastScrape"]) for t in _api(prometheus, "/api/v1/targets")["activeTargets"]
                  if t.get("lastScrape")]
        scraped = next((t for t in stamps if t > start), None)
        time.sleep(0.2)
    seen = set()
    while len(seen) < evaluations:
        assert time.monotonic() < deadline, "prometheus did not evaluate the rules"
        for group in _api(prometheus, "/api/v1/rules")["groups"]:
            evaluated = _stamp(group["lastEvaluation"])
            if evaluated > scraped:
                seen.add(evaluated)
        time.sleep(0.2)
    return _alerts(prometheus)


def _wait_for_alert(prometheus, name, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        firing = [a for a in _alerts(prometheus) if a["labels"]["alertname"] == name and a["state"] == "firing"]
        if firing:
            return firing
        time.sleep(1)
    return []


def _alarms(result, kind):
    return {a["feature"]: a for a in result["alarms"] if a["kind"] == kind}


def test_unchanged_requests_raise_no_payment_type_alarm(monitored):
    code, result = monitored["unchanged"]
    assert result["rows"] == monitored["rows"] and result["judged"]
    info = result["versions"][monitored["version"]]
    assert info["judged"] and info["rows"] == monitored["rows"]
    assert "payment_type" not in _alarms(result, "skew") and "payment_type" not in _alarms(result, "drift")
    payment = next(f for f in info["skew"]["features"] if f["name"] == "payment_type")
    assert payment["distance"] < payment["threshold"]


def test_cash_only_requests_raise_skew_and_drift_alarms_naming_payment_type(monitored, runs):
    code, result = monitored["shifted"]
    assert code == 3
    skew = _alarms(result, "skew")["payment_type"]
    assert skew["version"] == monitored["version"] and skew["value"] > skew["threshold"] > 0
    assert f"skew of payment_type for version {monitored['version']}" in skew["text"]
    drift = _alarms(result, "drift")["payment_type"]
    assert drift["value"] > drift["threshold"]
    # The training statistics came through MLMD from the run that trained the version.
    info = result["versions"][monitored["version"]]
    store = mlmd.MetadataStore(metadata.sqlite_config(monitored["work"] / "challenge" / "metadata.sqlite",
                                                      readonly=True))
    assert info["training_run"] in {c.name for c in metadata.pipeline_runs(store)}
    statistics = store.get_artifacts_by_id([info["training_statistics"]])[0]
    assert store.get_artifact_types_by_id([statistics.type_id])[0].name == "ExampleStatistics"


def test_each_pass_is_recorded_in_mlmd_with_the_served_model_as_input(monitored):
    store = mlmd.MetadataStore(metadata.sqlite_config(monitored["work"] / "challenge" / "metadata.sqlite",
                                                      readonly=True))
    passes = store.get_executions_by_type("driftline.Monitoring")
    ids = {monitored["unchanged"][1]["execution"], monitored["shifted"][1]["execution"]}
    assert ids <= {e.id for e in passes}
    shifted = next(e for e in passes if e.id == monitored["shifted"][1]["execution"])
    assert "payment_type" in shifted.properties["alarms"].string_value
    inputs = {e.path.steps[0].key: e.artifact_id for e in store.get_events_by_execution_ids([shifted.id])}
    served = store.get_artifacts_by_id([inputs["served_model"]])[0]
    assert str(custom_property(served, "pushed_version")) == monitored["version"]


def test_the_watcher_judges_nothing_twice_and_waits_for_alarms_to_hold(monitored):
    proc = monitored["watched"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("watching        ") and "retraining after 3 alarmed windows in a row" in proc.stdout
    assert "window    " not in proc.stdout and "DECISION" not in proc.stdout, proc.stdout


def test_a_window_too_small_is_not_judged(monitored, driftline):
    work = monitored["work"]
    proc = driftline("monitor", "--config", work / "monitor.toml", "--window", 10, cwd=work, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fewer than min_requests = 50: nothing is judged on so little" in proc.stdout
    assert "ALARM" not in proc.stdout


def test_two_versions_trained_on_the_same_data_and_a_slightly_torn_log_in_one_pass(monitored, challengers,
                                                                                  driftline, tmp_path):
    """A canary trained on the same data as the stable version shares its training
    statistics; an older rotated file holds a line torn by a crash and a row whose
    timestamp is not a number. The pass judges both versions and names what it left out."""
    from e2e_helpers import pushed_by

    work = monitored["work"]
    # The base and reseeded challengers read the same spans; picked by run id, since other
    # modules may push more versions (a retrain on a newer span) into the same directory.
    stable, other = (pushed_by(challengers["stores"][name], challengers["run_ids"][name]).name
                     for name in ("reseeded", "base"))
    assert other != stable
    newest = sorted((work / "monitor-log").glob("requests-*.csv"))[0]
    with open(newest, newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        rows = [dict(row, model_version=stable) for row in list(reader)[:monitored["rows"]]]
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    older = log_dir / "requests-20000101T000000-000000000.csv"
    with open(older, "w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows([dict(row, model_version=other) for row in rows])
    lines = older.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:20] + "\n"
    lines[3] = lines[3].replace(rows[2]["timestamp"], "yesterday")
    older.write_text("".join(lines))
    with open(log_dir / newest.name, "w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(rows)
    proc = driftline("monitor", "--config", monitored["config"], "--log-dir", log_dir, "--window",
                     2 * len(rows), "--json", cwd=work, timeout=300)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert result["versions"][other]["judged"] and result["versions"][stable]["judged"]
    assert result["versions"][other]["training_statistics"] == result["versions"][stable]["training_statistics"]
    assert result["rows"] == 2 * len(rows) - 2
    assert f"driftline: note: {older}:3: a torn row was left out" in proc.stderr
    assert "the timestamp not a number of seconds (line 4: 'yesterday')" in proc.stderr

    # A window that never reaches the older file judges as if it were whole.
    proc = driftline("monitor", "--config", monitored["config"], "--log-dir", log_dir, "--window", 300,
                     "--json", cwd=work, timeout=300)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr


def test_a_real_prometheus_fires_the_skew_alert_for_payment_type(monitored):
    assert not [a for a in monitored["quiet_alerts"] if a["labels"].get("feature") == "payment_type"]
    fired = {a["labels"]["feature"]: a for a in monitored["fired"]}
    assert "payment_type" in fired, monitored["fired"]
    alert = fired["payment_type"]
    assert alert["labels"]["version"] == monitored["version"] and alert["labels"]["model"] == MODEL
    assert float(alert["value"]) > 0.1


def test_late_outcomes_give_online_f1_per_version_equal_to_an_independent_count(monitored, challengers):
    """Online F1 decides at the version's operating threshold, as MLMD records it."""
    from sklearn.metrics import f1_score

    from driftline.monitoring.window import read_log
    from e2e_helpers import recorded_threshold

    proc = monitored["labelled"]
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    table, _ = read_log(monitored["work"] / "monitor-log")
    n = monitored["rows"]
    with open(monitored["outcomes"]) as f:
        tips = [float(r["tips"] or 0) for r in csv.DictReader(f)]
    fare = np.asarray([float(v or 0) for v in table.column("fare").to_pylist()[:n]], dtype=np.float32)
    seen = np.asarray([v == "1" for v in table.column("label_known").to_pylist()[:n]])
    labels = (np.asarray(tips, dtype=np.float32) > np.float32(0.2) * fare)[seen]  # the example's rule
    scores = np.asarray([float(v) for v in table.column("probability").to_pylist()[:n]])[seen]
    info = result["versions"][monitored["version"]]
    assert result["matched"] == n and result["unobservable"] == int((~seen).sum())
    assert info["rows"] == int(seen.sum()) and info["judged"]
    threshold = recorded_threshold(challengers["stores"]["base"], monitored["version"])
    assert info["threshold"] == threshold
    assert info["f1_score"]["value"] == pytest.approx(f1_score(labels, scores >= threshold), abs=1e-9)
    assert info["f1_score"]["low"] <= info["f1_score"]["value"] <= info["f1_score"]["high"]
    assert f'driftline_online_f1{{model="{MODEL}",version="{monitored["version"]}"}}' in monitored["metrics_text"]


def test_outcomes_that_join_nothing_are_refused_in_one_line(monitored, driftline, tmp_path):
    stray = tmp_path / "stray.csv"
    stray.write_text("request_id,tips\nnot-a-request,3.0\n")
    proc = driftline("monitor", "labels", stray, "--config", monitored["config"], cwd=monitored["work"])
    assert proc.returncode == 2 and "none of its 1 request ids is in the request log" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_dashboard_loads_in_a_real_browser_with_the_alarms(monitored):
    from PIL import Image

    browsed = monitored["browsed"]
    assert browsed["returncode"] == 0, browsed["stderr"][-2000:]
    console = [line for line in browsed["stderr"].splitlines() if "CONSOLE" in line]
    assert not console, console
    image = Image.open(browsed["screenshot"]).convert("L")
    assert image.size == (1100, 1400)
    # Not blank: text, tables and charts give many grey levels and a wide range.
    low, high = image.getextrema()
    assert high - low > 200 and len(set(image.getdata())) > 50
    page = (monitored["work"] / "challenge" / "monitoring" / "dashboard" / "index.html").read_text()
    assert "skew of payment_type for version " + monitored["version"] in page
    # Every chart is there: distances, versions, and online F1 from the outcome join.
    for chart in ("skew.png", "drift.png", "versions.png", "online_f1.png"):
        assert f"alt='{chart}' src='data:image/png;base64," in page, chart


def test_suggested_thresholds_come_from_spans_and_quiet_windows_and_are_written_with_comments(
        monitored, driftline, tmp_path):
    from driftline.schema.check import load_schema

    work = monitored["work"]
    schema = tmp_path / "schema.pbtxt"
    schema.write_text((Path(__file__).resolve().parents[2] / "schemas" / "schema.pbtxt").read_text())
    before = schema.read_text()
    proc = driftline("monitor", "suggest-thresholds", "--config", monitored["config"], "--schema", schema,
                     "--write", cwd=work, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "between consecutive spans" in proc.stdout and "between monitoring windows without an alarm" in proc.stdout
    assert f"written to {schema} (comments kept)" in proc.stdout
    after = schema.read_text()
    comments = [line for line in before.splitlines() if line.strip().startswith("#")]
    assert all(line in after.splitlines() for line in comments)
    assert load_schema(schema) is not None
    checked = driftline("schema", "check", schema, cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_docs_monitor_transcripts_show_lines_a_pass_prints(monitored, driftline):
    """Last in this module (it records one more pass). The newest window is the cash-only
    traffic, so the pass prints alarms as the page's second transcript does."""
    from docs_transcripts import assert_labels_shown

    proc = driftline("monitor", "--config", monitored["config"], "--window", monitored["rows"],
                     cwd=monitored["work"], timeout=300)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert_labels_shown("driftline monitor --window", "monitoring.md", proc.stdout,
                        where=lambda t: any(line.startswith("ALARM") for line in t.output))


def _in_process(monitored):
    from driftline.config import load_config
    from driftline.mlmd.store import open_for_recording
    from driftline.schema.check import load_schema

    config = load_config(monitored["config"])
    return config, load_schema(config.schema_file), open_for_recording(config)


def test_the_window_carries_its_multivariate_drift_and_estimate_blocks(monitored):
    from test_serving_steps import _estimated_or_refused

    for name in ("unchanged", "shifted"):
        result = monitored[name][1]
        found = result["multivariate_drift"]
        assert found["version"] == monitored["version"] and found["threshold"] == 0.6
        assert found["auc"]["low"] <= found["auc"]["value"] <= found["auc"]["high"]
        assert found["verdict"] == ("over threshold" if found["auc"]["low"] > 0.6 else "within threshold")
        assert 1 <= len(found["features"]) <= 5 and set(found["relied_on"]) <= {f["name"] for f in found["features"]}
        _estimated_or_refused({"config": monitored["config"]}, result)
    # Every payment "Cash": a marginal the classifier sees at once, and names.
    shifted = monitored["shifted"][1]["multivariate_drift"]
    assert shifted["verdict"] == "over threshold" and shifted["relied_on"][0] == "payment_type", shifted
    alarm = _alarms(monitored["shifted"][1], "multivariate_drift")
    assert list(alarm) == [", ".join(shifted["relied_on"])]


def test_fares_swapped_between_short_and_long_trips_pass_every_feature_check_and_are_caught_together(monitored):
    """Within the window, the largest fares go to the shortest trips: every marginal is
    the same, so skew and drift say what they said of the rows unchanged (drift against
    them: nothing at all), while the domain classifier tells the window from the
    evaluation rows far better than before and names fare and trip_miles."""
    import pyarrow as pa

    from driftline.monitoring import check
    from driftline.monitoring.window import Window, read_log

    config, schema, store = _in_process(monitored)
    table, files = read_log(monitored["work"] / "monitor-log")
    unchanged = table.slice(0, monitored["rows"])

    def number(text):
        return float(text) if text not in ("", None) else -1.0

    miles = unchanged.column("trip_miles").to_pylist()
    fares = sorted(unchanged.column("fare").to_pylist(), key=number, reverse=True)
    swapped_fares = [None] * len(fares)
    for i, fare in zip(sorted(range(len(miles)), key=lambda i: number(miles[i])), fares):
        swapped_fares[i] = fare
    swapped = unchanged.set_column(unchanged.column_names.index("fare"), "fare", pa.array(swapped_fares))
    before, _ = check.judge_window(config, schema, store, Window(unchanged, None, files, table.num_rows))
    after, _ = check.judge_window(config, schema, store, Window(swapped, unchanged, files, table.num_rows))
    per_feature = {(a["kind"], a["feature"]) for a in after["alarms"] if a["kind"] in ("skew", "drift")}
    assert per_feature == {(a["kind"], a["feature"]) for a in before["alarms"] if a["kind"] == "skew"}
    assert after["drift"]["passed"] and all(f["distance"] == 0 for f in after["drift"]["features"]
                                            if f["distance"] is not None)
    told, untold = after["multivariate_drift"], before["multivariate_drift"]
    assert told["verdict"] == "over threshold" and told["auc"]["low"] > untold["auc"]["high"], (told, untold)
    assert set(told["relied_on"][:2]) == {"fare", "trip_miles"}, told["features"]


def _served_evaluation_rows(monitored):
    """(labels, scores, operating threshold, recalibration) of the served version's
    labelled evaluation rows, found through MLMD as a monitoring pass finds them."""
    from components.model import operating_point
    from driftline.monitoring import estimate
    from driftline.monitoring.baseline import trained
    from driftline.monitoring.check import reference_rows
    from driftline.monitoring.performance import labelled_reference

    config, _, store = _in_process(monitored)
    source = trained(store, config.pipeline_name, monitored["version"])
    reference = reference_rows(source.predictions)
    labels, scores = labelled_reference(reference)
    labels = labels.astype(bool)
    return labels, scores, operating_point.of_artifact(source.model), estimate.calibrator(labels, scores)


def test_windows_of_the_served_models_evaluation_rows_are_estimated_within_their_interval(monitored):
    """The served model's own evaluation rows, drawn as windows of 200 labelled rows:
    the interval of the estimate covers the F1 the labels realize at about its nominal rate."""
    from components.model_gate import metrics
    from driftline.monitoring import estimate

    labels, scores, threshold, rates = _served_evaluation_rows(monitored)
    rng, covered, windows = np.random.default_rng(0), 0, 150
    for i in range(windows):
        rows = rng.integers(0, labels.size, 200)
        found = estimate.estimate(scores[rows], threshold, 300, i, 0.95, rates(scores[rows]))["f1_score"]
        covered += found["low"] <= metrics.at_threshold(labels[rows], scores[rows], threshold)["f1_score"] \
            <= found["high"]
    assert 0.88 <= covered / windows <= 1.0, covered


def test_traffic_richer_in_tippers_raises_the_served_models_estimate_before_any_outcome(monitored):
    """The served model's labelled evaluation rows as traffic, then the same rows with
    every ride that turned out a big tipper sent twice: only the mix changes, the
    estimate reads nothing but the scores, and it rises as the realized precision does."""
    from components.model_gate import metrics
    from driftline.monitoring import estimate

    labels, scores, threshold, rates = _served_evaluation_rows(monitored)
    richer = np.concatenate([np.arange(labels.size), np.flatnonzero(labels)])
    before, after = (estimate.estimate(scores[rows], threshold, 300, 0, 0.95, rates(scores[rows]))
                     for rows in (np.arange(labels.size), richer))
    assert after["precision"]["value"] > before["precision"]["value"]
    assert after["f1_score"]["value"] > before["f1_score"]["value"]
    realized = [metrics.at_threshold(labels[rows], scores[rows], threshold)["precision"]
                for rows in (np.arange(labels.size), richer)]
    assert realized[1] > realized[0]
