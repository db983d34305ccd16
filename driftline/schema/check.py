"""Reading and checking the curated schema file, with errors a person can act on.

Parsing needs only protobuf, not TensorFlow, so a broken file is reported in well under
a second, before the pipeline starts any component.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components.errors import SchemaError
from components.example_gen.csv_reader import csv_header
from driftline.schema.text_edit import locate


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    col: int
    message: str

    def __str__(self):
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class SchemaParseError(SchemaError):
    """A schema file that cannot be read or parsed, with where."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SchemaParseError(Problem(str(path), 1, 1, "schema file not found")) from None
    except IsADirectoryError:
        raise SchemaParseError(Problem(str(path), 1, 1, "is a directory, not a schema file")) from None
    except OSError as exc:
        raise SchemaParseError(
            Problem(str(path), 1, 1, f"cannot read the schema file ({exc.strerror})")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SchemaParseError(Problem(
            str(path), line, col, f"byte 0x{data[exc.start]:02x} is not UTF-8 text: a schema file is "
            "a text-format Schema proto (schema.pbtxt), not a binary one")) from None


def _parse(path: Path, text: str) -> schema_pb2.Schema:
    try:
        return text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as exc:
        message = str(exc)
        # protobuf prefixes "line:col : "; keep only the explanation after it.
        if exc.GetLine() is not None and " : " in message:
            message = message.split(" : ", 1)[1]
        problem = Problem(str(path), exc.GetLine() or 1, exc.GetColumn() or 1, message)
        raise SchemaParseError(problem) from None


def load_schema(path: Path) -> schema_pb2.Schema:
    """Parses a text-format schema; raises SchemaError as `file:line:col: message`."""
    path = Path(path)
    return _parse(path, _read(path))


# --- checking a schema file ------------------------------------------------------------

def _threshold_problems(feature, name: str):
    """(node, message) for each comparator threshold of a feature outside [0, 1]."""
    for comparator in ("drift_comparator", "skew_comparator"):
        for block in feature.all(comparator):
            for norm in block.children:
                threshold = norm.first("threshold")
                if threshold is None:
                    continue
                try:
                    value = float(threshold.value)
                except (TypeError, ValueError):
                    continue
                if not 0.0 <= value <= 1.0:
                    yield threshold, (f"{comparator} threshold {value:g} of '{name}' is outside [0, 1]: "
                                      "an L-infinity distance cannot exceed 1")


def _feature_problems(feature, name: str, domains: set, environments: list, header):
    """(node, message) for one feature block: its columns, domain, thresholds, environments."""
    if header is not None and name not in header:
        yield feature.first("name") or feature, f"feature '{name}' is not a column of the data ({_listed(header)})"
    domain = feature.first("domain")
    if domain is not None and domain.value not in domains:
        yield domain, f"feature '{name}' uses domain '{domain.value}', which no string_domain defines"
    yield from _threshold_problems(feature, name)
    for key in ("in_environment", "not_in_environment"):
        for env in feature.all(key):
            if environments and env.value not in environments:
                yield env, (f"feature '{name}' names environment '{env.value}', which is not a "
                            f"default_environment ({', '.join(environments)})")


def check_schema(path: Path, header: Optional[List[str]] = None) -> List[Problem]:
    """Every problem in a schema file, each at its line and column. `header`, when given,
    is the data's column list: features it lacks are reported, and so are its columns
    the schema lacks (ExampleValidator would report each as a new column and the gate
    would stop the run)."""
    path = Path(path)
    try:
        text = _read(path)
        schema = _parse(path, text)
    except SchemaParseError as exc:
        return [exc.problem]
    if not schema.feature:
        return [Problem(str(path), 1, 1, "the schema defines no feature: every column would go "
                                         "unvalidated (is this the right file?)")]
    tree = locate(text)
    found = []
    domains = {d.first("name").value for d in tree.all("string_domain") if d.first("name")}
    environments = [n.value for n in tree.all("default_environment")]
    seen = {}
    for feature in tree.all("feature"):
        name_node = feature.first("name") or feature
        name = name_node.value or "?"
        if name in seen:
            found.append((name_node, f"duplicate feature '{name}' (first defined on line {seen[name]})"))
        else:
            seen[name] = name_node.line
        found.extend(_feature_problems(feature, name, domains, environments, header))
    for env_node in tree.all("default_environment"):
        if all(_excluded(f, env_node.value) for f in schema.feature):
            found.append((env_node, f"environment '{env_node.value}' excludes every feature"))
    problems = [Problem(str(path), node.line, node.col, message) for node, message in found]
    if header is not None:
        problems.extend(_columns_without_feature(path, header, seen))
    return sorted(problems, key=lambda p: (p.line, p.col))


def _columns_without_feature(path: Path, header: List[str], features) -> List[Problem]:
    """Data columns the schema does not define, in one problem (a wide file must not
    print a line per column)."""
    missing = [c for c in header if c not in features]
    if not missing:
        return []
    many = len(missing) > 1
    return [Problem(
        str(path), 1, 1, f"data column{'s' if many else ''} {_listed(missing)} "
        f"{'have' if many else 'has'} no feature in the schema: ExampleValidator would report "
        f"{'each' if many else 'it'} as a new column and the gate would stop the run; add a feature "
        f"block for {'each' if many else 'it'} (to keep a column out of the model, list it in "
        "task.ignore), or drop the column from the data")]


def _excluded(feature, env: str) -> bool:
    if env in feature.not_in_environment:
        return True
    return bool(feature.in_environment) and env not in feature.in_environment


def _listed(names: List[str], shown: int = 12) -> str:
    """A column list short enough to read, however wide the file."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])}, ... {len(names) - shown:,} more"


def data_header(data_root: Path) -> Optional[List[str]]:
    """Column names of the first span's first CSV file under data_root, if there is one."""
    for span_dir in sorted(Path(data_root).glob("span-*")):
        for csv_file in sorted(span_dir.glob("*.csv")):
            return csv_header(csv_file)
    return None
