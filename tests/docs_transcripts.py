"""The commands the documentation shows, read from its code blocks, so that tests can
run them (or ask the real program whether it accepts them) and compare what they print
with what the page says. A transcript is a `$ command` line and the lines below it up to
the next `$` line or the block's end."""
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


@dataclass
class Transcript:
    page: str
    line: int
    command: str
    output: List[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def words(self) -> List[str]:
        """The command's own words: up to a pipe, `;`, or a redirection."""
        words = []
        for word in shlex.split(self.command, comments=False):
            if word in ("|", ";", "&&", "2>&1") or word.startswith(">"):
                break
            words.append(word)
        return words


def transcripts(pages=PAGES) -> List[Transcript]:
    found = []
    for page in pages:
        inside, current = False, None
        for number, line in enumerate(Path(page).read_text().splitlines(), 1):
            if line.startswith("```"):
                inside, current = not inside, None
                continue
            if not inside:
                continue
            if line.startswith("$ "):
                current = Transcript(Path(page).name, number, line[2:].strip())
                found.append(current)
            elif current is not None:
                current.output.append(line)
    return found


def driftline_commands(pages=PAGES) -> List[Transcript]:
    return [t for t in transcripts(pages) if re.match(r"(\.venv/bin/)?driftline\s", t.command)]


def matching(prefix: str, page: str = None) -> List[Transcript]:
    """The transcripts whose command starts with `prefix` (after `.venv/bin/`)."""
    return [t for t in transcripts() if t.command.replace(".venv/bin/", "", 1).startswith(prefix)
            and (page is None or t.page == page)]


def labels(lines) -> set:
    """The label column of a command's report: the first word of each line that starts at
    the margin (continuation lines are indented; `(exit N)` is the page's own note)."""
    return {line.split()[0] for line in lines
            if line.strip() and not line[0].isspace() and not line.startswith("(exit")}


def assert_labels_shown(prefix: str, page: str, printed: str, where=lambda t: True):
    """The lines the page shows for `prefix`'s transcripts (those `where` picks) are lines
    the command really prints: every label on the page is among the printed ones."""
    shown = [t for t in matching(prefix, page) if where(t)]
    assert shown, f"{page} shows no transcript of `{prefix}`"
    for transcript in shown:
        missing = labels(transcript.output) - labels(printed.splitlines())
        assert not missing, (f"{transcript.where}: the page shows lines labelled {sorted(missing)}, which "
                             f"`{prefix}` no longer prints:\n{printed}")
