"""Putting a directory in place in one step: copy it beside its destination under a
hidden name, then rename. Kept free of TFX so that the fault tests can kill it cheaply
at any point (tests/integration/test_atomic_push.py)."""
import os
import shutil

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
