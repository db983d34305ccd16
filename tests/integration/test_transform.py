"""preprocessing_fn run through real tf.Transform (Beam, in memory) on a few raw rows."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

import functools

from components.model.preprocessing import preprocessing_fn
from components.model.task import LABEL_KNOWN, bucketized_name, transformed_name
from pipeline.config import load_config
from pipeline.inputs import resolve_task

# The embedded example's task, as the graph hands it to the Transform.
TASK = resolve_task(load_config())

FLOAT_FIXED = ["fare", "trip_miles", "tips"]
INT_FIXED = ["trip_seconds", "trip_start_hour", "trip_start_day", "trip_start_month"]


def _spec():
    spec = {k: tf.io.FixedLenFeature([], tf.float32) for k in FLOAT_FIXED}
    spec.update({k: tf.io.FixedLenFeature([], tf.int64) for k in INT_FIXED})
    spec.update({k: tf.io.VarLenFeature(tf.float32) for k in ["pickup_latitude", "pickup_longitude",
                                                              "dropoff_latitude", "dropoff_longitude"]})
    spec.update({k: tf.io.VarLenFeature(tf.int64) for k in ["pickup_community_area", "dropoff_community_area"]})
    spec["payment_type"] = tf.io.FixedLenFeature([], tf.string)
    spec["company"] = tf.io.VarLenFeature(tf.string)
    return spec


def _row(fare, tips, payment, company=None, area=None, hour=12):
    return {
        "fare": fare, "trip_miles": fare / 3, "tips": tips,
        "trip_seconds": int(fare * 60), "trip_start_hour": hour, "trip_start_day": 3,
        "trip_start_month": 5,
        "pickup_latitude": [41.9], "pickup_longitude": [-87.6],
        "dropoff_latitude": [], "dropoff_longitude": [],
        "pickup_community_area": [] if area is None else [area],
        "dropoff_community_area": [8],
        "payment_type": payment,
        "company": [] if company is None else [company],
    }


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    rows = [
        _row(10.0, 3.0, b"Credit Card", b"Flash Cab", area=8),
        _row(10.0, 1.0, b"Credit Card", area=99),
        _row(20.0, 0.0, b"Cash", b"Flash Cab"),
        _row(5.0, 0.0, b"Cash", b"Flash Cab", hour=23),
        # Three card rides against two cash rides: no tie in the vocabulary's order.
        _row(8.0, 2.0, b"Credit Card", b"Taxi Affiliation"),
    ]
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(_spec()))
    with tft_beam.Context(temp_dir=str(tmp_path_factory.mktemp("tft")), force_tf_compat_v1=False):
        (data, _), _ = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            functools.partial(preprocessing_fn, custom_config={"task": TASK.to_json()}))
    return data


def test_label_follows_the_twenty_percent_rule(transformed):
    # 3.0 > 0.2 * 10 -> 1; 1.0 < 2.0 -> 0; no tips -> 0; 2.0 > 1.6 -> 1.
    assert [r[TASK.label_name] for r in transformed] == [1, 0, 0, 0, 1]


def test_outcome_is_not_a_model_input(transformed):
    assert TASK.outcomes == ["tips"]
    assert all("tips" not in r and transformed_name("tips") not in r for r in transformed)
    expected = ({transformed_name(k) for k in TASK.model_inputs()}
                | {bucketized_name(i.name) for i in TASK.treated("scale+buckets")})
    assert set(transformed[0]) == expected | {TASK.label_name, LABEL_KNOWN}


def test_dense_features_are_also_bucketized_in_order(transformed):
    fares = [r["fare_xf"] for r in transformed]
    buckets = [r[bucketized_name("fare")] for r in transformed]
    # A larger fare never falls in a lower bucket.
    ordered = sorted(zip(fares, buckets))
    assert [b for _, b in ordered] == sorted(b for _, b in ordered)
    assert all(0 <= b < 20 for b in buckets)  # the example's treat: fare = "scale+buckets:20"


def test_only_card_rides_have_an_observable_tip(transformed):
    # Rows 0, 1, 4 are card rides; 2, 3 cash, whose tips the meter never records.
    assert [r[LABEL_KNOWN] for r in transformed] == [1.0, 1.0, 0.0, 0.0, 1.0]


def test_dense_features_are_z_scored(transformed):
    fares = np.array([r["fare_xf"] for r in transformed])
    assert abs(fares.mean()) < 1e-5 and fares.std() == pytest.approx(1.0, abs=1e-4)
    assert fares[2] > fares[0] > fares[4] > fares[3]


def test_vocabulary_gives_the_most_frequent_value_the_smallest_id(transformed):
    ids = [r["payment_type_xf"] for r in transformed]
    card, cash = ids[0], ids[2]
    assert ids == [card, card, cash, cash, card]
    assert (card, cash) == (0, 1)  # three card rides, two cash rides
    companies = [r["company_xf"] for r in transformed]
    # "Flash Cab" three times, "Taxi Affiliation" and a missing company once each.
    assert companies[0] == companies[2] == companies[3] == 0
    assert len({companies[1], companies[4]} - {0}) == 2


def test_missing_and_out_of_range_categories_stay_inside_the_encoding(transformed):
    size = 78  # the schema's domain: 1 to 77
    areas = [r["pickup_community_area_xf"] for r in transformed]
    assert areas == [8, size - 1, 0, 0, 0]  # 99 -> overflow slot; missing -> 0
    assert [r["trip_start_hour_xf"] for r in transformed] == [12, 12, 12, 23, 12]
