"""System programs some tests need (Debian packages), found or skipped by name."""
import os

import pytest


def require_program(program: str, package: str) -> str:
    """The path of a system program a test needs (from Debian's `package`). Missing, the
    test skips with a message naming the package; under CI=true that is a failure."""
    import shutil

    path = shutil.which(program)
    if path is None:
        message = (f"needs `{program}` from the Debian package {package} (`make test` installs it "
                   "when run as root with apt; scripts/system-packages.sh)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
