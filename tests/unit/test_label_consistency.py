"""Label consistency on the real spans, read by the pipeline's own CSV reader: the check
names cash rides, whose tips the meter never records, and stays quiet where tips are
recorded for every payment type."""
import numpy as np
import pyarrow.compute as pc
import pytest

from components.drift_gate.label_consistency import check
from components.example_gen import csv_reader


def _columns(table):
    def numbers(name):
        return np.array([np.nan if v is None else float(v) for v in table.column(name).to_pylist()])

    tips, fare = numbers("tips"), numbers("fare")
    categories = {name: [v or "" for v in table.column(name).to_pylist()]
                  for name in ("payment_type", "company", "trip_start_hour")}
    # The embedded example's label rule, written out independently of the task's.
    return categories, np.nan_to_num(tips) > 0.2 * np.nan_to_num(fare), tips


def _card(categories):
    return np.asarray([v == "Credit Card" for v in categories["payment_type"]])


def _span(root, span):
    return csv_reader.read_span(csv_reader.list_files(str(root / f"span-{span}")))


@pytest.mark.parametrize("span", [1, 2, 3, 4])
def test_cash_is_flagged_on_every_real_span(embedded_spans, span):
    categories, labels, tips = _columns(_span(embedded_spans, span))
    found = check(categories, labels, tips, min_rows=100, constant_share=0.99,
                  in_population=_card(categories), source_name="tips")
    cash = [f for f in found if (f.feature, f.value) == ("payment_type", "Cash")]
    assert len(cash) == 1, [f.text() for f in found]
    assert cash[0].rows == categories["payment_type"].count("Cash")
    assert cash[0].source_zero_rate >= 0.99 and cash[0].label_rate <= 0.01
    assert not cash[0].in_population and "outside the observable population" in cash[0].text()
    # Card rides are what the model learns from: their label varies, nothing to flag.
    assert not [f for f in found if f.value == "Credit Card"]


def test_quiet_where_tips_are_recorded_for_cash_too(embedded_spans):
    table = _span(embedded_spans, 3)
    card = pc.equal(table.column("payment_type"), "Credit Card")
    # A synthetic span: every ride's tip recorded, cash rides tipping like card rides.
    card_rows = table.filter(card)
    cash_like = card_rows.set_column(card_rows.column_names.index("payment_type"), "payment_type",
                                     pc.replace_substring(card_rows.column("payment_type"),
                                                          "Credit Card", "Cash"))
    import pyarrow as pa

    synthetic = pa.concat_tables([card_rows, cash_like])
    categories, labels, tips = _columns(synthetic)
    found = check(categories, labels, tips, min_rows=100, constant_share=0.99,
                  in_population=_card(categories), source_name="tips")
    assert [f for f in found if f.feature == "payment_type"] == []


def test_small_categories_are_not_judged():
    found = check({"payment_type": ["Cash"] * 99 + ["Card"] * 200}, np.r_[np.zeros(99), np.ones(100), np.zeros(100)],
                  np.r_[np.zeros(99), np.ones(200)], min_rows=100, constant_share=0.99)
    assert found == []
