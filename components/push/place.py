"""Putting a directory in place in one step: copy it beside its destination under a
hidden name, then rename. Kept free of TFX so that the fault tests can kill it cheaply
at any point (tests/integration/test_atomic_push.py)."""
import hashlib
import os
import shutil
from typing import Optional

PARTIAL_PREFIX = ".partial-"


def remove_partial_copies(base_directory: str):
    """What pushes killed before their rename left behind."""
    if not os.path.isdir(base_directory):
        return
    for name in os.listdir(base_directory):
        if name.startswith(PARTIAL_PREFIX):
            shutil.rmtree(os.path.join(base_directory, name), ignore_errors=True)


def put_in_place(source: str, base_directory: str, version: str) -> str:
    """Copies `source` to `<base>/<version>` through a hidden directory and one rename;
    returns the version's path. An existing version is never overwritten."""
    os.makedirs(base_directory, exist_ok=True)
    remove_partial_copies(base_directory)
    final = os.path.join(base_directory, version)
    if os.path.exists(final):
        raise FileExistsError(f"{final} already exists: a pushed version is never overwritten")
    partial = os.path.join(base_directory, f"{PARTIAL_PREFIX}{version}-{os.getpid()}")
    shutil.copytree(source, partial)
    os.rename(partial, final)
    return final


def _digest(directory: str) -> str:
    """Every file's relative path and bytes, as one hash."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, directory).encode() + b"\0")
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def _size(directory: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, files in os.walk(directory)
               for name in files)


def identical_version(source: str, base_directory: str) -> Optional[str]:
    """The version under `base_directory` whose files are byte for byte `source`'s (a
    model the Trainer reused from its cache, pushed before), or None."""
    if not os.path.isdir(base_directory):
        return None
    size, digest = _size(source), None
    for name in sorted(os.listdir(base_directory), reverse=True):
        candidate = os.path.join(base_directory, name)
        if not name.isdigit() or not os.path.isdir(candidate) or _size(candidate) != size:
            continue
        digest = digest or _digest(source)
        if _digest(candidate) == digest:
            return name
    return None
