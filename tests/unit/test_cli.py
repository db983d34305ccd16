"""Bad input through the real CLI: one readable line, a non-zero status, nothing written."""


def test_missing_data_root_is_one_readable_line(tmp_path, driftline):
    proc = driftline("run", "--data-root", tmp_path / "nowhere", "--output-dir", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("driftline: ")
    assert "nowhere: no span-N directories" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out" / "metadata.sqlite").exists()


def test_unknown_span_lists_the_available_ones(tmp_path, small_spans, driftline):
    proc = driftline("run", "--data-root", small_spans, "--span", 9, "--output-dir", tmp_path / "o")
    assert proc.returncode == 2
    assert "span 9 not found (available: 1, 2, 3, 4)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_names_file_and_setting(tmp_path, driftline):
    config = tmp_path / "c.toml"
    config.write_text("[training]\nlearning_rat = 0.1\n")
    proc = driftline("run", "--config", config)
    assert proc.returncode == 2
    assert f"{config}: unknown setting 'training.learning_rat'" in proc.stderr


def test_data_command_writes_spans(tmp_path, driftline):
    proc = driftline("data", "--data-root", tmp_path / "taxi")
    assert proc.returncode == 0, proc.stderr
    assert "span-4: 2016, 833 rows" in proc.stdout


def test_broken_schema_stops_the_run_before_any_component(tmp_path, small_spans, driftline):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature {\n  name: "fare"\n  type: FLOT\n}\n')
    config = tmp_path / "c.toml"
    config.write_text(f'schema_file = "{schema}"\noutput_dir = "out"\ndata_root = "{small_spans}"\n')
    proc = driftline("run", "--config", config)
    assert proc.returncode == 2
    assert f"{schema}:3:" in proc.stderr and "FLOT" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`driftline ... | head -1`: the pipe closes before the command writes."""
    import os
    import subprocess
    import sys

    from pipeline.config import PROJECT_ROOT as ROOT

    read, write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "driftline", "data", "--data-root", str(tmp_path / "t")],
                            cwd=ROOT, stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    os.close(read)  # nobody reads: the command's first write meets a broken pipe
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
