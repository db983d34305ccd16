"""Where a cold run's time goes, node by node: `make profile`.

    python bench/profile_nodes.py [--output-dir DIR] [--top N] [--dump-dir DIR]

Runs one cold `driftline run` at 1× in this process under cProfile: one profile for
the start-up (from the command's start to the first node) and one per node (each
LocalDagRunner launch, which runs the node's executor in this process). For each it
reports the wall seconds and, from the profile, the cumulative seconds of the parts
that the issue asks about:

- imports: module loading (`_find_and_load`, outermost calls only);
- tracing: building TensorFlow graphs from Python (`func_graph_from_py_func`, and the
  TF1 `tf.Graph` work tf.Transform does under `force_tf_compat_v1`);
- Beam, build: constructing Beam pipelines (`Pipeline.apply`);
- Beam, run: executing them (`fn_runner.run_stages`), which holds the work itself
  for Beam nodes;
- SavedModel save and load (TF2 and TF1 loaders and builders);
- and the functions with the most time of their own.

The parts overlap (an import can happen inside a Beam stage), so they do not add up to
the node's seconds; "other" is what none of them covers. cProfile sees Python frames of
the thread that runs the node: time in TensorFlow's C++ threads counts towards the
Python call that waited for it. Profiling slows Python-heavy code; compare nodes with
each other, and take absolute seconds from `make bench`.

Writes bench/results/profile-<timestamp>.{json,md}.
"""
import argparse
import cProfile
import json
import pstats
import shutil
import sys
import time
from pathlib import Path

START = time.monotonic()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
RESULTS = ROOT / "bench" / "results"

# part -> (file suffix, function name) whose cumulative time is that part.
PARTS = {
    "imports": [("<frozen importlib._bootstrap>", "_find_and_load")],
    "tracing": [("func_graph.py", "func_graph_from_py_func"),
                ("tensorflow_transform/impl_helper.py", "trace_preprocessing_function"),
                ("tensorflow_transform/schema_inference.py", "infer_feature_schema")],
    "Beam, build": [("apache_beam/pipeline.py", "apply")],
    "Beam, run": [("fn_api_runner/fn_runner.py", "run_stages")],
    "SavedModel save": [("saved_model/save.py", "save"), ("saved_model/builder_impl.py", "save")],
    "SavedModel load": [("saved_model/load.py", "load"), ("saved_model/loader_impl.py", "load")],
}


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    total = 0.0
    for (filename, _, function), (_, _, _, cumtime, _) in stats.stats.items():
        if function == name and filename.endswith(suffix):
            total += cumtime
    return total


def _own(stats: pstats.Stats, top: int) -> list:
    rows = sorted(((tottime, f"{Path(filename).name}:{line}({function})")
                   for (filename, line, function), (_, _, tottime, _, _) in stats.stats.items()),
                  reverse=True)[:top]
    return [{"function": where, "seconds": round(seconds, 2)} for seconds, where in rows]


def breakdown(profile: cProfile.Profile, seconds: float, top: int) -> dict:
    stats = pstats.Stats(profile)
    parts = {part: round(sum(_cumulative(stats, s, n) for s, n in markers), 2)
             for part, markers in PARTS.items()}
    return {"seconds": round(seconds, 2), "parts": parts, "own_time": _own(stats, top)}


def profile_run(output_dir: Path, data_root: Path, top: int, dump_dir: Path = None) -> dict:
    from tfx.orchestration.portable import launcher

    from driftline.run import run as pipeline_run
    from pipeline.config import load_config

    result = {"nodes": {}}
    startup = cProfile.Profile()
    startup.enable()
    state = {"startup_open": True, "first_node_at": None}
    original = launcher.Launcher.launch

    def launch(self):
        node = self._pipeline_node.node_info.id
        if state["startup_open"]:
            startup.disable()
            state["startup_open"] = False
            state["first_node_at"] = time.monotonic()
        profile = cProfile.Profile()
        began = time.monotonic()
        profile.enable()
        try:
            return original(self)
        finally:
            profile.disable()
            result["nodes"][node] = breakdown(profile, time.monotonic() - began, top)
            if dump_dir is not None:
                profile.dump_stats(str(dump_dir / f"{node}.prof"))

    launcher.Launcher.launch = launch
    config = load_config(overrides={"data_root": data_root, "output_dir": output_dir})
    began = time.monotonic()
    try:
        pipeline_run.run(config, force=True)
    finally:
        launcher.Launcher.launch = original
        if state["startup_open"]:
            startup.disable()
    ended = time.monotonic()
    first = state["first_node_at"] or ended
    # Start-up: this interpreter's own start and imports before `run` was called (not
    # profiled), then `run` up to the first node.
    result["startup"] = breakdown(startup, first - began, top)
    result["startup"]["before_run_seconds"] = round(began - START, 2)
    result["wall_seconds"] = round(ended - START, 2)
    result["after_last_node_seconds"] = round(
        ended - first - sum(n["seconds"] for n in result["nodes"].values()), 2)
    return result


def report(result: dict) -> str:
    parts = list(PARTS)
    lines = [f"Cold 1× run under cProfile: {result['wall_seconds']} s wall "
             f"(interpreter and imports before the run: {result['startup']['before_run_seconds']} s; "
             f"after the last node: {result['after_last_node_seconds']} s).", "",
             "| node | s | " + " | ".join(parts) + " | most own time |",
             "| --- | ---: | " + " | ".join("---:" for _ in parts) + " | --- |"]
    rows = [("start-up (run → first node)", result["startup"])] + list(result["nodes"].items())
    for name, found in rows:
        cells = [f"{found['parts'][p]:.1f}" if found["parts"][p] >= 0.05 else "" for p in parts]
        own = ", ".join(f"{o['function']} {o['seconds']:.1f}" for o in found["own_time"][:2])
        lines.append(f"| {name} | {found['seconds']:.1f} | " + " | ".join(cells) + f" | {own} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "work" / "profile")
    parser.add_argument("--top", type=int, default=5, help="functions listed by own time, per node")
    parser.add_argument("--dump-dir", type=Path,
                        help="also write each node's whole profile there (<node>.prof, for pstats)")
    args = parser.parse_args(argv)
    if args.dump_dir is not None:
        args.dump_dir.mkdir(parents=True, exist_ok=True)
    from run import scaled_data  # bench/run.py: the same 1× data as `make bench`

    shutil.rmtree(args.output_dir, ignore_errors=True)
    result = profile_run(args.output_dir, scaled_data(1), args.top, args.dump_dir)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"profile-{stamp}.json").write_text(json.dumps(result, indent=2))
    text = report(result)
    (RESULTS / f"profile-{stamp}.md").write_text(text)
    print(text, end="")
    print(f"written: bench/results/profile-{stamp}.{{json,md}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
