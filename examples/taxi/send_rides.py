"""Rides as traffic for a running `driftline serve`, and their outcomes for later.

    .venv/bin/python examples/taxi/send_rides.py CSV --outcomes FILE [--config FILE]
        [--server URL] [--limit N] [--prefix rider] [--drill-against VERSION] [--swap-fares]

Each row of CSV (a span's data file) is sent as one :classify request keyed
`PREFIX-<row>` (so a rider keeps meeting the same version), and FILE receives each
request id with the ride's outcome columns: what the taxi company sends once the tips
are known, for `driftline monitor labels FILE` or the watcher's outcomes directory.

`--drill-against VERSION` writes a drill instead of the real outcomes: each ride's label
is the answering version's own decision, turned over for the rides VERSION answered. It
shows what the rollout does with a canary that is wrong on every ride.

`--swap-fares` gives the largest fares to the shortest trips among the rides sent (and
so in their outcomes): each column's distribution is unchanged, only how fare and
distance go together is reversed, which no per-feature check can see.
"""
import argparse
import csv
import http.client
import json
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _typed(schema):
    """feature -> the Python type a :classify feature map carries for it."""
    from components.drift_gate.comparison import excluded
    from tensorflow_metadata.proto.v0 import schema_pb2

    kinds = {schema_pb2.INT: int, schema_pb2.FLOAT: float, schema_pb2.BYTES: str}
    return {f.name: kinds[f.type] for f in schema.feature if not excluded(f, "SERVING")}


def _example(row: dict, types: dict) -> dict:
    return {name: (int(float(row[name])) if kind is int else kind(row[name]))
            for name, kind in types.items() if row.get(name) not in ("", None)}


def _swap_fares(rides: list):
    def number(text):
        return float(text) if text not in ("", None) else -1.0

    fares = sorted((ride["fare"] for ride in rides), key=number, reverse=True)
    for ride, fare in zip(sorted(rides, key=lambda r: number(r["trip_miles"])), fares):
        ride["fare"] = fare


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--outcomes", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--server", help="the server's REST URL (default: the config's)")
    parser.add_argument("--limit", type=int, help="send only the first N rides")
    parser.add_argument("--prefix", default="rider", help="the request keys' prefix")
    parser.add_argument("--drill-against", type=int, metavar="VERSION")
    parser.add_argument("--swap-fares", action="store_true", help="the largest fares to the shortest trips")
    args = parser.parse_args(argv)

    from driftline.config import load_config
    from driftline.schema.check import load_schema
    from pipeline.inputs import resolve_task

    config = load_config(args.config)
    task = resolve_task(config)
    types = _typed(load_schema(config.schema_file))
    url = urlparse(args.server or config.rest_url)
    with open(args.csv, newline="") as f:
        rides = list(csv.DictReader(f))[:args.limit]
    if args.swap_fares:
        _swap_fares(rides)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    versions, written = Counter(), []
    for i, ride in enumerate(rides):
        body = json.dumps({"examples": [_example(ride, types)], "key": f"{args.prefix}-{i}"})
        connection.request("POST", f"/v1/models/{config.model_name}:classify", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read())
        if response.status != 200:
            print(f"ride {i}: HTTP {response.status}: {answer.get('error')}", file=sys.stderr)
            continue
        version = int(response.getheader("X-Model-Version"))
        versions[version] += 1
        decided = int(answer["result"][0][0][0])
        written.append((response.getheader("X-Request-Id") + "-0", ride, version, decided))
    args.outcomes.parent.mkdir(parents=True, exist_ok=True)
    with open(args.outcomes, "w", newline="") as f:
        writer = csv.writer(f)
        if args.drill_against is None:
            writer.writerow(["request_id"] + task.outcomes)
            for request_id, ride, _, _ in written:
                writer.writerow([request_id] + [ride.get(name, "") for name in task.outcomes])
        else:
            writer.writerow(["request_id", task.label_name])
            for request_id, _, version, decided in written:
                writer.writerow([request_id, 1 - decided if version == args.drill_against else decided])
    shares = ", ".join(f"{n} to version {v}" for v, n in sorted(versions.items()))
    kind = "drill outcomes (against version %d)" % args.drill_against if args.drill_against else "outcomes"
    print(f"sent {len(written)} rides ({shares}); {kind} in {args.outcomes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
