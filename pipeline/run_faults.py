"""Faults from outside the pipeline's code that stop a run: the disk under the output
directory fills up, or the MLMD store stops answering. Each is told in one line naming
the place and what to do; the raw error stays in the log. What a run that hit one
could not close in MLMD is kept in a small file and closed by the next run."""
import errno
import json
import shutil
from pathlib import Path
from typing import Optional

from pipeline import metadata

_DISK_FULL = ("no space left on device", "database or disk is full", "disk quota exceeded",
              "errno 28", "[errno 122]", "out of disk space")
_NEARLY_FULL = 1024 * 1024  # bytes free under the output directory
_STORE_GONE = ("mysql_real_connect failed", "failed to establish connection to metadata storage",
               "mysql server has gone away", "lost connection to mysql server",
               "can't connect to mysql server")


def _chain(exc: BaseException):
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _full_disk_path(chain, text: str, config) -> Optional[Path]:
    for exc in chain:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return Path(exc.filename) if exc.filename else Path(config.output_dir)
    if any(marker in text for marker in _DISK_FULL):
        return Path(config.output_dir)
    # SQLite rolls a transaction back when the disk fills and then reports only that the
    # COMMIT had no transaction: what is left free says what happened.
    try:
        if shutil.disk_usage(config.output_dir).free < _NEARLY_FULL:
            return Path(config.output_dir)
    except OSError:
        pass
    return None


def describe(exc: BaseException, config, node: Optional[str]) -> Optional[str]:
    """One line for a fault of the machine rather than of the data or the code, or None."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    during = f"during {node}" if node else "while the pipeline ran"
    again = "then run the same command again: what finished is reused"
    full = _full_disk_path(chain, text, config)
    if full is not None:
        try:
            free = f"{_size(shutil.disk_usage(config.output_dir).free)} free now"
        except OSError:
            free = "free space unknown"
        return (f"no space left on the device holding {full} ({free}) {during}; nothing was "
                f"pushed from this run. Free some space or set another output_dir, {again}")
    if config.metadata.mysql_host and (any(m in text for m in _STORE_GONE)
                                       or metadata.mysql_unreachable(config, timeout=5)):
        return (f"the MLMD store {config.metadata_label} stopped answering {during}, so what that "
                f"node did was not recorded and nothing was pushed from this run. Start the MySQL "
                f"server again, {again}")
    return None


def _pending_dir(config) -> Path:
    return Path(config.output_dir) / "logs" / "unclosed-runs"


def remember_unclosed(config, run_id: str, canceled: bool, reason: str, stopped=()) -> bool:
    """Keeps what a run could not close in MLMD (its store was gone, its disk full), for
    the next run to close. Returns whether it could be kept."""
    try:
        directory = _pending_dir(config)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{run_id.replace(':', '-')}.json").write_text(
            json.dumps({"run_id": run_id, "canceled": canceled, "reason": reason,
                        "stopped": list(stopped)}))
        return True
    except OSError:
        return False


def close_remembered(config, store) -> dict:
    """Closes, in MLMD, what earlier runs of this output directory could not; returns
    {run id: [nodes closed]}. A file is removed only once its run is closed."""
    directory = _pending_dir(config)
    closed = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            pending = json.loads(path.read_text())
            run_id = pending["run_id"]
        except (OSError, ValueError, KeyError):
            continue  # not ours to interpret; left for a person to read
        if store.get_context_by_type_and_name(metadata.RUN_CONTEXT, run_id) is not None:
            closed[run_id] = metadata.close_unfinished(
                store, config.pipeline_name, run_id, pending["canceled"],
                f"{pending['reason']} (closed by the next run: MLMD could not be written then)",
                pending.get("stopped", ()))
        path.unlink()  # a run MLMD never recorded has nothing to close
    return closed
