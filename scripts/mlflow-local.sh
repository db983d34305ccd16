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
  # Its own session, so that `make mlflow-stop` stops the server and its workers as one
  # process group; the pid written is the server's own.
  "$VENV/bin/python" - "$where" "$PORT" <<'PY'
import os, subprocess, sys
where, port = sys.argv[1], sys.argv[2]
with open(os.path.join(where, "server.log"), "a") as log:
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "mlflow"), "server", "--backend-store-uri",
         f"sqlite:///{where}/mlflow.db", "--artifacts-destination", f"{where}/artifacts",
         "--host", "127.0.0.1", "--port", port, "--workers", "1"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
with open(os.path.join(where, "server.pid"), "w") as pid:
    pid.write(f"{server.pid}\n")
PY
  for _ in $(seq 1 360); do answers && break; sleep 0.5; done
  answers || { echo "MLflow did not start: see $DIR/server.log" >&2; exit 1; }
fi
"$VENV/bin/driftline" lineage export mlflow --tracking-uri "$URI" ${CONFIG:+--config "$CONFIG"}
echo "MLflow UI: $URI (make mlflow-stop stops the server)"
