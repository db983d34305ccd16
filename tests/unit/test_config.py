from pathlib import Path

import pytest

from driftline.config import load_config
from pipeline.config import PROJECT_ROOT
from pipeline.errors import ConfigError


def test_defaults_point_inside_the_project():
    config = load_config()
    assert config.data_root == PROJECT_ROOT / "data" / "taxi"
    assert config.metadata_path == config.output_dir / "metadata.sqlite"
    assert config.serving_dir == config.output_dir / "serving" / "taxi_big_tipper"
    assert config.beam.args()[:2] == ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
    # A dependency flag, so that TFX does not build an sdist of itself per Beam node.
    assert any(a.startswith("--sdk_container_image=") for a in config.beam.args())


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
        ("[training]\ntrain_steps = 'many'\n", "'training.train_steps' = 'many' has the wrong type"),
        ("span = 0\n", "'span' = 0 is too small: it must be a whole number >= 1"),
        ("[beam]\ndirect_running_mode = 'fast'\n", "'beam.direct_running_mode' = 'fast' is not allowed"),
        ("training = 3\n", "'training' must be a \\[section\\]"),
        ("span = \n", "not valid TOML"),
        ("[drift]\ngate = 'maybe'\n", "'drift.gate' = 'maybe' is not allowed: it must be one of 'block', 'warn'"),
        ("[drift]\nbaseline = 'oldest'\n", "'drift.baseline' = 'oldest' is not allowed"),
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


def test_every_problem_is_reported_at_once_with_file_setting_and_value(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('span = "4"\nwindow = "2"\ndata_root = 5\n[training]\nhidden_units = ["a", "b"]\n'
                    "learning_rate = -1.0\ntrain_steps = true\n[evaluation]\nmin_auc = 5\n"
                    "[beam]\ndirect_num_workers = 0\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert text.startswith("8 problems in the configuration; nothing was run:")
    for expected in ["'span' = '4' has the wrong type", "'window' = '2' has the wrong type",
                     "'data_root' = 5 has the wrong type: it must be a path",
                     "'training.hidden_units' = ['a', 'b'] holds 'a'",
                     "'training.learning_rate' = -1.0 is too small: it must be a number > 0",
                     "'training.train_steps' = true has the wrong type",
                     "'evaluation.min_auc' = 5 is too large",
                     "'beam.direct_num_workers' = 0 has no effect with direct_running_mode = 'in_memory'"]:
        assert f"{path}: {expected}" in text, expected


@pytest.mark.parametrize("text, message", [
    ("[training]\nhidden_units = []\n", "'training.hidden_units' = [] is empty"),
    ("[training]\nhidden_units = [-1]\n", "'training.hidden_units' = [-1] holds -1"),
    ("[beam]\ndirect_num_workers = -2\n", "'beam.direct_num_workers' = -2 is too small"),
    ("[metadata]\nmysql_port = 70000\n", "'metadata.mysql_port' = 70000 is too large"),
    ("eval_percent = 2.5\n", "'eval_percent' = 2.5 has the wrong type"),
    ("[training]\noperating_point = \"precision\"\n",
     "'training.operating_point' = 'precision' needs 'training.operating_target'"),
    ("[training]\noperating_target = 0.8\n",
     "'training.operating_point' = 'f1' takes no operating_target"),
    ("[training]\noperating_point = \"recall\"\noperating_target = 1.5\n",
     "'training.operating_target' = 1.5 is too large"),
])
def test_values_outside_their_rule(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path)


def test_more_workers_with_a_mode_that_uses_them_is_fine(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text("[beam]\ndirect_running_mode = 'multi_processing'\ndirect_num_workers = 0\n")
    assert load_config(path).beam.args()[:2] == ["--direct_running_mode=multi_processing",
                                                 "--direct_num_workers=0"]


def test_a_directory_or_non_utf8_bytes_as_the_config_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory, not a config file"):
        load_config(tmp_path)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\nspan = 1\n")
    with pytest.raises(ConfigError, match=r"latin1.toml:1: not UTF-8 text \(byte 0xe9 at offset 5\)"):
        load_config(path)


def test_flags_are_checked_like_the_file(tmp_path):
    with pytest.raises(ConfigError, match="command line: 'span' = -3 is too small"):
        load_config(overrides={"span": -3})


def test_the_pipeline_knows_only_its_own_sections_and_the_application_adds_its_own(tmp_path):
    from pipeline import config as pipeline_config

    assert not {"serving", "monitoring", "retraining"} & pipeline_config.sections(pipeline_config.Config())
    path = tmp_path / "c.toml"
    path.write_text("[serving]\nrest_port = 8601\n")
    with pytest.raises(ConfigError, match="unknown setting 'serving'"):
        pipeline_config.load_config(path)
    assert load_config(path).serving.rest_port == 8601


def test_one_file_reports_problems_in_pipeline_and_application_sections_together(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[training]\ntrain_steps = 0\n[serving]\nrest_port = 70000\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "2 problems" in str(raised.value)
    assert "'training.train_steps' = 0" in str(raised.value)
    assert "'serving.rest_port' = 70000" in str(raised.value)


def test_a_serving_setting_does_not_change_the_runs_fingerprint():
    from driftline.run.up_to_date import pipeline_settings

    config = load_config()
    before = pipeline_settings(config)
    config.serving.rest_port = 9999
    config.monitoring.window_rows = 7
    assert pipeline_settings(config) == before
    config.training.train_steps = 7
    assert pipeline_settings(config) != before


def test_a_config_without_a_task_gets_the_embedded_examples(tmp_path):
    path = tmp_path / "driftline.toml"
    path.write_text("[training]\nseed = 7\n")
    config = load_config(path)
    assert config.task.label == "tips > 0.2 * fare" and config.model_name == "taxi_big_tipper"
    assert config.evaluation.slice_features == ["payment_type", "trip_start_hour"]


def test_a_config_with_a_task_of_its_own_starts_from_generic_settings(tmp_path):
    path = tmp_path / "driftline.toml"
    path.write_text('[task]\nlabel = "arr_delay > 15"\nknown_when = "arr_delay is not missing"\n')
    config = load_config(path)
    assert (config.task.label, config.task.known_when) == ("arr_delay > 15", "arr_delay is not missing")
    assert (config.task.label_name, config.task.ignore, config.task.treat) == ("label", [], {})
    assert config.evaluation.slice_features == [] and config.evaluation.analysis_slices == []
    assert config.model_name == "model"
    # What the file does say is kept.
    path.write_text('model_name = "flights"\n[task]\nlabel = "arr_delay > 15"\n'
                    '[evaluation]\nslice_features = ["carrier"]\n')
    config = load_config(path)
    assert config.model_name == "flights" and config.evaluation.slice_features == ["carrier"]
