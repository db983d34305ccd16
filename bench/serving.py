"""The model server's latency and throughput against the same SavedModel called in process.

    python bench/serving.py --output-dir DIR [--seconds 8]

DIR is a driftline output directory with a pushed model. For batch 1 (one example per
request) and 1, 8, 32 and 128 concurrent clients on loopback, it measures p50/p99 latency,
throughput and failed requests of `driftline serve` with server-side batching (the
default), without it, and with a shadow version scoring every request (a copy of the
served model), and the same SavedModel's signature called in this process, one example
at a time (the latency limit) and 64 at a time (the throughput limit). The load comes
from Debian's `wrk` (one C thread, keep-alive connections), a process of its own; on a
small machine it still shares the cores with the server.
"""
import argparse
import base64
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

CLIENTS = (1, 8, 32, 128)


def _examples(data_root: Path, n: int = 256):
    from e2e_helpers import raw_example

    with open(sorted(data_root.glob("span-*/data.csv"))[-1]) as f:
        rows = list(csv.DictReader(f))[:n]
    return [raw_example(row).SerializeToString() for row in rows]


def _summary(latencies, seconds):
    latencies = sorted(latencies)
    return {"requests": len(latencies), "p50_ms": round(1000 * statistics.median(latencies), 3),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 3),
            "throughput_rps": round(len(latencies) / seconds, 1)}


def in_process(model_dir: Path, examples, seconds: float) -> dict:
    import tensorflow as tf

    signature = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    result = {}
    for batch in (1, 64):
        signature(examples=tf.constant(examples[:batch]))  # traced and warm
        latencies, start, i = [], time.monotonic(), 0
        while time.monotonic() - start < seconds:
            chunk = [examples[(i + j) % len(examples)] for j in range(batch)]
            t = time.monotonic()
            signature(examples=tf.constant(chunk))
            latencies.append(time.monotonic() - t)
            i += batch
        found = _summary(latencies, time.monotonic() - start)
        found["examples_per_s"] = round(found["throughput_rps"] * batch, 1)
        result[f"batch_{batch}"] = found
    return result


def _shadowed(server, config: Path, model_dir: Path) -> Path:
    """A copy of the served model, one version number below it, set to shadow every
    request: a shadow that costs what the served model costs."""
    import shutil
    import subprocess

    copy = model_dir.with_name(str(int(model_dir.name) - 1))
    shutil.copytree(model_dir, copy)
    server.wait(versions=2)
    proc = subprocess.run([sys.executable, "-m", "driftline", "rollout", "shadow", "--version", copy.name,
                           "--percent", "100", "--config", str(config), "--server", server.url,
                           "--reason", "bench: a shadow on every request"],
                          capture_output=True, text=True, cwd=config.parent)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout + proc.stderr)
    return copy


# wrk's summary as one JSON line: latencies in microseconds; every error kind counted.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BENCH_BODY"), "r")
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"failed": %d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk(port: int, path: str, body: bytes, clients: int, seconds: float) -> dict:
    """One wrk run: p50/p99 and throughput of the answered requests, and how many failed
    (a non-2xx status, a timeout or a socket error)."""
    import os
    import shutil
    import subprocess
    import tempfile

    if shutil.which("wrk") is None:
        raise RuntimeError("the server benchmark needs Debian's wrk: apt-get install wrk "
                           "(scripts/system-packages.sh installs it as root)")
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "body.json").write_bytes(body)
        (Path(scratch) / "post.lua").write_text(WRK_SCRIPT)
        proc = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "5s",
                               "-s", str(Path(scratch) / "post.lua"), f"http://127.0.0.1:{port}{path}"],
                              capture_output=True, text=True, env={**os.environ, "BENCH_BODY": str(Path(scratch) / "body.json")})
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {proc.stderr.strip() or proc.stdout.strip()}")
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"requests": found["requests"], "p50_ms": round(found["p50_us"] / 1000, 3),
            "p99_ms": round(found["p99_us"] / 1000, 3),
            "throughput_rps": round(found["requests"] / (found["duration_us"] / 1e6), 1),
            "failed": found["failed"]}


def through_server(config: Path, examples, seconds: float, batching: bool, shadow_of: Path = None) -> dict:
    """`shadow_of`: the served model's directory, to shadow every request with a copy of it."""
    import shutil

    from serving_helpers import Served

    name = "-shadow" if shadow_of else "-batching" if batching else "-plain"
    extra_config = config.with_name(config.stem + name + ".toml")
    extra_config.write_text(config.read_text() + "\n[serving]\n" + f"batching = {str(batching).lower()}\n")
    server = Served(extra_config, config.parent)
    copy = None
    try:
        server.wait(versions=1)
        if shadow_of is not None:
            copy = _shadowed(server, extra_config, shadow_of)
        # One example per request: the first of the span, as a client sends it.
        body = json.dumps({"instances": [{"b64": base64.b64encode(examples[0]).decode()}]}).encode()
        path = "/v1/models/taxi_big_tipper:predict"
        found = {}
        for clients in CLIENTS:
            wrk(server.rest_port, path, body, clients, 1)  # connections open, everything warm
            found[f"clients_{clients}"] = wrk(server.rest_port, path, body, clients, seconds)
        return found
    finally:
        server.stop()
        if copy is not None:
            from driftline.serving import policy as policies

            serving = copy.parent
            policy = policies.read(serving)
            policies.write(serving, policy.changed("unshadow", "bench done", shadow=None, shadow_percent=0.0))
            shutil.rmtree(copy)


def run(output_dir: Path, data_root: Path, seconds: float = 8.0) -> dict:
    serving = output_dir / "serving" / "taxi_big_tipper"
    model_dir = max((p for p in serving.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    examples = _examples(data_root)
    config = output_dir / "bench-serve.toml"
    config.write_text(f'output_dir = "{output_dir}"\ndata_root = "{data_root}"\n')
    result = {"model": str(model_dir), "in_process": in_process(model_dir, examples, seconds)}
    for batching in (True, False):
        result["server" if batching else "server_unbatched"] = through_server(config, examples, seconds, batching)
    result["server_shadow"] = through_server(config, examples, seconds, True, shadow_of=model_dir)
    limit = result["in_process"]
    one, many = result["server"]["clients_1"], result["server"]["clients_32"]
    result["targets"] = {
        "p50 at 1 client minus in-process p50 (ms, target <= 1)":
            round(one["p50_ms"] - limit["batch_1"]["p50_ms"], 3),
        "requests/s at 32 clients (target >= 3,000)": many["throughput_rps"],
        "p99 at 32 clients (ms, target <= 25)": many["p99_ms"],
        "requests/s at 32 clients, batching / without (target > 1)":
            round(many["throughput_rps"] / result["server_unbatched"]["clients_32"]["throughput_rps"], 2),
        "p99 at 1 client with a shadow on every request minus without (ms)":
            round(result["server_shadow"]["clients_1"]["p99_ms"] - one["p99_ms"], 3),
    }
    return result


def report(result: dict) -> str:
    lines = ["| path | clients | requests | p50 ms | p99 ms | requests/s | failed |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in ("batch_1", "batch_64"):
        r = result["in_process"][name]
        lines.append(f"| SavedModel in process, {name.replace('_', ' ')} | 1 | {r['requests']} | {r['p50_ms']} | "
                     f"{r['p99_ms']} | {r['throughput_rps']} ({r['examples_per_s']} examples/s) | — |")
    for key, label in (("server", "driftline serve (batching)"), ("server_unbatched", "driftline serve, batching off"),
                       ("server_shadow", "driftline serve, a shadow on every request")):
        for clients, r in result[key].items():
            lines.append(f"| {label} | {clients.split('_')[1]} | {r['requests']} | {r['p50_ms']} | {r['p99_ms']} | "
                         f"{r['throughput_rps']} | {r['failed']} |")
    lines += ["", "| target | measured |", "| --- | ---: |"]
    lines += [f"| {name} | {value} |" for name, value in result["targets"].items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--data-root", type=Path, default=ROOT / "data" / "taxi")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    result = run(args.output_dir.resolve(), args.data_root.resolve(), args.seconds)
    print(json.dumps(result, indent=2))
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
