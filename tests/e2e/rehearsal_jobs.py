"""Rehearsals run one after the other in one interpreter (a spawned process), which pays
for importing TensorFlow once; used by test_kubeflow_rehearsal.py."""


def run(jobs):
    """jobs: [(config path, spec path, workdir)] -> [[(task, state, message)]]."""
    from driftline.kubeflow import rehearsal as rehearsal
    from pipeline.config import load_config

    results = []
    for config_path, spec_path, workdir in jobs:
        config = load_config(config_path)
        runner = rehearsal.for_config(config, rehearsal.load_spec(spec_path), workdir, "fork")
        results.append([(r.name, r.state, r.message) for r in runner.run()])
    return results
