from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT, load_config
from pipeline.errors import ConfigError


def test_defaults_point_inside_the_project():
    config = load_config()
    assert config.data_root == PROJECT_ROOT / "data" / "taxi"
    assert config.metadata_path == config.output_dir / "metadata.sqlite"
    assert config.serving_dir == config.output_dir / "serving" / "taxi_big_tipper"
    assert config.beam.args() == ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def test_file_then_flags_override_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'output_dir = "runs"\nspan = 2\n[training]\ntrain_steps = 7\n'
        'hidden_units = [8]\n[evaluation]\nmin_auc = 0.6\n'
    )
    config = load_config(path, overrides={"span": 3, "data_root": None})
    assert config.output_dir == (tmp_path / "runs").resolve()
    assert config.span == 3
    assert config.training.train_steps == 7 and config.training.hidden_units == [8]
    assert config.evaluation.min_auc == 0.6


def test_fast_mode_shrinks_training_only():
    config = load_config(fast_mode=True)
    assert config.training.train_steps == 50
    assert config.data_root == load_config().data_root


@pytest.mark.parametrize(
    "text, message",
    [
        ("spam = 1\n", "unknown setting 'spam'"),
        ("[training]\ntrain_steps = 'many'\n", "'training.train_steps' must be int"),
        ("span = 0\n", "span must be 1 or more"),
        ("[beam]\ndirect_running_mode = 'fast'\n", "direct_running_mode must be"),
        ("training = 3\n", "'training' must be a \\[section\\]"),
        ("span = \n", "not valid TOML"),
        ("[drift]\ngate = 'maybe'\n", "drift.gate must be block or warn"),
        ("[drift]\nbaseline = 'oldest'\n", "drift.baseline must be blessed or previous"),
    ],
)
def test_bad_config_names_the_file_and_setting(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_config_file_is_reported():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(Path("/nonexistent/driftline.toml"))
