"""Long end-to-end jobs that need nothing from other tests: started when the tests are
collected, they run beside the rest, and the test that checks one waits for it.

The suite runs on pytest-xdist workers, each of which collects every test, so a job is
started once per test run by whichever process claims its directory first (an atomic
mkdir under a directory named for the run), and any worker's test can wait for it: the
job writes its exit code to a file when it ends, and the wait is for that file. The
controlling process (or a run without workers) stops what is still running and removes
the directories at the end.
"""
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

RUN = "DRIFTLINE_TEST_RUN"  # set by the controlling process, inherited by its workers


def name_the_run():
    """Called first in the controlling process, before any worker starts."""
    os.environ.setdefault(RUN, uuid.uuid4().hex)


def _directory() -> Path:
    """This test run's job directory, the same in every worker of the run."""
    return Path(tempfile.gettempdir()) / f"driftline-jobs-{os.environ[RUN]}"


def _root() -> Path:
    root = _directory()
    root.mkdir(exist_ok=True)
    return root


def start(name: str, args: list, cwd: Path):
    """`driftline ARGS --output-dir <job dir>/out` in a subprocess."""
    _start(name, lambda work: [sys.executable, "-m", "driftline", *args, "--output-dir", str(work / "out")], cwd)


def start_script(name: str, script: Path, cwd: Path):
    """`python SCRIPT <job dir>`: a job that prepares its own data; it writes <job dir>/out."""
    _start(name, lambda work: [sys.executable, str(script), str(work)], cwd)


def _start(name: str, command, cwd: Path):
    work = _root() / name
    try:
        work.mkdir()
    except FileExistsError:  # another worker of this run started it
        return
    # The exit code lands in `rc` only once the job has ended (written aside, then renamed).
    shell = (f"{shlex.join(command(work))} > {shlex.quote(str(work / 'stdout.txt'))} "
             f"2> {shlex.quote(str(work / 'stderr.txt'))}; echo $? > {shlex.quote(str(work / 'rc.tmp'))}; "
             f"mv {shlex.quote(str(work / 'rc.tmp'))} {shlex.quote(str(work / 'rc'))}")
    proc = subprocess.Popen(["sh", "-c", shell], cwd=cwd, start_new_session=True)
    (work / "pid").write_text(str(proc.pid))


def wait(name: str, timeout: float):
    """(returncode, stdout, stderr, output directory) of a job started by start()."""
    work = _root() / name
    deadline = time.monotonic() + timeout
    while not (work / "rc").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the background job {name!r} did not end within {timeout:.0f} s ({work})")
        time.sleep(0.5)
    return (int((work / "rc").read_text()), (work / "stdout.txt").read_text(),
            (work / "stderr.txt").read_text(), work / "out")


def stop_all():
    """Stops the jobs still running and removes their directories (the controlling
    process's last step)."""
    if RUN not in os.environ:
        return
    root = _directory()
    if not root.exists():
        return
    for pid_file in root.glob("*/pid"):
        if not (pid_file.parent / "rc").exists():
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError, PermissionError):
                pass
    shutil.rmtree(root, ignore_errors=True)
