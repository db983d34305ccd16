"""Files, wherever they live: a local path, or any scheme TFX's file-system layer reads
(gs://, s3:// with its plugin, hdfs://, ram:// in tests).

Every executor reads and writes through here, so a pipeline root or data root in a
bucket works the same as on disk. Local paths use the os module directly: the checks
that run before a pipeline must not pay for importing TensorFlow, which
tfx.dsl.io.fileio brings with it.
"""
import builtins
import glob as local_glob
import os
from typing import List


def is_local(path) -> bool:
    return "://" not in str(path)


def _fileio():
    from tfx.dsl.io import fileio

    return fileio


def open(path, mode: str = "r"):  # noqa: A001 - the file-system layer's own name
    path = str(path)
    return builtins.open(path, mode) if is_local(path) else _fileio().open(path, mode)


def exists(path) -> bool:
    path = str(path)
    return os.path.exists(path) if is_local(path) else _fileio().exists(path)


def isdir(path) -> bool:
    path = str(path)
    return os.path.isdir(path) if is_local(path) else _fileio().isdir(path)


def listdir(path) -> List[str]:
    """Entry names in a directory (no trailing slashes), sorted."""
    path = str(path)
    names = os.listdir(path) if is_local(path) else _fileio().listdir(path)
    return sorted(name.rstrip("/") for name in names)


def makedirs(path):
    path = str(path)
    if is_local(path):
        os.makedirs(path, exist_ok=True)
    else:
        _fileio().makedirs(path)


def glob(pattern) -> List[str]:
    pattern = str(pattern)
    return sorted(local_glob.glob(pattern) if is_local(pattern) else _fileio().glob(pattern))


def read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def read_text(path) -> str:
    return read_bytes(path).decode("utf-8")


def write_bytes(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)


def write_text(path, text: str):
    write_bytes(path, text.encode("utf-8"))
