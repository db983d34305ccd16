"""MLMD on MySQL: a private MariaDB on loopback. `driftline run` writes its lineage there;
two runs at once on different spans, from two output directories into the one store,
both complete with their lineage intact, `lineage runs` lists both, and the newest is up
to date. A server stopped in the middle of a run is named in one line; with the server
back, the next run closes what that run left open and completes."""
import json
import shutil
import subprocess
import sys

import pytest

from mariadb_server import MariaDB
from pipeline import metadata


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    # MLMD creates its tables on the first connection; a store is set up once, as
    # Kubeflow's metadata server does, not by two runs racing to create the same tables.
    _store(server)
    yield server
    server.stop()


def _config(tmp, name, data_root, server, span):
    path = tmp / f"{name}.toml"
    path.write_text(f'data_root = "{data_root}"\noutput_dir = "{tmp / name}"\nwindow = 1\nspan = {span}\n'
                    '[drift]\ngate = "warn"\n' + server.settings())
    return path


def _trace(driftline, config, env, target="latest"):
    proc = driftline("lineage", "trace", target, "--config", config, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_two_runs_at_once_into_one_mysql_store_both_complete(mariadb, tmp_path, small_spans, driftline):
    data_root = tmp_path / "taxi"
    shutil.copytree(small_spans, data_root)
    configs = {span: _config(tmp_path, f"out{span}", data_root, mariadb, span) for span in (2, 3)}
    procs = {span: subprocess.Popen([sys.executable, "-m", "driftline", "run", "--fast", "--config", str(c)],
                                    cwd=tmp_path, env=mariadb.env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for span, c in configs.items()}
    outputs = {span: p.communicate(timeout=900) for span, p in procs.items()}
    for span, p in procs.items():
        assert p.returncode == 0, outputs[span]
        assert "mysql://driftline@127.0.0.1" in outputs[span][0]  # the summary names the store

    listed = driftline("lineage", "runs", "--config", configs[2], "--json", env=mariadb.env())
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert len(runs) == 2 and {r["span"] for r in runs} == {2, 3}, runs
    for run in runs:
        assert run["nodes"]["Pusher"] == "complete" and run.get("stopped") is None, run
        text = _trace(driftline, configs[2], mariadb.env(), run["run_id"])
        # Each run's lineage reaches its own span's file and no other.
        assert f"span-{run['span']}/data.csv sha256" in text
        other = 5 - run["span"]
        assert f"span-{other}/data.csv sha256" not in text

    # The up-to-date check reads a MySQL store as it reads SQLite: the newest run's inputs
    # again, nothing starts. The other span's run is not the newest, so it would run.
    newest_id = metadata.pipeline_runs(_store(mariadb))[-1].name
    newest = next(r["span"] for r in runs if r["run_id"] == newest_id)
    again = driftline("run", "--fast", "--config", configs[newest], env=mariadb.env())
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"span {newest} is up to date" in again.stdout and "mysql://driftline@127.0.0.1" in again.stdout
    relisted = json.loads(driftline("lineage", "runs", "--config", configs[2], "--json", env=mariadb.env()).stdout)
    assert len(relisted) == 2


def _store(server):
    import ml_metadata as mlmd

    from mariadb_server import DATABASE, PASSWORD, USER

    return mlmd.MetadataStore(metadata.mysql_config("127.0.0.1", server.port, DATABASE, USER, PASSWORD))


def _wait_until_running(server, node, timeout=120):
    import time

    from e2e_helpers import PIPELINE

    store = _store(server)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = metadata.pipeline_runs(store)[-1].name
        execution = metadata.run_executions(store, PIPELINE, run).get(node)
        if execution is not None and metadata.STATE_NAMES[execution.last_known_state] == "running":
            return
        time.sleep(0.05)
    raise AssertionError(f"{node} was never seen running")


@pytest.mark.reliability  # two whole runs: `make reliability`, not `make test`
def test_a_server_stopped_during_a_run_is_named_and_the_next_run_completes(mariadb, tmp_path, small_spans, driftline):
    """The server stops while the Trainer trains. The run says which store stopped answering
    and exits 1, pushing nothing; what it could not close in MLMD then is closed by the
    next run, which, with the server back, completes and reuses what the first finished."""
    data_root = tmp_path / "taxi"
    shutil.copytree(small_spans, data_root)
    config = _config(tmp_path, "out4", data_root, mariadb, 4)
    proc = subprocess.Popen([sys.executable, "-m", "driftline", "run", "--fast", "--config", str(config)],
                            cwd=tmp_path, env=mariadb.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.split()[:2] == ["Transform", "complete"]:
                _wait_until_running(mariadb, "Trainer")
                mariadb.stop()
        stderr = proc.stderr.read()
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        if mariadb.proc is None:
            mariadb.restart()
    out = "".join(lines)
    assert proc.returncode == 1, out + stderr
    message = stderr.strip().splitlines()
    assert len(message) == 2 and "Traceback" not in stderr, stderr
    where = f"mysql://driftline@127.0.0.1:{mariadb.port}/metadb"
    assert message[0].startswith(f"driftline: the MLMD store {where} stopped answering during "), stderr
    failed = message[0].split(" during ")[1].split(",")[0]
    assert failed == "Trainer" and "  Trainer " in out, (failed, out)
    assert not (tmp_path / "out4" / "serving").exists()

    again = driftline("run", "--fast", "--config", config, cwd=tmp_path, env=mariadb.env())
    assert again.returncode == 0, again.stdout + again.stderr
    listed = json.loads(driftline("lineage", "runs", "--config", config, "--json", env=mariadb.env()).stdout)
    mine = [r for r in listed if r["span"] == 4]
    assert len(mine) == 2, mine
    first, second = sorted(mine, key=lambda r: r["started"])
    assert f"(run {first['run_id']} stopped at {failed} when MLMD could not be written: closed in MLMD now" \
        in again.stdout
    assert "running" not in first["nodes"].values() and first["nodes"][failed] == "failed", first
    assert first["stopped"].startswith(f"failed at {failed}"), first
    assert second["nodes"]["Transform"] == "cached" and second["nodes"]["Pusher"] == "complete", second
