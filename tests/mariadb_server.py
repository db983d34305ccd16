"""A private MariaDB server (Debian's mariadb-server) for the tests that put MLMD on
MySQL: its own data directory and socket under a temporary directory, a free port on
127.0.0.1, a user with a password for TCP connections, stopped at the end."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from system_programs import require_program

USER, PASSWORD, DATABASE = "driftline", "driftline-test", "metadb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDB:
    def __init__(self, directory: Path):
        self.server = require_program("mariadbd", "mariadb-server")
        self.install = require_program("mariadb-install-db", "mariadb-server")
        self.client = require_program("mariadb", "mariadb-client")
        self.directory, self.port = directory, _free_port()
        self.socket = directory / "mysqld.sock"
        self.proc = None

    def start(self, timeout: float = 60.0):
        data = self.directory / "data"
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run([self.install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                        "--skip-test-db", *as_root], check=True, capture_output=True, timeout=120)
        self._serve(timeout)
        self.sql(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; "
                 f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'; CREATE DATABASE {DATABASE};", check=True)
        return self

    def restart(self, timeout: float = 60.0):
        """The same server again, on its data directory and port, after stop()."""
        self._serve(timeout)
        return self

    def _serve(self, timeout):
        data = self.directory / "data"
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        self.log = open(self.directory / "server.log", "a")
        self.proc = subprocess.Popen(
            [self.server, "--no-defaults", f"--datadir={data}", f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--socket={self.socket}", f"--pid-file={self.directory / 'mysqld.pid'}", "--skip-log-bin",
             "--innodb-buffer-pool-size=64M", *as_root],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {(self.directory / 'server.log').read_text()[-2000:]}")
            if self.socket.exists() and self.sql("SELECT 1").returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("mariadbd did not answer in time")

    def sql(self, statement: str, check: bool = False):
        return subprocess.run([self.client, f"--socket={self.socket}", "-u", "root", "-e", statement],
                              capture_output=True, text=True, timeout=30, check=check)

    def settings(self) -> str:
        """The [metadata] section of a driftline config that uses this server."""
        return (f'[metadata]\nmysql_host = "127.0.0.1"\nmysql_port = {self.port}\n'
                f'mysql_user = "{USER}"\nmysql_database = "{DATABASE}"\n')

    def env(self) -> dict:
        return {**os.environ, "DRIFTLINE_MYSQL_PASSWORD": PASSWORD}

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
            self.proc = None
