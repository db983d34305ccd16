"""`driftline init CSV --time COLUMN --every year|month --label RULE`: a directory with
the file cut into spans, a drafted schema and a config, ready for `driftline run`."""
import shutil
from pathlib import Path

from driftline.commands.common import print_json

PRODUCED = ("data", "schema.pbtxt", "driftline.toml")


def _request(args):
    from driftline.data.init import Request

    def listed(text):
        return [c.strip() for c in (text or "").split(",") if c.strip()]

    return Request(source=args.csv, time_column=args.time, every=args.every, label=args.label,
                   into=args.into or Path(args.csv).with_suffix(""), kind=args.kind,
                   known_when=args.known_when or "", ignore=listed(args.ignore), missing=listed(args.missing),
                   time_zone=args.time_zone, time_format=args.time_format or "")


def _refuse_existing(into: Path):
    from components.errors import DataError

    present = [name for name in PRODUCED if (into / name).exists()]
    if present:
        raise DataError(f"{into}: already holds {', '.join(present)}; choose another --into, or remove "
                        "them to start again")


def _build(request, prepared, staging: Path, into: Path):
    """Spans, schema and config written under `staging`; the task checked against the
    schema before anything is moved into place."""
    from driftline.data import init as data_init
    from driftline.schema import from_data
    from pipeline.config import load_config
    from pipeline.inputs import resolve_task

    spans = data_init.cut(request, prepared, staging / "data")
    from components.model.rule import parse

    outcomes = parse(request.label).outcomes
    schema, comments = from_data.draft(prepared.table, staging / "data", outcomes,
                                       prepared.not_inputs(request))
    (staging / "schema.pbtxt").write_text(from_data.render(schema, comments, str(request.source), prepared.rows))
    (staging / "driftline.toml").write_text(data_init.config_text(request, prepared, spans, into.name))
    task = resolve_task(load_config(staging / "driftline.toml"), schema)
    return spans, task


def init(args) -> int:
    from driftline.data import init as data_init
    from pipeline import framework_output

    request = _request(args)
    prepared = data_init.prepare(request)  # every option and every row's time checked; nothing written
    into = Path(request.into)
    _refuse_existing(into)
    staging = into / ".driftline-init"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with framework_output.to_log_file(into / "output" / "logs" / "init.log", "driftline init"):
            spans, task = _build(request, prepared, staging, into)
        for name in PRODUCED:
            (staging / name).replace(into / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if args.json:
        print_json({"into": str(into), "spans": [s.__dict__ for s in spans], "inputs": task.model_inputs(),
                    "outcomes": task.outcomes, "config": str(into / "driftline.toml")})
        return 0
    _print(into, spans, task, prepared.not_inputs(request))
    for name, token in data_init.numbers_with_a_token(prepared.table).items():
        print(f"note            {name} holds numbers and {token!r}, so it is read as text; if {token!r} "
              f"means missing, run init again with --missing {token}")
    return 0


# A span with fewer rows has too few evaluation rows to judge a model on, and its
# statistics move by chance alone.
SMALL_SPAN = 100


def _print(into: Path, spans, task, not_inputs):
    for s in spans:
        small = "  (few rows: a run on this span judges little)" if s.rows < SMALL_SPAN else ""
        print(f"span-{s.number:<4} {s.period:<8} {s.rows:>8,} rows  {s.first[:19]} .. {s.last[:19]}{small}")
    print(f"schema          {into / 'schema.pbtxt'} (drift thresholds measured between the spans)")
    print(f"task            {task.label_name} = {task.label}"
          + (f", known when {task.known_when}" if task.known_when else "")
          + f"; outcomes: {', '.join(task.outcomes)}")
    print(f"model inputs    {len(task.inputs)}: {', '.join(task.model_inputs())}")
    print(f"not inputs      {', '.join(not_inputs)}")
    config = into / "driftline.toml"
    print(f"config          {config}\nnext            driftline schema check --config {config}\n"
          f"                driftline run --config {config}\n"
          f"                driftline serve --config {config}")


def register(sub):
    """`driftline init`'s arguments."""
    p = sub.add_parser("init", help="cut a time-stamped CSV into spans, draft its schema and write a "
                       "config for its task")
    p.add_argument("csv", type=Path, help="the CSV file, one row per example, with a header")
    p.add_argument("--time", required=True, metavar="COLUMN",
                   help="the column spans are cut by: Unix seconds, an ISO date or datetime, or a year")
    p.add_argument("--every", choices=["year", "month"], default="year", help="one span per (default: year)")
    p.add_argument("--time-zone", default="UTC", metavar="ZONE",
                   help="the calendar that cuts the periods, e.g. America/New_York (default: UTC)")
    p.add_argument("--time-format", metavar="FORMAT",
                   help="how the time is written when it is not ISO, Unix seconds or a year: "
                   "Python's strptime codes, e.g. %%m/%%d/%%Y")
    p.add_argument("--label", required=True, metavar="RULE",
                   help="the label: a column, or a rule such as \"arr_delay > 15\" or "
                   "\"status in ('A', 'B')\"")
    p.add_argument("--kind", choices=["binary", "regression"], default="binary",
                   help="what the model learns: a yes-or-no label (default) or a number")
    p.add_argument("--known-when", metavar="RULE",
                   help="where the label can be known, e.g. \"arr_delay is not missing\"")
    p.add_argument("--ignore", metavar="COL,COL", help="columns that are not model inputs (identifiers, leaks)")
    p.add_argument("--missing", metavar="TEXT,TEXT",
                   help="cell texts that mean a missing value, e.g. NA (written as empty cells)")
    p.add_argument("--into", type=Path, help="the directory to write (default: the CSV's name without .csv)")
    p.add_argument("--json", action="store_true", help="what was written, as JSON")
    p.set_defaults(func=init)
