"""`make bench`: driftline against the official TFX taxi example, on this machine.

For each scale (1x, 10x, 100x the embedded sample's rows) driftline's whole pipeline runs
cold (fresh pipeline root and MLMD) and then again with nothing changed; at 1x the
official example runs in both DirectRunner modes. Each run is a subprocess whose whole
process tree is sampled for resident memory (Beam workers included); per-component
seconds come from MLMD execution timestamps, the same source for both pipelines.

Scaling: every span of the embedded sample is resampled with replacement (seeded) to k
times its rows, so the yearly spans keep their size ratios and their distributions.
The full bench (or `--flights`) also runs the flights example (`make flights`): a real
data set of 336,776 rows, cut by `driftline init` into twelve monthly spans, trained and
judged over the whole year in one cold run.
Results: bench/results/<timestamp>.json and .md.
"""
import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"
PY = sys.executable

# driftline node -> the official example's stage it corresponds to.
STAGES = ["CsvExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform",
          "Trainer", "Evaluator", "Pusher"]


# stage_peaks' row for what runs outside any node.
OUTSIDE = "outside the nodes"


def stage_of(node: str):
    if node.startswith("CsvExampleGen"):
        return "CsvExampleGen"
    if node.startswith("StatisticsGen"):
        return "StatisticsGen"
    if node == "ModelGate":  # driftline's evaluation and blessing (TFMA's Evaluator is optional)
        return "Evaluator"
    return node if node in STAGES else None


# --- data ----------------------------------------------------------------------------------

def scaled_data(scale: int, work: Path = WORK) -> Path:
    from driftline.data.sample import prepare_spans

    base = work / "data-1"
    if not base.is_dir():
        prepare_spans(base)
    if scale == 1:
        return base
    target = work / f"data-{scale}"
    if target.is_dir():
        return target
    tmp = work / f"data-{scale}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    rng = random.Random(scale)
    for span_dir in sorted(base.glob("span-*")):
        lines = (span_dir / "data.csv").read_bytes().splitlines(keepends=True)
        header, rows = lines[0], lines[1:]
        (tmp / span_dir.name).mkdir(parents=True)
        with open(tmp / span_dir.name / "data.csv", "wb") as f:
            f.write(header)
            f.writelines(rng.choices(rows, k=len(rows) * scale))
    tmp.rename(target)
    return target


def row_count(data_root: Path) -> int:
    return sum(sum(1 for _ in open(p, "rb")) - 1 for p in sorted(data_root.glob("span-*/*.csv")))


# --- measuring one run ---------------------------------------------------------------------

def measure(cmd, env=None, cwd=ROOT, log: Path = None) -> dict:
    """Wall time, exit status and peak RSS of the whole process tree of `cmd`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak, samples = [0], []
        done = threading.Event()

        def sample():
            root = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    tree = [root] + root.children(recursive=True)
                    total = 0
                    for p in tree:
                        try:
                            total += p.memory_info().rss
                        except psutil.Error:
                            pass
                    peak[0] = max(peak[0], total)
                    samples.append((time.time(), total))
                except psutil.Error:
                    pass
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        wall = time.monotonic() - start
        done.set()
        sampler.join()
    # "samples" (epoch seconds, bytes) are for stage_peaks and are not kept in the results.
    return {"wall_s": round(wall, 2), "exit": code, "peak_rss_mb": round(peak[0] / 2**20, 1),
            "log": str(log.relative_to(ROOT)), "samples": samples}


def stage_peaks(result: dict, db: Path, pipeline_name: str) -> dict:
    """stage -> the process tree's peak RSS (MB) while that stage's executions ran (MLMD's
    start and end times against the run's memory samples); drops the samples."""
    samples = result.pop("samples", [])
    intervals = mlmd_intervals(db, pipeline_name)
    peaks = {}
    for node, (start, end) in intervals.items():
        # A node with no official counterpart (the drift gate) is its own row.
        stage = stage_of(node) or node
        during = [rss for t, rss in samples if start <= t <= end]
        if during:
            peaks[stage] = max(peaks.get(stage, 0.0), round(max(during) / 2**20, 1))
    # Start-up, between nodes and after the last one (the run's report): no node's.
    outside = [rss for t, rss in samples if not any(start <= t <= end for start, end in intervals.values())]
    if outside:
        peaks[OUTSIDE] = round(max(outside) / 2**20, 1)
    return peaks


def mlmd_intervals(db: Path, pipeline_name: str) -> dict:
    """node id -> (start, end) in epoch seconds of its execution in the newest run, from MLMD."""
    from driftline.mlmd.store import open_existing_sqlite
    from pipeline import metadata

    if not db.exists():
        return {}
    store = open_existing_sqlite(db)
    runs = metadata.pipeline_runs(store)
    if not runs:
        return {}
    executions = metadata.run_executions(store, pipeline_name, runs[-1].name)
    return {node: (e.create_time_since_epoch / 1000, e.last_update_time_since_epoch / 1000)
            for node, e in executions.items()}


def mlmd_seconds(db: Path, pipeline_name: str) -> dict:
    """node id -> seconds of its execution in the newest run, from MLMD."""
    return {node: round(end - start, 2) for node, (start, end) in mlmd_intervals(db, pipeline_name).items()}


def by_stage(seconds: dict) -> dict:
    stages = {}
    for node, s in seconds.items():
        stage = stage_of(node)
        if stage:
            stages[stage] = round(stages.get(stage, 0.0) + s, 2)
    return stages


# --- the two pipelines ---------------------------------------------------------------------

def driftline_runs(scale: int, repeats: int) -> dict:
    data = scaled_data(scale)
    rows = row_count(data)
    cold, rerun, forced = [], [], []
    for i in range(repeats):
        out = WORK / f"driftline-{scale}x-{i}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [str(ROOT / ".venv" / "bin" / "driftline"), "run", "--data-root", str(data),
               "--output-dir", str(out)]
        # rerun: `driftline run` again, which finds the inputs unchanged and starts nothing;
        # forced: `--force`, through TFX with every node cached.
        for kind, bucket, extra in (("cold", cold, []), ("rerun", rerun, []),
                                    ("forced", forced, ["--force"])):
            result = measure(cmd + extra, log=WORK / "logs" / f"driftline-{scale}x-{i}-{kind}.log")
            result["nodes"] = mlmd_seconds(out / "metadata.sqlite", "driftline")
            result["stages"] = by_stage(result["nodes"])
            result["stage_peak_mb"] = stage_peaks(result, out / "metadata.sqlite", "driftline")
            result["rows_per_s"] = round(rows / result["wall_s"], 1)
            bucket.append(result)
            print(f"  driftline {scale}x #{i + 1} {kind}: {result['wall_s']:.1f} s, "
                  f"peak {result['peak_rss_mb']:.0f} MB, exit {result['exit']}", flush=True)
    return {"rows": rows, "cold": summarize(cold), "rerun": summarize(rerun),
            "forced": summarize(forced)}


def flights_run() -> dict:
    """The flights example once, cold: `driftline init` (the download is kept from an
    earlier bench) and then `driftline run` over all twelve months."""
    work = WORK / "flights"
    shutil.rmtree(work / "nycflights13", ignore_errors=True)
    env = {**os.environ, "FLIGHTS_DIR": str(work)}
    script = ["bash", str(ROOT / "examples" / "flights" / "run.sh")]
    init = measure(script + ["--init-only"], env=env, log=WORK / "logs" / "flights-init.log")
    config = work / "nycflights13" / "driftline.toml"
    cold = measure([str(ROOT / ".venv" / "bin" / "driftline"), "run", "--config", str(config)],
                   log=WORK / "logs" / "flights-cold.log")
    db = work / "nycflights13" / "output" / "metadata.sqlite"
    cold["nodes"] = mlmd_seconds(db, "driftline")
    cold["stages"] = by_stage(cold["nodes"])
    cold["stage_peak_mb"] = stage_peaks(cold, db, "driftline")
    init.pop("samples", None)
    # Again with nothing changed: nothing starts.
    rerun = measure([str(ROOT / ".venv" / "bin" / "driftline"), "run", "--config", str(config)],
                    log=WORK / "logs" / "flights-rerun.log")
    rerun.pop("samples", None)
    rows = sum(json.loads(p.read_text())["rows"]
               for p in (work / "nycflights13" / "data").glob("span-*/PROVENANCE.json"))
    print(f"  flights: init {init['wall_s']:.1f} s, cold run {cold['wall_s']:.1f} s, "
          f"peak {cold['peak_rss_mb']:.0f} MB, exit {cold['exit']}; re-run {rerun['wall_s']:.1f} s", flush=True)
    return {"rows": rows, "init": init, "cold": cold, "rerun": rerun}


def official_runs(mode: str, repeats: int) -> dict:
    import tfx.examples.chicago_taxi_pipeline as examples

    from driftline.data.sample import embedded_source

    runs = []
    for i in range(repeats):
        home = WORK / f"official-{mode}-{i}"
        shutil.rmtree(home, ignore_errors=True)
        (home / "taxi" / "data" / "simple").mkdir(parents=True)
        shutil.copy(embedded_source(), home / "taxi" / "data" / "simple" / "data.csv")
        shutil.copy(Path(examples.__file__).parent / "taxi_utils_native_keras.py", home / "taxi")
        env = dict(os.environ, HOME=str(home), TF_USE_LEGACY_KERAS="1")
        result = measure([PY, str(ROOT / "bench" / "official.py"), mode], env=env,
                         log=WORK / "logs" / f"official-{mode}-{i}.log")
        db = home / "tfx" / "metadata" / "chicago_taxi_native_keras" / "metadata.db"
        result["nodes"] = mlmd_seconds(db, "chicago_taxi_native_keras") if db.exists() else {}
        result["stages"] = by_stage(result["nodes"])
        result["stage_peak_mb"] = stage_peaks(result, db, "chicago_taxi_native_keras")
        runs.append(result)
        print(f"  official {mode} #{i + 1}: {result['wall_s']:.1f} s, peak "
              f"{result['peak_rss_mb']:.0f} MB, exit {result['exit']}", flush=True)
    return summarize(runs)


def summarize(runs: list) -> dict:
    ok = [r for r in runs if r["exit"] == 0] or runs
    stages = {}
    for stage in STAGES:
        values = [r["stages"][stage] for r in ok if stage in r["stages"]]
        if values:
            stages[stage] = round(statistics.median(values), 2)
    return {
        "runs": runs,
        "wall_s": round(statistics.median(r["wall_s"] for r in ok), 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in ok),
        "stages": stages,
        "failed": sum(r["exit"] != 0 for r in runs),
    }


# --- report --------------------------------------------------------------------------------

def report(result: dict) -> str:
    lines = [f"# driftline benchmark, {result['started']}", "",
             f"Machine: {result['machine']}. Command: `{result['command']}`. Medians of "
             f"{result['repeats']} runs at 1x/10x, one at 100x; peak RSS of the whole process tree.", "",
             "Re-run: the same `driftline run` again (nothing changed, so nothing starts); "
             "--force: the same through TFX, every node cached.", "",
             "| pipeline | scale | rows | cold s | re-run s | re-run --force s | rows/s (cold) | peak RSS MB |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scale, d in sorted(result["driftline"].items(), key=lambda kv: int(kv[0])):
        forced = d.get("forced", {}).get("wall_s")
        peak = max(d[k]["peak_rss_mb"] for k in ("cold", "rerun", "forced") if k in d)
        lines.append(f"| driftline | {scale}x | {d['rows']:,} | {d['cold']['wall_s']:.1f} | "
                     f"{d['rerun']['wall_s']:.1f} | {'—' if forced is None else f'{forced:.1f}'} | "
                     f"{d['rows'] / d['cold']['wall_s']:,.0f} | {peak:,.0f} |")
    for mode, o in result.get("official", {}).items():
        lines.append(f"| official example ({mode}) | 1x | 15,002 | {o['wall_s']:.1f} | — | — | "
                     f"{15002 / o['wall_s']:,.0f} | {o['peak_rss_mb']:,.0f} |")
    flights = result.get("flights")
    if flights:
        cold = flights["cold"]
        rerun = flights.get("rerun", {}).get("wall_s")
        lines.append(f"| driftline, flights example | 12 monthly spans | {flights['rows']:,} | "
                     f"{cold['wall_s']:.1f} | {'—' if rerun is None else f'{rerun:.1f}'} | — | "
                     f"{flights['rows'] / cold['wall_s']:,.0f} | {cold['peak_rss_mb']:,.0f} |")
        lines += ["", f"Flights: `driftline init` took {flights['init']['wall_s']:.1f} s (peak "
                  f"{flights['init']['peak_rss_mb']:,.0f} MB); the cold run's stages: "
                  + ", ".join(f"{k} {v:g} s" for k, v in cold["stages"].items()) + "."]
    if result.get("ratio_cold_vs_best_official") is not None:
        one = result["driftline"].get("1")
        lines += ["", f"**ratio_cold_vs_best_official** = {result['ratio_cold_vs_best_official']:.2f} "
                  "(driftline cold 1x / the faster official mode; target <= 0.2)", "",
                  "Seconds per stage (MLMD execution times), driftline cold 1x vs the official example:", "",
                  "| stage | driftline | " + " | ".join(f"official {m}" for m in result["official"]) +
                  " | ratio (vs faster) |",
                  "| --- | ---: | " + " | ".join("---:" for _ in result["official"]) + " | ---: |"]
        for stage in STAGES:
            ours = one["cold"]["stages"].get(stage) if one else None
            theirs = [o["stages"].get(stage) for o in result["official"].values()]
            best = min((t for t in theirs if t), default=None)
            ratio = f"{ours / best:.2f}" if ours and best else "—"
            lines.append(f"| {stage} | {ours if ours is not None else '—'} | " +
                         " | ".join("—" if t is None else str(t) for t in theirs) + f" | {ratio} |")
    lines += stage_peak_table(result)
    lines += ["", "Targets:", "", "| target | measured | met |", "| --- | ---: | --- |"]
    for name, value, limit in targets(result):
        lines.append(f"| {name} <= {limit:g} | " + ("—" if value is None else f"{value:.2f}") +
                     " | " + ("—" if value is None else "yes" if value <= limit else "no") + " |")
    if "serving" in result:
        import serving as serving_bench

        lines += ["", "Model server (`bench/serving.py`): batch 1, load from `wrk` on loopback (a process of its own):", "",
                  serving_bench.report(result["serving"])]
    if "drift_command" in result:
        lines += ["", f"`driftline drift --baseline-span 1 --span 3` at 1x: "
                  f"{result['drift_command']['wall_s']:.1f} s (median)"]
    return "\n".join(lines) + "\n"


def stage_peak_table(result: dict) -> list:
    """Peak RSS (MB) of the process tree while each stage ran, per cold run measured."""
    columns = [(f"driftline {scale}x", d["cold"]["runs"][0].get("stage_peak_mb", {}))
               for scale, d in sorted(result["driftline"].items(), key=lambda kv: int(kv[0]))]
    if result.get("flights"):
        columns.append(("flights", result["flights"]["cold"].get("stage_peak_mb", {})))
    for mode, o in result.get("official", {}).items():
        columns.append((f"official {mode} 1x", o["runs"][0].get("stage_peak_mb", {})))
    if not any(peaks for _, peaks in columns):
        return []
    lines = ["", "Peak RSS of the whole process tree while each stage ran (MB; the first cold run "
             "of each; memory sampled every 0.2 s against MLMD's execution times):", "",
             "| stage | " + " | ".join(name for name, _ in columns) + " |",
             "| --- | " + " | ".join("---:" for _ in columns) + " |"]
    others = sorted({stage for _, peaks in columns for stage in peaks} - set(STAGES) - {OUTSIDE})
    for stage in STAGES + others + [OUTSIDE]:
        values = [peaks.get(stage) for _, peaks in columns]
        if any(v is not None for v in values):
            lines.append(f"| {stage} | " + " | ".join("—" if v is None else f"{v:,.0f}" for v in values) + " |")
    return lines


def targets(result: dict) -> list:
    """(target, measured, limit) for each target this result can judge."""
    d = result["driftline"]
    one, ten, hundred = d.get("1"), d.get("10"), d.get("100")
    rows = [("cold 1x / faster official", result.get("ratio_cold_vs_best_official"), 0.2)]
    if one:
        rows.append(("re-run 1x, s", one["rerun"]["wall_s"], 10))
    rows.append(("cold 10x / cold 1x", round(ten["cold"]["wall_s"] / one["cold"]["wall_s"], 3)
                 if one and ten else None, 1.5))
    rows.append(("100x peak RSS, MB", max(hundred["cold"]["peak_rss_mb"], hundred["rerun"]["peak_rss_mb"])
                 if hundred else None, 2048))
    drift = result.get("drift_command")
    rows.append(("`driftline drift` 1x, s", drift["wall_s"] if drift else None, 10))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement at 1x and 10x")
    parser.add_argument("--no-official", action="store_true", help="skip the official example")
    parser.add_argument("--no-serving", action="store_true", help="skip the model server benchmark")
    parser.add_argument("--flights", action="store_true",
                        help="also run the flights example (on by default when 100x is measured)")
    args = parser.parse_args(argv)

    started = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    result = {
        "started": started,
        "command": "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "repeats": args.repeats,
        "driftline": {},
    }
    def save(final=False):
        # Written after every measurement, so an interrupted bench keeps what it measured.
        RESULTS.mkdir(parents=True, exist_ok=True)
        result["complete"] = final
        (RESULTS / f"{started}.json").write_text(json.dumps(result, indent=2))
        text = report(result)
        (RESULTS / f"{started}.md").write_text(text)
        return text

    for scale in args.scales:
        repeats = 1 if scale >= 100 else args.repeats
        print(f"driftline at {scale}x ({repeats} run(s))", flush=True)
        result["driftline"][str(scale)] = driftline_runs(scale, repeats)
        save()

    if 1 in args.scales:
        data = scaled_data(1)
        drift = [measure([str(ROOT / ".venv" / "bin" / "driftline"), "drift", "--data-root", str(data),
                          "--baseline-span", "1", "--span", "3", "--output-dir", str(WORK / "drift")],
                         log=WORK / "logs" / f"drift-{i}.log") for i in range(args.repeats)]
        for run in drift:
            run.pop("samples", None)
        result["drift_command"] = {"runs": drift, "wall_s": statistics.median(r["wall_s"] for r in drift)}
        print(f"driftline drift: {result['drift_command']['wall_s']:.1f} s", flush=True)

    if 1 in args.scales and not args.no_serving:
        import serving as serving_bench

        print("model server: batch 1 at 1, 8, 32 and 128 clients (wrk), against the SavedModel in process", flush=True)
        result["serving"] = serving_bench.run(WORK / "driftline-1x-0", scaled_data(1))
        save()

    if args.flights or 100 in args.scales:
        print("flights example: driftline init, then one cold run", flush=True)
        result["flights"] = flights_run()
        save()

    if not args.no_official and 1 in args.scales:
        result["official"] = {}
        for mode in ("multi_processing", "in_memory"):
            print(f"official example, {mode}", flush=True)
            result["official"][mode] = official_runs(mode, args.repeats)
            save()
        best = min(o["wall_s"] for o in result["official"].values())
        result["ratio_cold_vs_best_official"] = round(result["driftline"]["1"]["cold"]["wall_s"] / best, 3)

    text = save(final=True)
    print(text)
    print(f"results: {RESULTS / (started + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
