"""Every command the documentation shows is one that works: driftline's own commands are
accepted by its argument parser, each `make` target exists, each file a command reads
ships with the repository, and the transcripts that need no pipeline run are run here
and must print what the page shows. (Transcripts of a served model are checked against
the real server in tests/e2e/test_serving.py.)"""
import re
import subprocess
import sys

import pytest

from docs_transcripts import ROOT, driftline_commands, matching, transcripts
from system_programs import require_program

DRIFTLINE = driftline_commands()


def test_the_docs_show_commands_at_all():
    assert len(DRIFTLINE) >= 15
    assert {t.page for t in DRIFTLINE} >= {"monitoring.md", "serving.md", "judging.md"}


@pytest.mark.parametrize("transcript", DRIFTLINE, ids=[t.where for t in DRIFTLINE])
def test_each_driftline_command_in_the_docs_is_accepted_by_the_parser(transcript, capsys):
    from driftline.cli import build_parser

    words = transcript.words()[1:]
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exit:
        pytest.fail(f"{transcript.where}: `{transcript.command}` is refused by the parser "
                    f"(exit {exit.code}): {capsys.readouterr().err.strip()}")
    assert callable(args.func)


MAKE_TARGETS = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))
MAKES = [t for t in transcripts() if t.command.startswith("make ")]


@pytest.mark.parametrize("transcript", MAKES, ids=[t.where for t in MAKES])
def test_each_make_target_in_the_docs_exists(transcript):
    target = transcript.words()[1]
    assert target in MAKE_TARGETS, f"{transcript.where}: no `make {target}` in the Makefile"


def _files_read(transcript):
    words = transcript.words()
    for previous, word in zip([""] + words, words):
        if word.startswith("@"):
            yield word[1:]
        elif previous in ("cat", "--config") or (words[0] == "cat" and previous == "cat"):
            yield word


FILES = [(t, path) for t in transcripts() for path in _files_read(t)]


def _written_before(transcript, path: str) -> bool:
    """Whether an earlier command on the same page shows `path` among what it wrote."""
    return any(t.page == transcript.page and t.line < transcript.line and any(path in line for line in t.output)
               for t in transcripts())


@pytest.mark.parametrize("transcript, path", FILES, ids=[f"{t.where}:{p}" for t, p in FILES])
def test_each_file_a_docs_command_reads_ships_with_the_repository(transcript, path):
    assert (ROOT / path).is_file() or _written_before(transcript, path), \
        f"{transcript.where}: `{transcript.command}` reads {path}, which is not in the repository and no " \
        "earlier command on the page writes"


def _run(words, cwd):
    return subprocess.run(words, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_alert_rules_transcript_is_what_the_commands_print(tmp_path):
    """driftline monitor rules, then promtool's check and unit tests, as the page shows them."""
    shown = matching("driftline monitor rules", "monitoring.md")
    assert len(shown) == 1
    (tmp_path / "monitoring").mkdir()
    proc = _run([sys.executable, "-m", "driftline", *shown[0].words()[1:]], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [line for line in shown[0].output if line.strip()]
    promtool = require_program("promtool", "prometheus")
    for transcript in matching("promtool", "monitoring.md"):
        proc = _run([promtool, *transcript.words()[1:]], tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        printed = [line.rstrip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        assert printed == [line.rstrip() for line in transcript.output if line.strip()], transcript.where
