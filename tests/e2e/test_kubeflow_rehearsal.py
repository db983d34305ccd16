"""`driftline kubeflow rehearse`: the compiled KFP v2 spec run task by task on this machine.

Tasks run with --isolation fork (the same module and arguments as the container, in a
child of a process that already imported TensorFlow) to keep the suite's time; `make
kubeflow-rehearse` runs each task as a fresh process."""
import glob
import json
import shutil

import pytest
import tensorflow as tf
import yaml

from e2e_helpers import PIPELINE  # noqa: F401 - the e2e modules share their helpers' path


def _config(work, span, data_root):
    path = work / f"kubeflow-{span}.toml"
    path.write_text(f'span = {span}\nwindow = 1\ndata_root = "{data_root}"\n'
                    # What --fast sets, written out: the compiled spec carries the config.
                    '[training]\ntrain_steps = 50\neval_steps = 10\nhidden_units = [16]\n'
                    'learning_rate = 0.003\nl2 = 0.0\n'
                    '[evaluation]\nmin_auc = 0.0\nmin_f1 = 0.0\nbeat_constant = false\n'
                    '[kubeflow]\nimage = "registry.example.com/driftline:test"\n'
                    'pipeline_root = "gs://rehearsal-bucket/root"\n'
                    'data_root = "gs://rehearsal-bucket/taxi"\n'
                    'serving_dir = "gs://rehearsal-bucket/serving"\n'
                    'beam_args = ["--direct_running_mode=in_memory"]\n')
    return path


def _rehearse(driftline, work, config, *extra):
    return driftline("kubeflow", "rehearse", "--config", config, "--workdir", work / "rehearsal",
                     "--isolation", "fork", *extra, cwd=work, timeout=900)


def _states(proc):
    states = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in ("complete", "resolved", "skipped", "failed"):
            states[parts[0]] = parts[1]
    return states


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory, small_spans, driftline):
    """The compiled spec of span 3 rehearsed, then copies of the spec broken one way each,
    then span 4 drifted: one after the other in one process (rehearsal_jobs.py)."""
    from pipeline import kubeflow_runner
    from pipeline.config import load_config

    work = tmp_path_factory.mktemp("rehearsal")
    data = work / "taxi"
    shutil.copytree(small_spans, data)
    config = _config(work, 3, data)
    spec = kubeflow_runner.compile_spec(load_config(config), work / "spec.yaml")
    found = {"work": work, "config": config, "spec": spec, "data": data}

    bad = (data / "span-3" / "data.csv").read_text().replace(",Cash,", ",Bitcoin,")
    (data / "span-4").mkdir(exist_ok=True)
    (data / "span-4" / "data.csv").write_text(bad)
    drifted = _config(work, 4, data)
    drifted_spec = kubeflow_runner.compile_spec(load_config(drifted), work / "drifted.yaml")
    jobs = {"first": (config, spec, work / "rehearsal")}
    jobs.update({name: (config, _broken_copy(found, name, edit), work / "rehearsal")
                 for name, edit in BREAKS.items()})
    jobs["drifted"] = (drifted, drifted_spec, work / "rehearsal")
    import multiprocessing

    import rehearsal_jobs

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        results = pool.apply(rehearsal_jobs.run, ([tuple(map(str, job)) for job in jobs.values()],))
    found["jobs"] = {name: {task: (state, message) for task, state, message in result}
                     for name, result in zip(jobs, results)}

    return found


def test_every_task_runs_and_the_pushed_model_answers(rehearsed, small_spans):
    tasks = rehearsed["jobs"]["first"]
    spec = yaml.safe_load(rehearsed["spec"].read_text())
    assert set(tasks) == set(spec["root"]["dag"]["tasks"])  # every task, each with a state
    assert {state for name, (state, _) in tasks.items() if "resolver" not in name} == {"complete"}
    pushed = glob.glob(str(rehearsed["work"] / "rehearsal" / "buckets" / "gs" / "rehearsal-bucket" /
                           "serving" / "taxi_big_tipper" / "*"))
    assert len(pushed) == 1

    from test_pipeline import _raw_examples

    serve = tf.saved_model.load(pushed[0]).signatures["serving_default"]
    examples = _raw_examples(small_spans, 3, 8)
    out = serve(examples=tf.constant([e.SerializeToString() for e in examples]))
    probabilities = out["probabilities"].numpy().reshape(-1)
    assert probabilities.shape == (8,) and ((probabilities >= 0) & (probabilities <= 1)).all()


def test_the_judge_task_writes_an_evaluation_tfma_loads(rehearsed):
    """The chain's evaluation on Kubeflow: the ModelGate task declares TFX's
    ModelEvaluation output, and what the rehearsal wrote there loads in TFMA."""
    import os

    import tensorflow_model_analysis as tfma

    spec = yaml.safe_load(rehearsed["spec"].read_text())
    output = spec["components"]["ModelGate"]["outputDefinitions"]["artifacts"]["evaluation"]
    assert "tfx.ModelEvaluation" in output["artifactType"]["instanceSchema"]
    found = [p for p in glob.glob(str(rehearsed["work"] / "rehearsal" / "**" / "eval_config.json"), recursive=True)
             if "ModelGate" in p]
    assert found, "the rehearsal wrote no ModelGate evaluation"
    overall = dict(tfma.load_eval_result(os.path.dirname(found[0])).slicing_metrics)[()][""][""]
    assert overall["example_count"]["doubleValue"] > 0 and "auc" in overall


def _broken_copy(rehearsed, name, edit):
    spec = yaml.safe_load(rehearsed["spec"].read_text())
    edit(spec)
    path = rehearsed["work"] / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _break_import_path(spec):
    parameters = spec["root"]["dag"]["tasks"]["Transform"]["inputs"]["parameters"]
    value = parameters["preprocessing_fn"]["runtimeValue"]["constantValue"]
    value["stringValue"] = value["stringValue"].replace(".preprocessing.", ".preprocess.")


def _break_executor_class(spec):
    executor = spec["deploymentSpec"]["executors"]["CsvExampleGen_span3_executor"]["container"]
    index = executor["args"].index("--executor_class_path") + 1
    executor["args"][index] += "Typo"


def _break_artifact_type(spec):
    output = spec["components"]["StatisticsGen"]["outputDefinitions"]["artifacts"]["statistics"]
    output["artifactType"]["instanceSchema"] = output["artifactType"]["instanceSchema"].replace(
        "tfx.ExampleStatistics", "tfx.ExampleStatistic")


BREAKS = {"import path": _break_import_path, "executor class": _break_executor_class,
          "artifact type": _break_artifact_type}


def test_a_second_rehearsal_finds_the_first_ones_blessed_model(rehearsed):
    """KFP resolves the serving model by the name its blessing records: the ModelGate's
    blessing must name it as TFX's Evaluator does (the entrypoint only does it for
    Evaluator executors). This rehearsal stops early: its Transform is broken."""
    tasks = rehearsed["jobs"]["import path"]
    registry = json.loads((rehearsed["work"] / "rehearsal" / "registry.json").read_text())
    first_model = next(a["name"] for a in registry if a["name"].endswith("/Trainer/model"))
    assert tasks["baseline_model_resolver-model-resolver"] == ("resolved", f"model: {first_model}")


@pytest.mark.parametrize("broken, task, says", [
    ("import path", "Transform", "components.model.preprocess"),
    ("executor class", "CsvExampleGen_span3", "ExecutorTypo"),
    ("artifact type", "StatisticsGen", "tfx.ExampleStatistic"),
])
def test_a_broken_spec_fails_and_names_the_task(rehearsed, broken, task, says):
    tasks = rehearsed["jobs"][broken]
    failed = [name for name, (state, _) in tasks.items() if state == "failed"]
    assert failed == [task], tasks
    assert says in tasks[task][1]


def test_the_cli_says_which_task_failed(rehearsed, driftline):
    """A task whose container is not a Python entrypoint fails before anything runs."""
    def shell_command(spec):
        executor = spec["deploymentSpec"]["executors"]["CsvExampleGen_span3_executor"]["container"]
        executor["command"] = ["sh", "-c", "echo hello"]
        executor.pop("lifecycle", None)

    proc = _rehearse(driftline, rehearsed["work"], rehearsed["config"], "--spec",
                     _broken_copy(rehearsed, "shell", shell_command))
    assert proc.returncode == 1
    assert ("driftline: task CsvExampleGen_span3 failed: command ['sh', '-c', 'echo hello'] is not "
            "`python -m MODULE`") in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "  CsvExampleGen_span3                              failed" in proc.stdout


def test_the_gate_condition_skips_training_on_a_drifted_span(rehearsed):
    tasks = rehearsed["jobs"]["drifted"]
    assert "DriftGate" in tasks, tasks
    assert tasks["DriftGate"][0] == "complete"
    for task in ("Transform", "Trainer", "ModelGate", "Pusher"):
        assert tasks[task][0] == "skipped", (task, tasks[task])
