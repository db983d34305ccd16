"""The median fare per mile of each span's rides longer than half a mile: how the price
of a mile moved between spans, which no single column's distribution shows.

    .venv/bin/python examples/taxi/fare_per_mile.py [DATA_ROOT]
"""
import csv
import statistics
import sys
from pathlib import Path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else Path(__file__).resolve().parents[2] / "data" / "taxi")
    for span in sorted(root.glob("span-*"), key=lambda p: int(p.name.split("-")[1])):
        with open(span / "data.csv", newline="") as f:
            rides = [r for r in csv.DictReader(f) if r["fare"] and r["trip_miles"] and float(r["trip_miles"]) > 0.5]
        per_mile = statistics.median(float(r["fare"]) / float(r["trip_miles"]) for r in rides)
        print(f"{span.name}: median fare per mile {per_mile:.2f} over {len(rides)} rides over half a mile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
