"""MLMD on MySQL: a private MariaDB on loopback. `driftline run` writes its lineage there;
two runs at once on different spans, from two output directories into the one store,
both complete with their lineage intact, and `lineage runs` lists both."""
import json
import shutil
import subprocess
import sys

import pytest

from mariadb_server import MariaDB


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    import ml_metadata as mlmd

    from pipeline import metadata

    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    # MLMD creates its tables on the first connection; a store is set up once, as
    # Kubeflow's metadata server does, not by two runs racing to create the same tables.
    from mariadb_server import DATABASE, PASSWORD, USER

    mlmd.MetadataStore(metadata.mysql_config("127.0.0.1", server.port, DATABASE, USER, PASSWORD))
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
