"""The end-to-end runs, once per test session, shared by every e2e module: four real
runs of the pipeline through the `driftline` CLI against one MLMD store.

1. span 3 cold: every node executes once, the model is blessed and pushed;
   then span 3 again: nothing changed, so nothing starts (up to date, no new run);
2. span 3 again with --force: nothing but the resolvers execute, everything else is cached;
3. span 4, with a quality bar no model meets: the nodes that depend on the new span
   execute again, the model is not blessed and nothing is pushed;
4. span 5, whose payment_type holds a value outside the schema's domain, with the gate
   set to block: the run stops before Transform, nothing is trained or pushed, and the
   baseline is the data of the serving model (span 3, from run 1).
Runs 1-3 set the gate to warn: on a 166-row span, sampling noise alone can move an
hour's share past its threshold, and drift is not what those runs are about.

`challengers` adds runs of span 3 into two more output directories: the same inputs as
run 1 (the same model must come out), and, judged by the default rules, a base model, the
same data with another seed (a challenger that differs by noise), a model trained for
a handful of steps (a challenger that is clearly worse), and, with the slice gate on, a
model trained on data whose labels for one company's card rides were turned over in the train split
only (worse on that slice, not overall).
"""
import shutil
from pathlib import Path

import ml_metadata as mlmd
import pytest

from pipeline import metadata

from e2e_helpers import FLIPPED_ROWS, PIPELINE, flip_labels_in_training_rows


def _reused(name):
    """A developer's shortcut: DRIFTLINE_E2E_REUSE=DIR reads the runs an earlier session
    left in DIR instead of making them (their printed output is then not available)."""
    import os

    reuse = os.environ.get("DRIFTLINE_E2E_REUSE")
    return Path(reuse) if reuse and (Path(reuse) / name).exists() else None


@pytest.fixture(scope="session")
def runs(small_spans, tmp_path_factory, driftline):
    if _reused("out"):
        work = _reused("out")
        store = mlmd.MetadataStore(metadata.sqlite_config(work / "out" / "metadata.sqlite", readonly=True))
        run_ids = [c.name for c in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.id)]
        return {"work": work, "store": store, "run_ids": run_ids, "states": None, "procs": None,
                "served": None}
    work = tmp_path_factory.mktemp("e2e")
    data_root = work / "taxi"
    shutil.copytree(small_spans, data_root)
    bad = (data_root / "span-4" / "data.csv").read_text().replace(",Cash,", ",Bitcoin,")
    (data_root / "span-5").mkdir()
    (data_root / "span-5" / "data.csv").write_text(bad)
    settings = (
        f'data_root = "{data_root}"\noutput_dir = "out"\nwindow = 2\n'
        # The analyzer cache is off by default; these runs keep it, so that the cache a
        # run writes is read by the next span's run (test_pipeline.py).
        "analyzer_cache = true\n"
        # Quality bars are not what this test is about: bless any model.
        "[evaluation]\nmin_auc = 0.0\nmin_f1 = 0.0\nmax_auc_drop = 1.0\n"
    )
    config = work / "driftline.toml"
    config.write_text(settings + '[drift]\ngate = "warn"\n')
    strict = work / "strict.toml"
    # Run 3 also keeps TFMA's Evaluator in the graph, so that the option is exercised.
    strict.write_text(settings.replace("min_auc = 0.0", "min_auc = 0.999\ntfma = true")
                      + '[drift]\ngate = "warn"\n')
    blocking = work / "blocking.toml"
    blocking.write_text(settings + '[drift]\ngate = "block"\n')
    # The challengers' runs use other output directories and nothing these runs write:
    # they run beside them, so the two chains share the two cores.
    _start_challengers(work, driftline)
    results = []
    for span, cfg, extra in ((3, config, []), (3, config, []), (3, config, ["--force"]), (4, strict, [])):
        proc = driftline("run", "--fast", "--config", cfg, "--span", span, *extra, cwd=work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results.append(proc)
    serving = work / "out" / "serving" / "taxi_big_tipper"
    served_before = sorted(p.name for p in serving.iterdir())
    results.append(driftline("run", "--fast", "--config", blocking, "--span", 5, cwd=work))
    served_after = sorted(p.name for p in serving.iterdir())
    store = mlmd.MetadataStore(metadata.sqlite_config(work / "out" / "metadata.sqlite", readonly=True))
    run_ids = [c.name for c in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.id)]
    assert len(run_ids) == 4
    states = [
        {node: metadata.STATE_NAMES[e.last_known_state]
         for node, e in metadata.run_executions(store, PIPELINE, run_id).items()}
        for run_id in run_ids
    ]
    # procs: cold, up to date, forced re-run, strict span 4, blocked span 5
    return {"work": work, "store": store, "run_ids": run_ids, "states": states, "procs": results,
            "served": (served_before, served_after)}


@pytest.fixture(scope="session")
def challengers(runs, driftline):
    """Span 3 into two more output directories. `twin`: run 1's inputs and settings again,
    cold. `challenge`, judged by the default rules on every row (population "all", the
    label's old reading, where a model has much to learn and a weak one shows): a base
    model, the same data with another seed, and a model trained for three steps."""
    work = runs["work"]
    if _reused("challenge"):
        stores = {name: mlmd.MetadataStore(metadata.sqlite_config(
            work / directory / "metadata.sqlite", readonly=True)) for name, directory in
            (("twin", "twin"), ("base", "challenge"), ("reseeded", "challenge"), ("undertrained", "challenge"),
             ("flipped", "challenge"))}
        runs_of = {d: [c.name for c in metadata.pipeline_runs(stores[n])] for n, d in
                   (("twin", "twin"), ("base", "challenge"))}
        return {"procs": None, "stores": stores, "run_ids": {
            "twin": runs_of["twin"][-1], "base": runs_of["challenge"][0],
            "reseeded": runs_of["challenge"][1], "undertrained": runs_of["challenge"][2],
            "flipped": runs_of["challenge"][3]}}
    if not _CHALLENGERS:  # the runs were reused: nothing started these
        _start_challengers(work, driftline)
    thread, outcome = _CHALLENGERS["thread"], _CHALLENGERS["outcome"]
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


_CHALLENGERS = {}


def _start_challengers(work, driftline):
    import threading

    outcome = {}

    def chain():
        try:
            outcome["result"] = _run_challengers(work, driftline)
        except BaseException as exc:  # noqa: BLE001 - raised again where the fixture is used
            outcome["error"] = exc

    thread = threading.Thread(target=chain, name="challengers", daemon=True)
    _CHALLENGERS.update(thread=thread, outcome=outcome)
    thread.start()


FIXED = "operating_point = \"fixed\"\noperating_target = 0.3\n"


def _run_challengers(work, driftline):
    common = f'data_root = "{work / "taxi"}"\nwindow = 2\n[drift]\ngate = "warn"\n'
    plan = [
        ("twin", "twin", (work / "driftline.toml").read_text().replace('output_dir = "out"', 'output_dir = "twin"')),
        ("base", "challenge", "[training]\npopulation = \"all\"\n"),
        # Both decide at one fixed threshold, so that what the slice gate sees is what
        # `flipped` learned: a threshold chosen for the best F1 on its own held-out rows
        # (whose labels are turned over too) moves until it answers "yes" to most of the
        # company's rides again, and F1 then shows little of it. Not one half, so that the
        # tests that read a version's threshold from MLMD can tell it from the default.
        ("reseeded", "challenge", "[training]\npopulation = \"all\"\nseed = 7\n" + FIXED),
        ("undertrained", "challenge", "[training]\npopulation = \"all\"\nseed = 7\ntrain_steps = 3\n"),
        # Judged by the slice gate alone (the AUC comparison is off), against `reseeded`.
        ("flipped", "challenge", "[training]\npopulation = \"all\"\nseed = 7\n" + FIXED + "[evaluation]\n"
         "slice_features = [\"payment_type\", \"company\"]\nmin_slice_examples = 30\n"
         "max_slice_f1_drop = 0.05\nmax_auc_drop = 1.0\n"),
    ]
    flipped_root = work / "flipped_taxi"
    shutil.copytree(work / "taxi", flipped_root)
    for span in (2, 3):
        assert flip_labels_in_training_rows(flipped_root / f"span-{span}" / "data.csv", FLIPPED_ROWS) > 0
    procs, run_ids, stores = {}, {}, {}
    for name, directory, settings in plan:
        config = work / f"{name}.toml"
        if name == "flipped":
            common_here = common.replace(str(work / "taxi"), str(flipped_root))
        else:
            common_here = common
        config.write_text(settings if name == "twin" else f'output_dir = "{directory}"\n' + common_here + settings)
        procs[name] = driftline("run", "--fast", "--config", config, "--span", 3, cwd=work)
        assert procs[name].returncode == 0, procs[name].stdout + procs[name].stderr
        store = mlmd.MetadataStore(metadata.sqlite_config(work / directory / "metadata.sqlite", readonly=True))
        stores[name] = store
        run_ids[name] = metadata.pipeline_runs(store)[-1].name
    return {"procs": procs, "stores": stores, "run_ids": run_ids}
