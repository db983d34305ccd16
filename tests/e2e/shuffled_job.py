"""A background job (tests/background_jobs.py): the embedded spans with the labels of
their train splits' card rides shuffled, then `driftline run` with the default config."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(work: Path) -> int:
    from e2e_helpers import shuffle_labels_in_training_rows

    data = work / "taxi"
    shutil.copytree(ROOT / "data" / "taxi", data)
    for span in sorted(data.glob("span-*")):
        moved = shuffle_labels_in_training_rows(span / "data.csv", seed=int(span.name.split("-")[1]))
        print(f"{span.name}: {moved} card rides of the train split carry another ride's label", flush=True)
    return subprocess.call([sys.executable, "-m", "driftline", "run", "--data-root", str(data),
                            "--output-dir", str(work / "out")], cwd=ROOT, env=os.environ)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
