"""Raw values read from serialized tf.Examples in one decoded batch (components/examples_io)
against the per-record reading (raw_value) they replace in the ModelGate."""
from collections import defaultdict

import tensorflow as tf

from components import examples_io
from components.examples_io import decode, input_hashes, raw_columns, raw_value, read_columns


def _example(**features):
    example = tf.train.Example()
    for name, value in features.items():
        feature = example.features.feature[name]
        if value is None:
            continue  # present without a kind: how CsvExampleGen writes an empty cell
        values = value if isinstance(value, list) else [value]
        if isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif isinstance(values[0], float):
            feature.float_list.value.extend(values)
        else:
            feature.int64_list.value.extend(values)
    return example


EXAMPLES = [
    _example(hour=3, fare=1.1, company=b"Flash Cab", area=None),
    _example(hour=3, fare=1.1, company=b"Flash Cab", area=None),  # the same inputs again
    _example(hour=4, fare=2.5, company=b"\xff\xfe", area=[7, 8]),  # not UTF-8; two values
    _example(hour=4, fare=2.5, company=b"", area=7),
    _example(fare=0.0),  # hour, company and area absent
    _example(hour=0, fare=-0.0, company=b"0", area=0),
]
NAMES = ["hour", "fare", "company", "area", "absent_everywhere"]


def test_raw_columns_are_raw_value_of_every_record():
    serialized = [e.SerializeToString() for e in EXAMPLES]
    columns = raw_columns(decode(serialized), NAMES)
    for name in NAMES:
        assert columns[name] == [raw_value(e, name) for e in EXAMPLES], name


def test_equal_inputs_get_equal_hashes_and_others_do_not():
    serialized = [e.SerializeToString() for e in EXAMPLES]
    hashes = input_hashes(decode(serialized), NAMES).tolist()
    assert hashes[0] == hashes[1]
    assert len(set(hashes)) == len(EXAMPLES) - 1
    # The same grouping as the text of every input, on the real rows too.
    by_text, by_hash = defaultdict(set), defaultdict(set)
    for row, (example, value) in enumerate(zip(EXAMPLES, hashes)):
        by_text[tuple(raw_value(example, n) for n in NAMES)].add(row)
        by_hash[value].add(row)
    assert sorted(map(sorted, by_text.values())) == sorted(map(sorted, by_hash.values()))


def test_reading_in_chunks_gives_what_one_batch_gives(monkeypatch):
    serialized = [e.SerializeToString() for e in EXAMPLES] * 3
    whole = decode(serialized)
    monkeypatch.setattr(examples_io, "DECODE_CHUNK", 4)  # 18 records: chunks of 4, 4, 4, 4, 2
    columns, hashes = read_columns(iter(serialized), NAMES, NAMES[:3])
    assert columns == raw_columns(whole, NAMES)
    assert hashes.tolist() == input_hashes(whole, NAMES[:3]).tolist()
    assert read_columns(iter([]), NAMES)[1].size == 0
