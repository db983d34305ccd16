"""`driftline kubeflow rehearse`: the compiled KFP v2 spec executed on this machine, task
by task, the way a Kubeflow launcher would.

This is a rehearsal, not a Kubeflow backend. For each task, in dependency order, it
builds the ExecutorInput a KFP v2 launcher builds (input artifacts from the producing
tasks' outputs, parameters, output artifact URIs under the pipeline root, the output
file) and runs the task's exact container command and arguments from the spec
(TFX's `kubeflow_v2_run_executor` entrypoint, and a task's pre-cache-check driver
first), with this project's virtualenv standing in for the image and a local directory
standing in for each bucket. Resolver tasks run their artifact queries against the
artifacts earlier tasks and earlier rehearsals produced; a task's trigger condition is
evaluated on its inputs' metadata, and a task whose condition is false, or whose
producer was skipped, is skipped, as on a cluster.

What it checks: that every import path and executor class the spec names resolves in
the project's code, that exec properties survive their serialization, that artifacts
pass from task to task with their types and metadata, resolver queries, conditions,
and that the run ends with a pushed model. What it cannot: the image itself (its
Python, its installed packages), the cluster (scheduling, resources, service accounts,
the bucket's permissions), and KFP's own MLMD writes (here, a JSON registry stands in).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from components.errors import DriftlineError

REGISTRY = "registry.json"


class RehearsalError(DriftlineError):
    """The spec cannot be rehearsed (not a KFP v2 spec, an unknown construct)."""


@dataclass
class TaskResult:
    name: str
    state: str            # complete, resolved, skipped, failed
    seconds: float = 0.0
    message: str = ""
    outputs: Dict[str, list] = field(default_factory=dict)


def load_spec(path: Path) -> dict:
    """The spec as a dict, checked against KFP's PipelineSpec proto."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    try:
        spec = yaml.safe_load(Path(path).read_text())
        json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
    except (OSError, yaml.YAMLError, json_format.ParseError, TypeError) as exc:
        raise RehearsalError(f"{path}: not a KFP v2 pipeline spec: {str(exc).splitlines()[0]}") from None
    return spec


def order(tasks: dict) -> List[str]:
    """Task names so that every task comes after the tasks it depends on."""
    needs = {}
    for name, task in tasks.items():
        upstream = set(task.get("dependentTasks", []))
        for source in task.get("inputs", {}).get("artifacts", {}).values():
            producer = source.get("taskOutputArtifact", {}).get("producerTask")
            if producer:
                upstream.add(producer)
        needs[name] = upstream
    done, result = set(), []
    while len(result) < len(tasks):
        ready = sorted(n for n in tasks if n not in done and needs[n] <= done)
        if not ready:
            raise RehearsalError(f"the spec's tasks depend on each other in a cycle: "
                                 f"{sorted(set(tasks) - done)}")
        for name in ready:
            done.add(name)
            result.append(name)
    return result


_CONDITION = re.compile(
    r"^inputs\.artifacts\['([^']+)'\]\.artifacts\[0\]\.metadata\['([^']+)'\]\s*==\s*([0-9.]+|'[^']*'|\"[^\"]*\")$")


def condition_holds(condition: str, inputs: Dict[str, list]) -> bool:
    """A KFP trigger condition of the forms TFX's compiler writes: comparisons of an
    input artifact's metadata with a constant, joined by &&."""
    for clause in condition.split("&&"):
        clause = clause.strip()
        while clause.startswith("(") and clause.endswith(")"):
            clause = clause[1:-1].strip()
        match = _CONDITION.match(clause)
        if not match:
            raise RehearsalError(f"cannot evaluate the trigger condition {condition!r}")
        key, name, constant = match.groups()
        artifacts = inputs.get(key) or []
        if not artifacts:
            return False
        value = artifacts[0].get("metadata", {}).get(name)
        expected = float(constant) if constant[0] not in "'\"" else constant[1:-1]
        if value != expected:
            return False
    return True


class Rehearsal:
    def __init__(self, spec: dict, workdir: Path, substitutions: Dict[str, str],
                 pipeline_root: str, isolation: str = "process", python: str = sys.executable):
        self.spec = spec
        self.workdir = Path(workdir)
        # Remote prefixes (gs://bucket, the image's paths) -> local directories, replaced in
        # one pass (longest first) so that one replacement never feeds another.
        self.substitutions = dict(substitutions)
        self._prefixes = re.compile("|".join(re.escape(k) for k in sorted(substitutions, key=len, reverse=True)))
        self.pipeline_root = self.local(pipeline_root)
        self.isolation = isolation
        self.python = python
        self.run_id = self._new_run_id()
        self.registry_path = self.workdir / REGISTRY
        self.registry = (json.loads(self.registry_path.read_text())
                         if self.registry_path.exists() else [])
        self.produced: Dict[str, Dict[str, list]] = {}
        self.results: List[TaskResult] = []
        self._warm = None

    def _new_run_id(self) -> str:
        """A run id no earlier rehearsal in this pipeline root used: the time to the second,
        and a count after it when a rehearsal of the same second exists (its outputs would
        otherwise be found where this one's go, and TFX refuses to overwrite them)."""
        stamp = time.strftime("rehearsal-%Y%m%d-%H%M%S")
        run_id, count = stamp, 1
        while Path(self.pipeline_root, run_id).exists():
            count += 1
            run_id = f"{stamp}-{count}"
        Path(self.pipeline_root, run_id).mkdir(parents=True, exist_ok=True)
        return run_id

    # --- paths -----------------------------------------------------------------------

    def local(self, text: str) -> str:
        if not self.substitutions:
            return text
        return self._prefixes.sub(lambda m: self.substitutions[m.group(0)], text)

    # --- the run ---------------------------------------------------------------------

    def run(self, on_task=None) -> List[TaskResult]:
        tasks = self.spec["root"]["dag"]["tasks"]
        for name in order(tasks):
            started = time.monotonic()
            try:
                result = self._task(name, tasks[name])
            except RehearsalError as exc:  # a construct of this task's the rehearsal cannot run
                result = TaskResult(name, "failed", message=str(exc))
            result.seconds = time.monotonic() - started
            self.results.append(result)
            self.produced[name] = result.outputs
            if on_task:
                on_task(result)
            if result.state == "failed":
                break
        self.registry_path.parent.mkdir(parents=True, exist_ok=True)
        self.registry_path.write_text(json.dumps(self.registry, indent=1))
        return self.results

    def _inputs(self, task: dict) -> Dict[str, list]:
        found = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            output = source.get("taskOutputArtifact")
            if output is None:
                raise RehearsalError(f"input artifact {key!r} has a source the rehearsal does not "
                                     f"know: {source}")
            found[key] = self.produced.get(output["producerTask"], {}).get(output["outputArtifactKey"], [])
        return found

    def _task(self, name: str, task: dict) -> TaskResult:
        skipped = [p for p in task.get("dependentTasks", []) if self._state(p) == "skipped"]
        if skipped:
            return TaskResult(name, "skipped", message=f"upstream {', '.join(skipped)} skipped")
        inputs = self._inputs(task)
        condition = task.get("triggerPolicy", {}).get("condition")
        if condition and not condition_holds(condition, inputs):
            return TaskResult(name, "skipped", message=f"condition false: {condition}")
        component = self.spec["components"][task["componentRef"]["name"]]
        executor = self.spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if "resolver" in executor:
            return self._resolve(name, executor["resolver"], inputs)
        if "container" in executor:
            return self._container(name, task, component, executor["container"], inputs)
        raise RehearsalError(f"task {name}: executor kind {sorted(executor)} is not rehearsed")

    def _state(self, name: str) -> Optional[str]:
        return next((r.state for r in self.results if r.name == name), None)

    # --- resolver tasks: queries over the artifacts produced so far ----------------------

    def _resolve(self, name: str, resolver: dict, inputs: Dict[str, list]) -> TaskResult:
        outputs = {}
        for key, query in resolver.get("outputArtifactQueries", {}).items():
            matches = [a for a in self.registry if _matches(query["filter"], a, inputs)]
            # The newest artifact that matches, as KFP's resolver returns it.
            outputs[key] = [max(matches, key=lambda a: a["created"])] if matches else []
        found = ", ".join(f"{k}: {v[0]['name'] if v else 'nothing'}" for k, v in outputs.items())
        return TaskResult(name, "resolved", message=found, outputs=outputs)

    # --- container tasks: the spec's command and arguments -----------------------------

    def _executor_input(self, name: str, task: dict, component: dict, inputs: Dict[str, list]) -> dict:
        task_root = f"{self.pipeline_root}/{self.run_id}/{name}"
        parameters, values = {}, {}
        for key, source in task.get("inputs", {}).get("parameters", {}).items():
            constant = source.get("runtimeValue", {}).get("constantValue")
            if constant is None:
                raise RehearsalError(f"task {name}: parameter {key!r} is not a constant: {source}")
            kind, value = next(iter(constant.items()))
            if kind == "stringValue":
                value = self.local(value)
                parameters[key], values[key] = {"stringValue": value}, value
            elif kind == "intValue":
                parameters[key], values[key] = {"intValue": str(value)}, int(value)
            elif kind == "doubleValue":
                parameters[key], values[key] = {"doubleValue": value}, float(value)
            else:
                raise RehearsalError(f"task {name}: parameter {key!r} of kind {kind} is not rehearsed")
        outputs = {}
        for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            outputs[key] = {"artifacts": [{
                "name": f"{self.run_id}/{name}/{key}",
                "type": definition["artifactType"],
                "uri": f"{task_root}/{key}",
                "metadata": {},
            }]}
        return {
            "inputs": {
                "artifacts": {k: {"artifacts": [_runtime(a) for a in v]} for k, v in inputs.items() if v},
                "parameters": parameters,
                "parameterValues": values,
            },
            "outputs": {"artifacts": outputs, "outputFile": f"{task_root}/executor_output.json"},
        }

    def _container(self, name, task, component, container, inputs) -> TaskResult:
        executor_input = self._executor_input(name, task, component, inputs)
        serialized = json.dumps(executor_input)
        log = self.workdir / "logs" / f"{self.run_id}-{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        steps = []
        pre = container.get("lifecycle", {}).get("preCacheCheck")
        if pre:
            steps.append(("driver", pre["command"], pre.get("args", [])))
        steps.append(("executor", container["command"], container.get("args", [])))
        output_file = Path(executor_input["outputs"]["outputFile"])
        for label, command, args in steps:
            argv = [serialized if a == "{{$}}" else self.local(a) for a in args]
            code = self._execute(command, argv, log)
            if code != 0:
                return TaskResult(name, "failed", message=f"{label} exited {code}: {_last_error(log)} "
                                                          f"(log: {log})")
            if label == "driver":
                # The pipeline service reads the driver's output and runs the executor with
                # the execution properties it resolved (span, version, fingerprint, pattern).
                _apply_driver_output(executor_input, output_file)
                serialized = json.dumps(executor_input)
        if not output_file.exists():
            return TaskResult(name, "failed", message=f"no executor output file {output_file} (log: {log})")
        written = json.loads(output_file.read_text()).get("artifacts", {})
        outputs = {}
        for key, declared in executor_input["outputs"]["artifacts"].items():
            artifact = dict(declared["artifacts"][0])
            reported = written.get(key, {}).get("artifacts", [{}])[0]
            artifact["metadata"] = reported.get("metadata", {})
            artifact["created"] = time.time()
            outputs[key] = [artifact]
            self.registry.append(artifact)
        return TaskResult(name, "complete", outputs=outputs)

    def _execute(self, command: List[str], argv: List[str], log: Path) -> int:
        if command[:2] != ["python", "-m"] or len(command) != 3:
            raise RehearsalError(f"command {command} is not `python -m MODULE`: the rehearsal runs "
                                 "only Python entrypoints")
        with open(log, "a") as out:
            if self.isolation == "fork":
                code = self._fork(command[2], argv, out)
                if code >= 0:
                    return code
                # A forked child of a process with TensorFlow's threads can die on a lock one
                # of them held at the fork: that says nothing of the task, so it runs again
                # the way its container runs it, as a fresh process.
                out.write(f"\n[rehearsal] the forked task died by signal {-code}; running it again "
                          "as a fresh process\n")
                out.flush()
            return subprocess.run([self.python, "-m", command[2], *argv], stdout=out,
                                  stderr=subprocess.STDOUT).returncode

    def _fork(self, module: str, argv: List[str], out) -> int:
        """The same module and arguments in a child of a process that has already imported
        TensorFlow, TFX and Beam: what a task does, without paying for the imports."""
        if self._warm is None:
            import runpy  # noqa: F401

            import apache_beam  # noqa: F401
            import tensorflow  # noqa: F401
            import tensorflow_model_analysis  # noqa: F401
            import tensorflow_transform  # noqa: F401
            import tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor  # noqa: F401

            self._warm = True
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: the task, then exit without running the parent's cleanup
            code = 1
            try:
                import runpy

                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
                sys.argv = [module, *argv]
                try:
                    runpy.run_module(module, run_name="__main__", alter_sys=True)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except BaseException:  # noqa: BLE001 - reported through the exit code and the log
                    import traceback

                    traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


def _apply_driver_output(executor_input: dict, output_file: Path):
    """What the launcher does with a driver's output: the execution properties and the
    output artifacts' metadata it resolved (ExampleGen's span, version, fingerprint)
    become the executor's."""
    if not output_file.exists():
        return
    written = json.loads(output_file.read_text())
    for key, listed in written.get("artifacts", {}).items():
        declared = executor_input["outputs"]["artifacts"].get(key)
        if declared and listed.get("artifacts"):
            declared["artifacts"][0]["metadata"].update(listed["artifacts"][0].get("metadata", {}))
    resolved = written.get("parameterValues", {})
    inputs = executor_input["inputs"]
    for key, value in resolved.items():
        inputs["parameterValues"][key] = value
        if isinstance(value, str):
            inputs["parameters"][key] = {"stringValue": value}
        elif isinstance(value, (int, float)) and float(value).is_integer():
            inputs["parameters"][key] = {"intValue": str(int(value))}
        else:
            inputs["parameters"][key] = {"doubleValue": value}


def _runtime(artifact: dict) -> dict:
    return {k: artifact[k] for k in ("name", "type", "uri", "metadata")}


def _title(artifact: dict) -> str:
    kind = artifact["type"]
    if "schemaTitle" in kind:
        return kind["schemaTitle"]
    return yaml.safe_load(kind["instanceSchema"]).get("title", "")


_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}")


def _matches(query: str, artifact: dict, inputs: Dict[str, list]) -> bool:
    """Whether an artifact passes a KFP resolver filter of the forms TFX's compiler
    writes: schema_title="T", state=LIVE, metadata.K.number_value=V, name="..." (with
    an input artifact's metadata substituted)."""
    for clause in query.split(" AND "):
        clause = clause.strip()
        key, _, value = clause.partition("=")
        value = value.strip()

        def placeholder(match):
            found = inputs.get(match.group(1)) or [{}]
            return str(found[0].get("metadata", {}).get(match.group(2), ""))

        value = _PLACEHOLDER.sub(placeholder, value)
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        if key == "schema_title":
            if _title(artifact) != value:
                return False
        elif key == "state":
            if value != "LIVE":
                return False
        elif key == "name":
            if artifact["name"] != value:
                return False
        elif key.startswith("metadata.") and key.endswith(".number_value"):
            if artifact.get("metadata", {}).get(key[len("metadata."):-len(".number_value")]) != float(value):
                return False
        else:
            raise RehearsalError(f"resolver filter clause {clause!r} is not rehearsed")
    return True


def _last_error(log: Path) -> str:
    lines = [l.strip() for l in log.read_text(errors="replace").splitlines() if l.strip()]
    errors = [l for l in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", l)]
    return (errors or lines or ["(no output)"])[-1][:300]


def _bucket(url: str) -> str:
    """scheme://bucket of a URL."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def for_config(config, spec: dict, workdir: Path, isolation: str) -> Rehearsal:
    """A rehearsal of `spec` with local stand-ins for the config's buckets and for the
    image: the spans of the config's (local) data root copied into the data bucket's
    stand-in, and the schema at the content-addressed path the spec names inside the
    image, as the Dockerfile puts it there."""
    from pipeline.inputs import IMAGE_SCHEMA_DIR, image_schema_path
    from pipeline.spans import find_spans, span_dir

    workdir = Path(workdir)
    settings = config.kubeflow
    buckets = {_bucket(url) for url in (settings.pipeline_root, settings.data_root, settings.serving_dir)}
    substitutions = {bucket: str(workdir / "buckets" / bucket.replace("://", "/")) for bucket in buckets}
    image = workdir / "image"
    substitutions[IMAGE_SCHEMA_DIR] = str(image / IMAGE_SCHEMA_DIR.lstrip("/"))
    runner = Rehearsal(spec, workdir, substitutions, settings.pipeline_root, isolation=isolation)
    local_data = Path(runner.local(settings.data_root))
    for span in find_spans(config.data_root):
        target = local_data / f"span-{span}"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(span_dir(config.data_root, span), target)
    snapshot = Path(runner.local(image_schema_path(config.schema_file)))
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(config.schema_file, snapshot)
    return runner
