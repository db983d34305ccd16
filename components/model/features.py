"""Every feature of the taxi data named once, with its kind and role.

Preprocessing, the model and the serving signature read these tables, so adding a
feature is one edit here plus its entry in schemas/schema.pbtxt.
"""

# Raw numeric columns scaled to z-scores.
DENSE_FLOAT = ["fare", "trip_miles", "trip_seconds"]
# ...and also cut into quantile buckets: the share of big tippers rises and falls with
# the fare (short card rides tip big most often, mid-priced ones least), which one
# weight on a z-score cannot follow.
DENSE_BUCKET_COUNT = 20

# Raw numeric columns cut into quantile buckets: coordinates carry location, not magnitude.
BUCKET_FEATURES = [
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
]
FEATURE_BUCKET_COUNT = 10

# Integer columns whose values are already small category ids: name -> number of ids.
CATEGORICAL_INT = {
    "trip_start_hour": 24,
    "trip_start_day": 8,
    "trip_start_month": 13,
    "pickup_community_area": 78,
    "dropoff_community_area": 78,
}

# String columns mapped through a vocabulary computed by tf.Transform.
VOCAB_FEATURES = ["payment_type", "company"]
VOCAB_SIZE = 100
OOV_SIZE = 10

# The outcome the label is derived from; never a model input, never sent at serving.
OUTCOME_KEY = "tips"
# The fare the outcome is compared with (also a model input).
FARE_KEY = "fare"
LABEL_KEY = "big_tipper"
# A trip is a big tip when tips exceed this share of the fare.
BIG_TIP_SHARE = 0.2

# Where the label can be known at all. The meter records a tip only when the fare is
# paid by card: a cash tip goes to the driver's pocket and the record says 0, so for
# a cash ride "big tipper" is unknown, not false (in the embedded data, 99.96% of cash
# rides show tips of 0; so do Pcard, Prcard, No Charge and Dispute rides). The model is
# trained and judged on card rides only, and answers the question "if this ride is paid
# by card, will the tip exceed 20% of the fare?".
OBSERVABLE_KEY = "payment_type"
OBSERVABLE_VALUES = ["Credit Card"]
# Transform's 0/1 output saying whether a row's label is observable; a training weight
# and the evaluation's filter, never a model input.
OBSERVABLE_WEIGHT = "tip_observable"


def model_inputs():
    """Raw feature names the model consumes, in a stable order."""
    return DENSE_FLOAT + BUCKET_FEATURES + list(CATEGORICAL_INT) + VOCAB_FEATURES


def serving_inputs():
    """Raw features a serving request carries: every input, never the outcome or label."""
    return model_inputs()


def is_big_tipper(tips, fare):
    """The label rule, for tensors or numpy arrays alike: tips above 20% of the fare."""
    return tips > BIG_TIP_SHARE * fare


def is_observable(payment_type) -> bool:
    """Whether a ride's tip is recorded, from its raw payment type (text)."""
    return payment_type in OBSERVABLE_VALUES


def transformed_name(key):
    return f"{key}_xf"


def bucketized_name(key):
    return f"{key}_bucket_xf"
