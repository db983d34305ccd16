"""Late outcomes joined to the request log (driftline/monitoring/labels.py) for tasks of
other shapes than the embedded example's: the label by the task's rule over the outcome
file and the logged request, and where the label is known decided after the fact when
the server could not say."""
import numpy as np
import pyarrow as pa

from components.model.task import Input, Task
from driftline.monitoring import labels as online

LOG = pa.table({
    "request_id": ["r1", "r2", "r3", "r4", "r5"],
    "model_version": ["7"] * 5,
    "probability": ["0.9", "0.2", "0.6", "0.4", "0.8"],
    "label_known": ["", "", "", "", ""],   # the rule reads the outcome: the server cannot say
    "distance": ["100", "200", "300", "400", "500"],
})


def _task(label, known_when=""):
    return Task("binary", label, "late", known_when, [Input("distance", "scale")])


def _outcomes(tmp_path, text):
    path = tmp_path / "outcomes.csv"
    path.write_text(text)
    return path


def test_a_missing_outcome_is_an_unknown_label_when_known_when_says_so(tmp_path):
    task = _task("arr_delay > 15", "arr_delay is not missing")
    outcomes = online.read_outcomes(_outcomes(tmp_path, "request_id,arr_delay\nr1,30\nr2,\nr3,-4\nr9,50\n"), task)
    joined = online.join(LOG, outcomes, task)
    assert (joined["matched"], joined["unobservable"], joined["unmatched"]) == (3, 1, 1)
    labels, scores = joined["versions"]["7"]
    assert labels.tolist() == [1, 0] and scores.tolist() == [0.9, 0.6]


def test_without_known_when_every_joined_label_counts(tmp_path):
    task = _task("arr_delay > 15")
    joined = online.join(LOG, online.read_outcomes(_outcomes(tmp_path, "request_id,arr_delay\nr1,30\nr2,\n"), task),
                         task)
    assert joined["unobservable"] == 0
    # A missing number reads as 0 in a rule, as the Transform reads it.
    assert joined["versions"]["7"][0].tolist() == [1, 0]


def test_a_rule_reads_logged_inputs_beside_the_outcome(tmp_path):
    task = _task("paid > 0.002 * distance")
    outcomes = online.read_outcomes(_outcomes(tmp_path, "request_id,paid\nr1,0.3\nr2,0.3\nr5,0.9\n"), task)
    joined = online.join(LOG.append_column("paid", pa.array([""] * 5)), outcomes, task)
    # 0.3 > 0.2 yes; 0.3 > 0.4 no; 0.9 > 1.0 no.
    assert joined["versions"]["7"][0].tolist() == [1, 0, 0]


def test_the_label_given_outright_is_known(tmp_path):
    task = _task("arr_delay > 15", "arr_delay is not missing")
    outcomes = online.read_outcomes(_outcomes(tmp_path, "request_id,late\nr1,0\nr4,1\n"), task)
    joined = online.join(LOG, outcomes, task)
    assert joined["unobservable"] == 0 and joined["versions"]["7"][0].tolist() == [0, 1]


def test_a_server_that_said_unknown_is_believed(tmp_path):
    task = _task("arr_delay > 15", "arr_delay is not missing")
    log = LOG.set_column(3, "label_known", pa.array(["1", "0", "1.0", "", ""]))
    outcomes = online.read_outcomes(_outcomes(tmp_path, "request_id,arr_delay\nr1,30\nr2,30\nr3,1\n"), task)
    joined = online.join(log, outcomes, task)
    assert joined["unobservable"] == 1 and np.asarray(joined["versions"]["7"][0]).tolist() == [1, 0]
