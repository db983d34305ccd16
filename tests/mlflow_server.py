"""A real `mlflow server` for the export tests: its own SQLite store and artifact
directory under a temporary directory, a free port on 127.0.0.1, stopped at the end."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from driftline.autopilot.replay import free_port
from driftline.errors import TrackerUnavailable
from driftline.tracking.mlflow_export import check_reachable


class MlflowServer:
    def __init__(self, directory: Path):
        self.directory, self.port = directory, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout: float = 180.0):
        return self.launch().wait(timeout)

    def launch(self):
        """Starts it (again, on the same store and port, after stop()) without waiting."""
        mlflow = Path(sys.executable).parent / "mlflow"
        with open(self.directory / "server.log", "a") as log:
            self.proc = subprocess.Popen(
                [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{self.directory / 'mlflow.db'}",
                 "--artifacts-destination", str(self.directory / "artifacts"), "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self, timeout: float = 180.0):
        """Returns once the server answers its health check."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"mlflow server exited {self.proc.returncode}: "
                                     f"{(self.directory / 'server.log').read_text()[-2000:]}")
            try:
                check_reachable(self.url, timeout=2)  # the health check every export makes first
                return self
            except TrackerUnavailable:
                pass
            time.sleep(0.25)
        self.stop()
        raise AssertionError(f"mlflow server did not answer {self.url}/health within {timeout:g} s")

    def stop(self):
        """Stops the server and its workers; returns once they are gone."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)
