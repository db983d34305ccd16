"""`driftline lineage runs | trace | diff | graph`: where a model came from, from MLMD."""
import sys

from driftline.commands.common import config_from, emit, print_json


def _lineage(args):
    from driftline.mlmd.lineage import Lineage
    from driftline.mlmd.store import open_store

    config = config_from(args)
    store = open_store(config, args.store)
    return Lineage(store, config.pipeline_name, config.model_name)


def runs(args) -> int:
    from driftline.views import lineage as views

    found = _lineage(args).runs()
    return emit(args, found[: args.limit] if args.limit else found, views.runs_table)


def trace(args) -> int:
    from driftline.views import lineage as views

    return emit(args, _lineage(args).trace(args.target), views.trace_text)


def diff(args) -> int:
    from driftline.views import lineage as views

    return emit(args, _lineage(args).diff(args.run_a, args.run_b), views.diff_table)


def graph(args) -> int:
    from driftline.views import lineage as views

    lineage = _lineage(args)
    run = lineage.run_named(args.target)
    if run is not None:
        found = lineage.run_graph(run.name)
        title = f"run {run.name}"
    else:
        found = lineage.trace(args.target)
        title = f"provenance of {args.target}"
    dot_text = views.dot(found, title)
    mermaid_text = views.mermaid(found, title)
    if args.json:
        print_json({"dot": dot_text, "mermaid": mermaid_text, "nodes": found["nodes"],
                    "edges": found["edges"]})
    elif args.format == "mermaid":
        print(mermaid_text, end="")
    else:
        print(dot_text, end="")
    if args.output:
        path = views.render_image(dot_text, args.output)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def deployments(args) -> int:
    import datetime as dt

    from driftline.mlmd.deployments import history
    from driftline.mlmd.store import open_store

    config = config_from(args)
    found = history(open_store(config, args.store), config.model_name)

    def table(entries):
        if not entries:
            return "no deployments recorded: `driftline rollout` records each change\n"
        lines = []
        for e in entries:
            when = dt.datetime.fromtimestamp(e["time_ms"] / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            canary = f", canary {e['canary_version']} at {e['canary_percent']:g}%" if e["canary_version"] else ""
            lines.append(f"{when}  revision {e['revision']:<3} {e['action']:<8} stable {e['stable_version']}"
                         f"{canary}  ({e['reason'] or 'no reason given'})")
        return "\n".join(lines) + "\n"

    return emit(args, found, table)
