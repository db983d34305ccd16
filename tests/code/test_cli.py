"""Bad input through the real CLI: one readable line, a non-zero status, nothing written."""
import subprocess
import sys

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _driftline(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def test_missing_data_root_is_one_readable_line(tmp_path):
    proc = _driftline("run", "--data-root", tmp_path / "nowhere", "--output-dir", tmp_path / "out",
                      cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("driftline: ")
    assert "nowhere: no span-N directories" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out" / "metadata.sqlite").exists()


def test_unknown_span_lists_the_available_ones(tmp_path, small_spans):
    proc = _driftline("run", "--data-root", small_spans, "--span", 9, "--output-dir", tmp_path / "o",
                      cwd=ROOT)
    assert proc.returncode == 2
    assert "span 9 not found (available: 1, 2, 3, 4)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_names_file_and_setting(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[training]\nlearning_rat = 0.1\n")
    proc = _driftline("run", "--config", config, cwd=ROOT)
    assert proc.returncode == 2
    assert f"{config}: unknown setting 'training.learning_rat'" in proc.stderr


def test_data_command_writes_spans(tmp_path):
    proc = _driftline("data", "--data-root", tmp_path / "taxi", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "span-4: 2016, 833 rows" in proc.stdout


def test_broken_schema_stops_the_run_before_any_component(tmp_path, small_spans):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature {\n  name: "fare"\n  type: FLOT\n}\n')
    config = tmp_path / "c.toml"
    config.write_text(f'schema_file = "{schema}"\noutput_dir = "out"\ndata_root = "{small_spans}"\n')
    proc = _driftline("run", "--config", config, cwd=ROOT)
    assert proc.returncode == 2
    assert f"{schema}:3:" in proc.stderr and "FLOT" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
