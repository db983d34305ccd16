"""Long end-to-end jobs that need nothing from other tests: started when the tests are
collected, they run beside the rest (most tests leave one of the two cores idle), and
the test that checks one waits for it. Each gets its own scratch directory, removed at
the end of the session."""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_JOBS = {}


def start(name: str, args: list, cwd: Path):
    """`driftline ARGS --output-dir <scratch>/out` in a subprocess."""
    _start(name, lambda work: [sys.executable, "-m", "driftline", *args, "--output-dir", str(work / "out")], cwd)


def start_script(name: str, script: Path, cwd: Path):
    """`python SCRIPT <scratch>`: a job that prepares its own data; it writes <scratch>/out."""
    _start(name, lambda work: [sys.executable, str(script), str(work)], cwd)


def _start(name: str, command, cwd: Path):
    work = Path(tempfile.mkdtemp(prefix=f"driftline-{name}-"))
    out, err = open(work / "stdout.txt", "w"), open(work / "stderr.txt", "w")
    proc = subprocess.Popen(command(work), cwd=cwd, stdout=out, stderr=err, text=True)
    _JOBS[name] = {"proc": proc, "work": work, "files": (out, err)}


def wait(name: str, timeout: float):
    """(returncode, stdout, stderr, output directory) of a job started by start()."""
    job = _JOBS[name]
    job["proc"].wait(timeout=timeout)
    for f in job["files"]:
        f.close()
    return (job["proc"].returncode, (job["work"] / "stdout.txt").read_text(),
            (job["work"] / "stderr.txt").read_text(), job["work"] / "out")


def stop_all():
    for job in _JOBS.values():
        if job["proc"].poll() is None:
            job["proc"].kill()
            job["proc"].wait()
        shutil.rmtree(job["work"], ignore_errors=True)
