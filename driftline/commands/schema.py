"""`driftline schema check | infer | diff | update`: working with the curated schema file."""
import json
from pathlib import Path

from components.errors import SchemaError
from driftline import errors
from driftline.commands.common import config_from
from pipeline.errors import ConfigError


def check(args) -> int:
    from components.model.features import model_inputs
    from driftline.schema.check import check_schema, data_header, load_schema

    config = config_from(args)
    path = args.file or config.schema_file
    problems = check_schema(path, data_header(config.data_root), model_inputs())
    for problem in problems:
        print(problem)
    if problems:
        return errors.BAD_INPUT
    schema = load_schema(path)
    print(f"{path}: ok ({len(schema.feature)} features, {len(schema.string_domain)} string domains)")
    return 0


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
