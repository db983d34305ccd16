"""Where a model came from and what changed between runs, read from MLMD.

Every link is an MLMD event (an execution read an artifact, or wrote one) or an MLMD
context (an execution belongs to a pipeline run); nothing is re-derived from paths. The
functions return plain dicts so that the CLI can print them as tables or as JSON.
"""
import datetime as dt
import hashlib
import json
import os
from collections import deque
from pathlib import Path
from typing import Optional

from ml_metadata.proto import metadata_store_pb2

from components.drift_gate import verdict
from driftline.errors import MetadataError
from components.model_gate import verdict as model_verdict
from driftline.mlmd import provenance
from components.properties import value_of
from driftline.mlmd.runs import drift_brief, is_pushed
from driftline.mlmd.store import custom_property, find_run, output_artifacts
from pipeline import metadata, nodes

Event = metadata_store_pb2.Event
INPUTS = (Event.INPUT, Event.DECLARED_INPUT)
OUTPUTS = (Event.OUTPUT, Event.DECLARED_OUTPUT)
COMPLETE = metadata_store_pb2.Execution.COMPLETE



def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _maybe_json(value):
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def props_of(item) -> dict:
    found = {k: _maybe_json(value_of(v)) for k, v in item.properties.items()}
    found.update({k: _maybe_json(value_of(v)) for k, v in item.custom_properties.items()})
    return found


class Lineage:
    """Queries over one MLMD store for one pipeline."""

    def __init__(self, store, pipeline_name: str, model: str = ""):
        self.store = store
        self.pipeline_name = pipeline_name
        self.model = model  # whose deployments `serving` reads
        self._types = {}

    # --- small lookups ---------------------------------------------------------------

    def type_name(self, item) -> str:
        if item.type:
            return item.type
        kind = "artifact" if isinstance(item, metadata_store_pb2.Artifact) else "execution"
        key = (kind, item.type_id)
        if key not in self._types:
            getter = (self.store.get_artifact_types_by_id if kind == "artifact"
                      else self.store.get_execution_types_by_id)
            self._types[key] = getter([item.type_id])[0].name
        return self._types[key]

    def node_of(self, execution) -> str:
        for context in self.store.get_contexts_by_execution(execution.id):
            if context.type == metadata.NODE_CONTEXT:
                return metadata.node_id_of(context.name, self.pipeline_name)
        return self.type_name(execution)

    def run_of(self, execution) -> Optional[str]:
        for context in self.store.get_contexts_by_execution(execution.id):
            if context.type == metadata.RUN_CONTEXT:
                return context.name
        return None

    def artifact(self, artifact_id: int):
        found = self.store.get_artifacts_by_id([artifact_id])
        if not found:
            raise MetadataError(f"no artifact with id {artifact_id} in the MLMD store")
        return found[0]

    def producer(self, artifact_id: int):
        """The execution that wrote an artifact: the one that computed it, not the runs
        that later reused it from the cache."""
        events = [e for e in self.store.get_events_by_artifact_ids([artifact_id]) if e.type in OUTPUTS]
        executions = self.store.get_executions_by_id([e.execution_id for e in events])
        if not executions:
            return None
        complete = [e for e in executions if e.last_known_state == COMPLETE]
        return min(complete or executions, key=lambda e: e.id)

    def inputs(self, execution_id: int) -> list:
        """[(input key, artifact)] an execution read."""
        events = [e for e in self.store.get_events_by_execution_ids([execution_id]) if e.type in INPUTS]
        artifacts = {a.id: a for a in self.store.get_artifacts_by_id([e.artifact_id for e in events])}
        return [(e.path.steps[0].key if e.path.steps else "", artifacts[e.artifact_id])
                for e in events if e.artifact_id in artifacts]

    def outputs(self, execution_id: int) -> dict:
        return output_artifacts(self.store, execution_id)

    def run_named(self, target: str):
        """The pipeline_run context `target` names ("latest" for the newest), or None
        when it names no run (it may still be an artifact id or a path)."""
        runs = metadata.pipeline_runs(self.store)
        if target == "latest":
            return runs[-1] if runs else None
        return next((r for r in runs if r.name == target), None)

    def run_nodes(self, run_id: str) -> dict:
        return metadata.run_executions(self.store, self.pipeline_name, run_id)

    def run_output(self, executions: dict, node: str, key: str):
        if node not in executions:
            return None
        found = self.outputs(executions[node].id).get(key)
        return found[0] if found else None

    # --- describing artifacts and executions -----------------------------------------

    def describe_artifact(self, a) -> dict:
        props = props_of(a)
        described = {"kind": "artifact", "id": a.id, "type": self.type_name(a), "uri": a.uri,
                     "properties": props}
        if described["type"] == "Schema":
            described["schema_sha256"] = _file_sha256(os.path.join(a.uri, "schema.pbtxt"))
        return described

    def describe_execution(self, e) -> dict:
        node = self.node_of(e)
        props = props_of(e)
        described = {
            "kind": "execution", "id": e.id, "node": node, "type": self.type_name(e),
            "state": metadata.STATE_NAMES.get(e.last_known_state, "?"), "run": self.run_of(e),
            "started": _iso(e.create_time_since_epoch),
            "seconds": round((e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000, 1),
            "properties": props,
        }
        source = source_of(props)
        if source is not None:
            described["source"] = source
        return described

    # --- runs ------------------------------------------------------------------------

    def run_record(self, run, executions: dict = None) -> dict:
        executions = self.run_nodes(run.name) if executions is None else executions
        states = {node: metadata.STATE_NAMES.get(e.last_known_state, "?")
                  for node, e in sorted(executions.items())}
        report = self.run_output(executions, nodes.DRIFT_GATE, nodes.REPORT)
        drift = drift_brief(report)
        if drift is not None and not drift["passed"]:
            for node in nodes.gated_nodes(bool(props_of(run).get("tfma_evaluator"))):
                states.setdefault(node, "skipped by gate")
        blessing = self.run_output(executions, nodes.MODEL_GATE, nodes.BLESSING)
        judged = model_verdict.read(blessing) if blessing is not None else None
        pushed = self.run_output(executions, nodes.PUSHER, nodes.PUSHED_MODEL)
        context_props = props_of(run)
        times = [(e.create_time_since_epoch, e.last_update_time_since_epoch) for e in executions.values()]
        start = min((t[0] for t in times), default=run.create_time_since_epoch)
        end = max((t[1] for t in times), default=start)
        span = context_props.get("span")
        if span is None and drift is not None:
            span = drift["current_span"]
        return {
            "run_id": run.name,
            "started": _iso(start),
            "seconds": round((end - start) / 1000, 1),
            "span": span,
            "window": context_props.get("window"),
            "git_commit": context_props.get("git_commit", "unknown"),
            "nodes": states,
            "metrics": {m: v["value"] for m, v in judged["metrics"].items()} if judged else {},
            "intervals": judged["metrics"] if judged else {},
            "eval_examples": judged["examples"] if judged else None,
            "blessed": None if judged is None else judged["blessed"],
            "pushed_version": (custom_property(pushed, "pushed_version")
                               if is_pushed(pushed)
                               else None),
            "drift": drift,
            "stopped": context_props.get(metadata.STOPPED),
            # The MLflow run mirroring it on each tracking server it was exported to.
            "mlflow": {uri: kept["run_id"] for uri, kept in provenance.exports_of(run).items()},
        }

    def runs(self) -> list:
        """Every run of the pipeline, newest first."""
        return [self.run_record(run) for run in reversed(metadata.pipeline_runs(self.store))]

    def facts(self, run_id: str) -> dict:
        """What a run was made of, for `diff`: data, schema, code, settings, results."""
        run = find_run(self.store, run_id)
        executions = self.run_nodes(run.name)
        record = self.run_record(run, executions)
        facts = {
            "span": record["span"],
            "window": record["window"],
            "git commit": record["git_commit"],
        }
        for node, execution in sorted(executions.items()):
            source = source_of(props_of(execution))
            if source is not None:
                for name, digest in sorted(source["sha256"].items()):
                    facts[f"data span-{source['span']}/{name} sha256"] = digest
        schema = self.run_output(executions, nodes.IMPORT_SCHEMA_GEN, nodes.SCHEMA)
        if schema is not None:
            facts["schema sha256"] = _file_sha256(os.path.join(schema.uri, "schema.pbtxt"))
        for node in (nodes.TRANSFORM, nodes.TRAINER):
            if node in executions:
                custom = props_of(executions[node]).get("custom_config") or {}
                if isinstance(custom, dict):
                    facts[f"{node} code fingerprint"] = custom.get("code_fingerprint")
                    for key, value in sorted((custom.get("hparams") or {}).items()):
                        facts[f"hparam {key}"] = value
        if nodes.TRAINER in executions:
            props = props_of(executions[nodes.TRAINER])
            facts["train steps"] = steps_of(props.get("train_args"))
            facts["eval steps"] = steps_of(props.get("eval_args"))
        for name, value in sorted(record["metrics"].items()):
            facts[f"metric {name}"] = value
        facts["evaluation examples"] = record["eval_examples"]
        facts["blessed"] = record["blessed"]
        facts["pushed version"] = record["pushed_version"]
        drift = record["drift"]
        if drift is not None:
            facts["drift verdict"] = "passed" if drift["clean"] else "over threshold or anomalous"
            facts["drift offending"] = ", ".join(drift["offending"]) or "none"
            facts["drift baseline"] = f"span {drift['baseline_span']} ({drift['baseline_kind']})"
        return facts

    def diff(self, run_a: str, run_b: str) -> dict:
        a, b = self.facts(run_a), self.facts(run_b)
        rows = []
        for key in list(a) + [k for k in b if k not in a]:
            va, vb = a.get(key), b.get(key)
            if va == vb:
                continue
            row = {"fact": key, "a": va, "b": vb}
            if isinstance(va, float) and isinstance(vb, float):
                row["delta"] = vb - va
            rows.append(row)
        return {"a": find_run(self.store, run_a).name,
                "b": find_run(self.store, run_b).name, "differences": rows,
                "same": sorted(k for k in a if k in b and a[k] == b[k])}

    # --- provenance ------------------------------------------------------------------

    def resolve(self, target: str):
        """An artifact from a pushed model directory, an artifact id, a run id, 'latest'
        (the newest run's model, pushed or not: not necessarily what serves) or
        'serving' (the stable version of the newest deployment)."""
        if target == "serving":
            return self._serving_model()
        if target.isdigit():
            return self.artifact(int(target))
        path = Path(target)
        if path.exists():
            wanted = str(path.resolve())
            for type_name in ("PushedModel", "Model"):
                for a in self.store.get_artifacts_by_type(type_name):
                    destination = custom_property(a, "pushed_destination")
                    if wanted in {os.path.realpath(a.uri), os.path.realpath(destination or "//none")}:
                        return a
            raise MetadataError(f"{target}: not a pushed model or model directory recorded in "
                                "this MLMD store")
        run = self.run_named(target)
        if run is not None:
            executions = self.run_nodes(run.name)
            pushed = self.run_output(executions, nodes.PUSHER, nodes.PUSHED_MODEL)
            if is_pushed(pushed):
                return pushed
            model = self.run_output(executions, nodes.TRAINER, nodes.MODEL)
            if model is not None:
                return model
            raise MetadataError(f"run {run.name} trained no model: {self.why_no_model(run, executions)}; "
                                "trace one of its artifacts by id instead")
        raise MetadataError(f"'{target}' is not an artifact id, a run id or an existing path "
                            "(`driftline lineage runs` lists the runs)")

    def _serving_model(self):
        from driftline.mlmd import deployments

        newest = deployments.serving_now(self.store, self.model or None)
        if newest is None or newest["stable_version"] is None:
            raise MetadataError("nothing serves yet: no deployment is recorded in this MLMD store "
                                "(`driftline serve` pins the first version it loads)")
        pushed = deployments.pushed_model(self.store, newest["stable_version"])
        if pushed is None:
            raise MetadataError(f"version {newest['stable_version']} serves (deployment "
                                f"{newest['execution']}), but no push of it is recorded in this MLMD store")
        return pushed

    def pushed_blessing(self, pushed):
        """The ModelBlessing the Pusher read when it pushed `pushed`: the judgement that
        let this version out (not necessarily the Trainer's own run's)."""
        pusher = self.producer(pushed.id)
        if pusher is None:
            return None
        return next((a for key, a in self.inputs(pusher.id) if key == "model_blessing"), None)

    def why_no_model(self, run, executions: dict) -> str:
        """What the run's own records say about why it has no model."""
        stopped = props_of(run).get(metadata.STOPPED)
        if stopped:
            return f"it {stopped}"
        drift = drift_brief(self.run_output(executions, nodes.DRIFT_GATE, nodes.REPORT))
        if drift is not None and not drift["passed"]:
            found = drift["offending"] + [f"{a} (schema anomaly)" for a in drift["anomalies"]]
            return f"the drift gate stopped it ({', '.join(found) or 'example count'})"
        unfinished = sorted(n for n, e in executions.items()
                            if metadata.STATE_NAMES.get(e.last_known_state) in ("running", "new"))
        if unfinished:
            return f"it never finished {', '.join(unfinished)} (the process was killed?)"
        return "its Trainer did not run"

    def upstream(self, start) -> dict:
        """Every artifact and execution upstream of `start`, walked through events."""
        artifacts, executions, edges = {start.id: start}, {}, []
        queue = deque([start])
        while queue:
            artifact = queue.popleft()
            execution = self.producer(artifact.id)
            if execution is None:
                continue
            edges.append((f"e{execution.id}", f"a{artifact.id}", "output"))
            if execution.id in executions:
                continue
            executions[execution.id] = execution
            for key, parent in self.inputs(execution.id):
                edges.append((f"a{parent.id}", f"e{execution.id}", key))
                if parent.id not in artifacts:
                    artifacts[parent.id] = parent
                    queue.append(parent)
        return {"artifacts": artifacts, "executions": executions, "edges": edges}

    def pushes(self, artifact) -> list:
        """The PushedModels of a model (itself, for a PushedModel)."""
        pushed = [artifact] if self.type_name(artifact) == "PushedModel" else []
        if self.type_name(artifact) == "Model":
            for event in self.store.get_events_by_artifact_ids([artifact.id]):
                if event.type in INPUTS and self.node_of(self.store.get_executions_by_id(
                        [event.execution_id])[0]) == nodes.PUSHER:
                    pushed += self.outputs(event.execution_id).get(nodes.PUSHED_MODEL, [])
        return pushed

    def served(self, artifact) -> list:
        """The deployments that routed traffic to this model (a PushedModel, or the pushes
        of a Model), oldest first."""
        from driftline.mlmd import deployments

        return [d for p in self.pushes(artifact) for d in deployments.of_artifact(self.store, p.id)]

    def shadowed(self, artifact) -> list:
        """What the monitoring passes saw of this model while it shadowed, oldest first."""
        from driftline.mlmd import passes

        return [d for p in self.pushes(artifact) for d in passes.shadowed(self.store, p.id)]

    def watched(self, artifact, version: str) -> dict:
        """What the monitoring passes saw of this pushed model while it answered."""
        from driftline.mlmd import passes

        return passes.watched(self.store, artifact.id, version)

    def decisions(self, artifact) -> list:
        """The retraining and canary decisions about this model's pushes, oldest first."""
        from driftline.mlmd import decisions

        return [d for p in self.pushes(artifact) for d in decisions.history(self.store, artifact_id=p.id)]

    def trace(self, target: str) -> dict:
        start = self.resolve(target)
        graph = self.upstream(start)
        # The judgement of the model (its blessing and the predictions it was judged on,
        # which are downstream of a model, not upstream) and the drift verdict that let
        # training run: same run, not upstream through events.
        extra_roots = []
        for execution in list(graph["executions"].values()):
            if self.node_of(execution) != nodes.TRAINER:
                continue
            run = self.run_of(execution)
            executions = self.run_nodes(run) if run else {}
            for node in (nodes.MODEL_GATE, nodes.EVALUATOR):
                judge = executions.get(node)
                if judge is None:
                    continue
                graph["executions"][judge.id] = judge
                for key, produced in self.outputs(judge.id).items():
                    for artifact in produced:
                        graph["artifacts"][artifact.id] = artifact
                        graph["edges"].append((f"e{judge.id}", f"a{artifact.id}", key))
                for key, parent in self.inputs(judge.id):
                    graph["artifacts"].setdefault(parent.id, parent)
                    graph["edges"].append((f"a{parent.id}", f"e{judge.id}", key))
            report = self.run_output(executions, nodes.DRIFT_GATE, nodes.REPORT)
            if report is not None:
                extra_roots.append((report, execution))
        for report, trainer in extra_roots:
            if report.id in graph["artifacts"]:
                continue  # TFX recorded the gate's predicate as an input event already
            more = self.upstream(report)
            for key in ("artifacts", "executions"):
                graph[key].update(more[key])
            graph["edges"] += more["edges"] + [(f"a{report.id}", f"e{trainer.id}", "gate (same run)")]
        result = self._trace_result(f"a{start.id}", graph)
        summary = result["summary"]
        if self.type_name(start) == "PushedModel":
            blessing = self.pushed_blessing(start)
            if blessing is not None:  # the judgement that let this version be pushed
                judged = model_verdict.read(blessing)
                summary.update(judgement=judged, blessed=judged["blessed"], blessing=blessing.id,
                               metrics={m: v["value"] for m, v in judged["metrics"].items()})
            summary["traffic"] = self._traffic(start)
            if summary["traffic"].get("version"):
                summary["watched"] = self.watched(start, str(summary["traffic"]["version"]))
        summary["deployments"] = self.served(start)
        summary["decisions"] = self.decisions(start)
        summary["shadowed"] = self.shadowed(start)
        summary["serving_target"] = target == "serving"
        return result

    def _traffic(self, pushed) -> dict:
        from driftline.mlmd import deployments

        version = custom_property(pushed, "pushed_version")
        if version in (None, ""):
            return {}
        found = deployments.traffic(self.store, self.model or None, int(version))
        return {"version": int(version), **found}

    def _trace_result(self, target: str, graph) -> dict:
        described = {f"a{i}": self.describe_artifact(a) for i, a in graph["artifacts"].items()}
        described.update({f"e{i}": self.describe_execution(e) for i, e in graph["executions"].items()})
        edges = sorted(set(graph["edges"]))
        # The target's own line: its data edges, not the baseline model's history nor
        # the gate's predicate (those are in `described` and `edges`, for the graph).
        primary = _ancestors(target, edges)

        def pick(node_name, among):
            found = [n for k, n in described.items() if k in among and n.get("node") == node_name]
            return max(found, key=lambda n: n["id"]) if found else None

        def produced_by(execution, type_name):
            keys = {b for a, b, _ in edges if execution and a == f"e{execution['id']}"}
            return [described[k] for k in keys if described[k].get("type") == type_name]

        summary = {"target": target, "git_commit": None, "run": None}
        trainer = pick(nodes.TRAINER, primary)
        training = _ancestors(f"e{trainer['id']}", edges) if trainer else primary
        if trainer:
            custom = trainer["properties"].get("custom_config") or {}
            summary["trainer"] = {
                "execution": trainer["id"], "run": trainer["run"],
                "hparams": custom.get("hparams"), "code_fingerprint": custom.get("code_fingerprint"),
                "train_steps": steps_of(trainer["properties"].get("train_args")),
                "eval_steps": steps_of(trainer["properties"].get("eval_args")),
            }
            summary["run"] = trainer["run"]
            run = self.store.get_context_by_type_and_name(metadata.RUN_CONTEXT, trainer["run"])
            summary["git_commit"] = props_of(run).get("git_commit", "unknown") if run else "unknown"
            summary["error_analysis"] = props_of(run).get(provenance.ERROR_ANALYSIS) if run else None
        summary["sources"] = sorted(
            ({"execution": n["id"], "node": n["node"], "span": n["source"]["span"],
              "input_base": n["properties"].get("input_base"), "sha256": n["source"]["sha256"]}
             for key, n in described.items() if key in training and "source" in n),
            key=lambda s: s["span"])
        imported = pick(nodes.IMPORT_SCHEMA_GEN, training)
        summary["schema"] = [
            {"artifact": n["id"], "sha256": n["schema_sha256"],
             "file": imported["properties"].get("schema_file") if imported else None}
            for n in produced_by(imported, "Schema")]
        judges = [n for n in described.values() if n.get("node") == nodes.MODEL_GATE
                  and (trainer is None or n["run"] == trainer["run"])]
        judge = max(judges, key=lambda n: n["id"]) if judges else None
        for n in produced_by(judge, "ModelBlessing"):
            judged = model_verdict.read(self.artifact(n["id"]))
            summary["metrics"] = {m: v["value"] for m, v in judged["metrics"].items()}
            summary["judgement"] = judged
            summary["blessed"] = judged["blessed"]
        for n in produced_by(judge, model_verdict.PREDICTIONS_TYPE):
            summary["predictions"] = n["uri"]
        gates = [n for n in described.values() if n.get("node") == nodes.DRIFT_GATE
                 and (trainer is None or n["run"] == trainer["run"])]
        for n in produced_by(max(gates, key=lambda g: g["id"]) if gates else None, verdict.DRIFT_REPORT_TYPE):
            summary["drift"] = {k: n["properties"].get(k) for k in
                                ("passed", "clean", "gate", "baseline_kind", "baseline_span",
                                 "current_span", "offending")}
        return {"summary": summary, "nodes": described,
                "edges": [{"from": a, "to": b, "label": label} for a, b, label in edges]}

    # --- graphs ----------------------------------------------------------------------

    def run_graph(self, run_id: str) -> dict:
        """Every execution of a run with the artifacts it read and wrote."""
        run = find_run(self.store, run_id)
        artifacts, executions, edges = {}, {}, []
        for node, execution in self.run_nodes(run.name).items():
            executions[execution.id] = execution
            for key, artifact in self.inputs(execution.id):
                artifacts[artifact.id] = artifact
                edges.append((f"a{artifact.id}", f"e{execution.id}", key))
            for key, produced in self.outputs(execution.id).items():
                for artifact in produced:
                    artifacts[artifact.id] = artifact
                    edges.append((f"e{execution.id}", f"a{artifact.id}", key))
        pushed = self.run_output(self.run_nodes(run.name), nodes.PUSHER, nodes.PUSHED_MODEL)
        target = f"a{pushed.id}" if pushed is not None else f"r{run.id}"
        return self._trace_result(target, {"artifacts": artifacts, "executions": executions,
                                           "edges": edges})


def _ancestors(key: str, edges) -> set:
    """Everything upstream of `key` through data edges: not the gate's predicate, not the
    baseline model the Evaluator compared against."""
    parents = {}
    for source, target, label in edges:
        if not label.startswith(("_", "gate")) and label != "baseline_model":
            parents.setdefault(target, []).append(source)
    found, frontier = {key}, [key]
    while frontier:
        for parent in parents.get(frontier.pop(), []):
            if parent not in found:
                found.add(parent)
                frontier.append(parent)
    return found


def _file_sha256(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def source_of(props: dict) -> Optional[dict]:
    """The span and file hashes an ExampleGen recorded in its custom_config."""
    custom = props.get("custom_config")
    if not isinstance(custom, dict):
        return None
    packed = custom.get("custom_config") or custom.get("customConfig") or {}
    facts = packed.get("value")
    if not isinstance(facts, dict) or "source_sha256" not in facts:
        return None
    return {"span": int(facts.get("span", -1)), "sha256": facts["source_sha256"]}


def steps_of(args) -> Optional[int]:
    if isinstance(args, dict):
        value = args.get("num_steps") or args.get("numSteps")
        return int(value) if value is not None else None
    return None

