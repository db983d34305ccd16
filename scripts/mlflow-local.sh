#!/usr/bin/env bash
# `make mlflow`: a local MLflow tracking server (started once, in the background, on
# 127.0.0.1 with its SQLite store under output/mlflow/) and the export of the local runs
# and deployments into it. `make mlflow-stop` stops the server.
set -euo pipefail
VENV=${VENV:-.venv}
DIR=${MLFLOW_DIR:-output/mlflow}
PORT=${MLFLOW_PORT:-5000}
URI="http://127.0.0.1:$PORT"
answers() { "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
  "$URI/health" 2>/dev/null; }
mkdir -p "$DIR"
if ! answers; then
  where=$(cd "$DIR" && pwd)
  echo "starting MLflow on $URI (store $DIR/mlflow.db, log $DIR/server.log) ..."
  setsid "$VENV/bin/mlflow" server --backend-store-uri "sqlite:///$where/mlflow.db" \
    --artifacts-destination "$where/artifacts" --host 127.0.0.1 --port "$PORT" --workers 1 \
    >> "$DIR/server.log" 2>&1 < /dev/null &
  echo $! > "$DIR/server.pid"
  for _ in $(seq 1 360); do answers && break; sleep 0.5; done
  answers || { echo "MLflow did not start: see $DIR/server.log" >&2; exit 1; }
fi
"$VENV/bin/driftline" lineage export mlflow --tracking-uri "$URI" ${CONFIG:+--config "$CONFIG"}
echo "MLflow UI: $URI (make mlflow-stop stops the server)"
