"""The documentation site builds strictly: a broken link or a page left out of the
navigation fails the build (what `make docs` and `make test` run)."""
import shutil
import subprocess
import sys

from pipeline.config import PROJECT_ROOT


def _build(root, site):
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(root / "mkdocs.yml"), "-d", str(site)],
                          capture_output=True, text=True, timeout=120)


def _copy(tmp_path):
    scratch = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "docs", scratch / "docs")
    shutil.copy(PROJECT_ROOT / "mkdocs.yml", scratch / "mkdocs.yml")
    return scratch


def test_the_site_builds_strictly(tmp_path):
    proc = _build(_copy(tmp_path), tmp_path / "site")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "serving" / "index.html").exists()


def test_a_broken_link_fails_the_build(tmp_path):
    scratch = _copy(tmp_path)
    page = scratch / "docs" / "serving.md"
    page.write_text(page.read_text() + "\nSee [the missing page](nowhere.md).\n")
    proc = _build(scratch, tmp_path / "site")
    assert proc.returncode != 0
    assert "nowhere.md" in proc.stdout + proc.stderr
