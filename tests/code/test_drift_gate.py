from components.drift.component import BLESSED, PREVIOUS, choose_baseline


def test_blessed_data_wins_when_asked_for_and_known():
    assert choose_baseline(BLESSED, ("b", 3), ("p", 2)) == (("b", 3), BLESSED)


def test_previous_span_when_no_blessed_model_or_when_asked_for():
    assert choose_baseline(BLESSED, None, ("p", 2)) == (("p", 2), PREVIOUS)
    assert choose_baseline(PREVIOUS, ("b", 3), ("p", 2)) == (("p", 2), PREVIOUS)


def test_clean_first_run_without_any_baseline():
    assert choose_baseline(BLESSED, None, None) == (None, "none")
