"""`driftline schema check | infer | diff | update`: working with the curated schema file."""
import json
from pathlib import Path

from components.errors import SchemaError
from driftline import errors
from driftline.commands.common import common_args, config_from
from pipeline.errors import ConfigError


def check(args) -> int:
    from components.errors import TaskError
    from driftline.schema.check import check_schema, data_header, load_schema
    from pipeline.inputs import resolve_task

    config = config_from(args)
    path = args.file or config.schema_file
    problems = check_schema(path, data_header(config.data_root))
    for problem in problems:
        print(problem)
    if problems:
        return errors.BAD_INPUT
    schema = load_schema(path)
    try:
        task = resolve_task(config, schema)
    except TaskError as exc:
        print(f"{path}: the config's task cannot use this schema: {exc}")
        return errors.BAD_INPUT
    print(f"{path}: ok ({len(schema.feature)} features, {len(schema.string_domain)} string domains)")
    print(_inputs_line(task))
    return 0


def _inputs_line(task) -> str:
    """What the model will read and what it will not, for the person editing the schema."""
    shown = ", ".join(f"{i.name} ({i.treatment}{f':{i.size}' if i.size else ''})" for i in task.inputs)
    return (f"model inputs ({len(task.inputs)}): {shown}\n"
            f"label: {task.label_name} = {task.label}"
            + (f", known when {task.known_when}" if task.known_when else "")
            + f"; outcomes, never inputs: {', '.join(task.outcomes)}")


def infer(args) -> int:
    from pipeline import framework_output
    from pipeline.spans import resolve_span

    config = config_from(args)
    span = resolve_span(config)
    target = args.output or config.schema_file.parent / "inferred" / f"span-{span}.pbtxt"
    span_dir = config.data_root / f"span-{span}"
    with framework_output.to_log_file(config.output_dir / "logs" / "schema.log", "driftline schema infer"):
        from driftline.schema import infer as schema_infer

        schema, statistics = schema_infer.infer(span_dir)
        schema_infer.write(schema, statistics, target, config.schema_file, str(span_dir))
    print(f"{target}: inferred from span {span} ({len(schema.feature)} features); "
          f"compare with: driftline schema diff {config.schema_file} {target}")
    return 0


def _newest_inferred(config) -> Path:
    inferred = sorted((config.schema_file.parent / "inferred").glob("*.pbtxt"),
                      key=lambda p: p.stat().st_mtime)
    if not inferred:
        raise ConfigError(f"no inferred schema in {config.schema_file.parent / 'inferred'}: "
                          "run `driftline schema infer` first, or name two files")
    return inferred[-1]


def diff(args) -> int:
    from driftline.schema import diff as schema_diff
    from driftline.schema.check import load_schema

    from driftline.schema.check import check_schema

    config = config_from(args)
    a = args.a or config.schema_file
    b = args.b or _newest_inferred(config)
    # A file protobuf parses can still be no schema to compare: a feature defined twice
    # would make a feature-by-feature diff say whatever the last definition says.
    problems = check_schema(a) + check_schema(b)
    if problems:
        raise SchemaError("cannot compare the schemas:\n" + "\n".join(f"  {p}" for p in problems))
    changes = schema_diff.diff(load_schema(a), load_schema(b))
    if args.json:
        print(json.dumps({"a": str(a), "b": str(b), "changes": schema_diff.to_json(changes)}, indent=2))
    else:
        print(schema_diff.render(changes, str(a), str(b)), end="")
    # Like diff(1): 0 when equal, 1 when different, 2 for trouble.
    return 1 if changes else 0


def update(args) -> int:
    from driftline.mlmd.store import open_store
    from driftline.schema import diff as schema_diff
    from driftline.schema.check import check_schema, load_schema
    from driftline.schema.text_edit import rewrite, write_schema
    from pipeline import framework_output

    config = config_from(args)
    path = args.file or config.schema_file
    problems = check_schema(path)
    if problems:
        raise SchemaError("\n".join(map(str, problems)))
    if args.write:
        try:
            open(path, "r+b").close()  # opened for writing, not written: asks the real question
        except OSError as exc:
            raise SchemaError(f"{path}: cannot write this file ({exc.strerror}); nothing was "
                              "written. Copy it somewhere writable and pass the copy as FILE") from None
    text = path.read_text()
    current = load_schema(path)
    store = open_store(config)
    with framework_output.to_log_file(config.output_dir / "logs" / "schema.log", "driftline schema update"):
        from driftline.schema.update import propose

        proposal = propose(store, config.pipeline_name, args.from_run, current)
    changes = schema_diff.diff(current, proposal.proposed)
    updated = rewrite(text, current, proposal.proposed, str(path)) if changes else text
    if args.json:
        print(json.dumps({
            "run": proposal.run_id, "schema": str(path), "statistics": proposal.statistics_uri,
            "anomalies": proposal.anomalies, "drift": proposal.drift,
            "changes": schema_diff.to_json(changes), "written": bool(args.write and changes),
        }, indent=2))
    else:
        print(f"run {proposal.run_id}: statistics {proposal.statistics_uri}")
        for name, description in proposal.anomalies:
            print(f"  anomaly  {name}: {description}")
        for line in proposal.drift:
            print(f"  drift    {line}")
        print(schema_diff.render(changes, f"{path} (now)", f"{path} (accepting run {proposal.run_id})"),
              end="")
    if not changes:
        return 0
    if args.write:
        write_schema(path, updated)
        if not args.json:
            print(f"written to {path} (comments kept); check it with: driftline schema check {path}")
    elif not args.json:
        print("nothing written: add --write to apply these edits")
    return 0


def register(sub):
    """`driftline schema`'s arguments."""
    p_schema = sub.add_parser("schema", help="work with the curated schema file")
    p_schema_sub = p_schema.add_subparsers(dest="schema_command", required=True)
    p_check = common_args(p_schema_sub.add_parser(
        "check", help="report every problem as file:line:col (exit 2 if any)"))
    p_check.add_argument("file", nargs="?", type=Path, help="schema file (default: the config's)")
    p_check.set_defaults(func=check)
    p_infer = common_args(p_schema_sub.add_parser(
        "infer", help="write the schema TFDV infers from a span to schemas/inferred/"))
    p_infer.add_argument("--span", type=int, help="span to infer from (default: the latest)")
    p_infer.add_argument("--output", type=Path, help="file to write (default: schemas/inferred/span-N.pbtxt)")
    p_infer.add_argument("--output-dir", type=Path, help="where the log is written")
    p_infer.set_defaults(func=infer)
    p_diff = common_args(p_schema_sub.add_parser(
        "diff", help="feature-by-feature difference of two schemas (exit 1 if they differ)"))
    p_diff.add_argument("a", nargs="?", type=Path, help="default: the curated schema")
    p_diff.add_argument("b", nargs="?", type=Path, help="default: the newest file in schemas/inferred/")
    p_diff.add_argument("--json", action="store_true")
    p_diff.set_defaults(func=diff)
    p_update = common_args(p_schema_sub.add_parser(
        "update", help="propose the edits that accept what a run reported; --write applies them"))
    p_update.add_argument("--from-run", required=True, metavar="RUN_ID",
                        help="a pipeline run id from the run summary or `driftline lineage runs`, or 'latest'")
    p_update.add_argument("file", nargs="?", type=Path, help="schema file to edit (default: the config's)")
    p_update.add_argument("--write", action="store_true", help="write the edits (comments are kept)")
    p_update.add_argument("--output-dir", type=Path, help="the run's output directory (holds metadata.sqlite)")
    p_update.add_argument("--json", action="store_true")
    p_update.set_defaults(func=update)
