"""Mirrors MLMD's pipeline runs and deployments into an MLflow tracking server and model
registry.

MLMD stays the record: each export reads it afresh and makes MLflow match. A run is
found again through the MLflow run id kept on its MLMD run context (or, when that is
missing, its `driftline.run_id` tag), and only what differs is written, so a second
export adds nothing. The registry holds one model version per pushed version, pointing
at the pushed SavedModel (never a copy of it), and two aliases that follow the newest
deployment: `champion` for the stable version, `challenger` for a canary or a shadow.
"""
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from driftline.errors import TrackerUnavailable
from driftline.mlmd import deployments, provenance
from driftline.mlmd.lineage import Lineage
from driftline.tracking.payload import is_remote, run_payload
from pipeline import metadata

RUN_TAG = "driftline.run_id"
VERSION_TAG = "driftline.version"
# The run's artifact that names where a local push lives: MLflow accepts a model
# version's source only inside a run's artifacts or in remote storage.
LOCATION_ARTIFACT = "pushed_model"
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass
class Outcome:
    tracking_uri: str
    experiment: str
    runs: List[dict] = field(default_factory=list)       # {run_id, mlflow_run_id, action}
    versions: List[dict] = field(default_factory=list)   # {version, mlflow_version, action}
    aliases: List[dict] = field(default_factory=list)    # {alias, version, mlflow_version, action}

    def to_json(self) -> dict:
        return {"tracking_uri": self.tracking_uri, "experiment": self.experiment, "runs": self.runs,
                "versions": self.versions, "aliases": self.aliases}


def _client_settings():
    """MLflow's client retries a refused connection for minutes by default; an export
    that cannot reach its server says so within seconds instead. Its run links on stdout
    and progress logs would break `--json` and the run summary."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def check_reachable(uri: str, timeout: float = 5.0):
    """An HTTP tracking server answers its health check, or TrackerUnavailable."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as answer:
            answer.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackerUnavailable(f"the MLflow tracking server at {uri} does not answer ({reason})") from None


def client_for(uri: str):
    _client_settings()
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise TrackerUnavailable("MLflow is not installed in this environment: "
                                 "pip install 'driftline[mlflow]'") from None
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # after the import, which sets it
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


class Exporter:
    """One export: the runs of a store, then the registry."""

    def __init__(self, client, store, lineage: Lineage, outcome: Outcome):
        self.client, self.store, self.lineage, self.outcome = client, store, lineage, outcome
        self.experiment_id = self._experiment(outcome.experiment)
        self.mlflow_runs = {}  # driftline run id -> MLflow run id

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(name, tags={"driftline.pipeline": self.lineage.pipeline_name})

    # --- runs ------------------------------------------------------------------------

    def _known(self, kept: Optional[dict], payload: dict):
        """The MLflow run already mirroring this run on this server (`kept`: what the MLMD
        run records of it), or None."""
        from mlflow.exceptions import MlflowException

        if kept:
            try:
                found = self.client.get_run(kept["run_id"])
                if found.info.lifecycle_stage == "active" and found.info.experiment_id == self.experiment_id:
                    return found
            except MlflowException:
                pass  # deleted on the server, or another server at the same URI
        query = f"tags.`{RUN_TAG}` = '{payload['run_id']}'"
        found = self.client.search_runs([self.experiment_id], query, max_results=1)
        return found[0] if found else None

    def export_run(self, context, store_label: str, with_slices: bool):
        payload = run_payload(self.lineage, context, store_label, with_slices)
        kept = provenance.exports_of(context).get(self.outcome.tracking_uri)
        existing = self._known(kept, payload)
        if existing is not None and kept and kept["run_id"] == existing.info.run_id \
                and kept["digest"] == payload["digest"]:
            action = "unchanged"
        else:
            action = "updated" if existing is not None else "created"
            existing = existing or self.client.create_run(
                self.experiment_id, start_time=payload["start_ms"], run_name=payload["run_id"],
                tags={RUN_TAG: payload["run_id"]})
            self._write(existing, payload)
            provenance.record_export(self.store, payload["run_id"], self.outcome.tracking_uri,
                                     existing.info.run_id, payload["digest"])
        self.mlflow_runs[payload["run_id"]] = existing.info.run_id
        self.outcome.runs.append({"run_id": payload["run_id"], "mlflow_run_id": existing.info.run_id,
                                  "action": action, "pushed": payload["pushed"]})
        return payload

    def _write(self, run, payload: dict):
        """Only what differs: MLflow keeps every logged metric value as history, and
        refuses a param logged again with another value."""
        from mlflow.entities import Metric, Param, RunTag

        run_id, data = run.info.run_id, run.data
        end_ms = payload["start_ms"] + int(payload["seconds"] * 1000)
        params = [Param(k, v) for k, v in sorted(payload["params"].items()) if k not in data.params]
        tags = [RunTag(k, v) for k, v in sorted(payload["tags"].items()) if data.tags.get(k) != v]
        metrics = [Metric(k, v, end_ms, 0) for k, v in sorted(payload["metrics"].items())
                   if data.metrics.get(k) != v]
        for start in range(0, max(len(params), len(tags), len(metrics)), 100):
            self.client.log_batch(run_id, metrics=metrics[start:start + 100], params=params[start:start + 100],
                                  tags=tags[start:start + 100])
        self._documents(run, payload)
        if payload["status"] and run.info.status != payload["status"]:
            self.client.set_terminated(run_id, payload["status"], end_time=end_ms)

    def _documents(self, run, payload: dict):
        present = {f.path for f in self.client.list_artifacts(run.info.run_id)}
        for name, where in sorted(payload["documents"].items()):
            if is_remote(where):
                self.client.set_tag(run.info.run_id, f"link.{name}", where)
            elif name not in present:
                self.client.log_artifacts(run.info.run_id, where, name)
        pushed = payload["pushed"]
        if pushed and not is_remote(pushed["destination"]) and LOCATION_ARTIFACT not in present:
            with tempfile.TemporaryDirectory() as scratch:
                note = Path(scratch) / "location.txt"
                note.write_text(f"{pushed['destination']}\n")
                self.client.log_artifact(run.info.run_id, str(note), LOCATION_ARTIFACT)

    # --- the registry ----------------------------------------------------------------

    def _registered(self, name: str) -> dict:
        """driftline version -> MLflow model version, creating the registered model."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(
                name, tags={"driftline.pipeline": self.lineage.pipeline_name},
                description="driftline's pushed versions; the aliases follow its rollout")
        return {v.tags.get(VERSION_TAG): v.version
                for v in self.client.search_model_versions(f"name = '{name}'")}

    def register(self, name: str, pushes: List[dict]):
        known = self._registered(name)
        for entry in sorted(pushes, key=lambda p: p["pushed"]["version"]):
            pushed, version = entry["pushed"], str(entry["pushed"]["version"])
            if version in known:
                self.outcome.versions.append({"version": int(version), "mlflow_version": known[version],
                                              "action": "present"})
                continue
            mlflow_run = entry["mlflow_run_id"]
            source = (pushed["destination"] if is_remote(pushed["destination"])
                      else f"runs:/{mlflow_run}/{LOCATION_ARTIFACT}")
            created = self.client.create_model_version(
                name, source, run_id=mlflow_run,
                tags={VERSION_TAG: version, "driftline.pushed_destination": str(pushed["destination"]),
                      RUN_TAG: entry["run_id"], "driftline.pushed_model_artifact": str(pushed["artifact_id"])},
                description=f"driftline version {version}, pushed to {pushed['destination']} by run "
                            f"{entry['run_id']}")
            known[version] = created.version
            self.outcome.versions.append({"version": int(version), "mlflow_version": created.version,
                                          "action": "registered"})
        self._aliases(name, known)

    def _aliases(self, name: str, known: dict):
        newest = deployments.serving_now(self.store, self.lineage.model)
        wanted = {CHAMPION: newest and newest["stable_version"],
                  CHALLENGER: newest and (newest["canary_version"] or newest["shadow_version"])}
        now = dict(self.client.get_registered_model(name).aliases or {})
        for alias, version in wanted.items():
            target = known.get(str(version)) if version else None
            before = now.get(alias)
            if target is not None and str(before) != str(target):
                self.client.set_registered_model_alias(name, alias, target)
                action = f"moved from version {before}" if before else "set"
            elif target is None and before is not None:
                self.client.delete_registered_model_alias(name, alias)
                action = "removed"
            else:
                action = "unchanged"
            if version and target is None:
                action += f" (version {version} has no push recorded in this MLMD store)"
            self.outcome.aliases.append({"alias": alias, "version": version, "mlflow_version": target,
                                         "action": action})


def export(config, store, tracking_uri: str, experiment: Optional[str] = None,
           with_slices: bool = False) -> Outcome:
    """Every run of the pipeline in `store`, oldest first, then the registry."""
    check_reachable(tracking_uri)
    client = client_for(tracking_uri)
    from mlflow.exceptions import MlflowException

    outcome = Outcome(tracking_uri, experiment or config.pipeline_name)
    lineage = Lineage(store, config.pipeline_name, config.model_name)
    try:
        exporter = Exporter(client, store, lineage, outcome)
        pushes = {}  # version -> the first run that pushed it (a cached run pushes it again)
        for context in metadata.pipeline_runs(store):
            payload = exporter.export_run(context, config.metadata_label, with_slices)
            if payload["pushed"]:
                pushes.setdefault(payload["pushed"]["version"], {
                    "run_id": payload["run_id"], "pushed": payload["pushed"],
                    "mlflow_run_id": exporter.mlflow_runs[payload["run_id"]]})
        exporter.register(config.model_name, list(pushes.values()))
    except MlflowException as exc:
        raise TrackerUnavailable(f"the MLflow tracking server at {tracking_uri} refused the export: "
                                 f"{str(exc).splitlines()[0]}") from None
    except OSError as exc:  # the server went away mid-export
        raise TrackerUnavailable(f"the MLflow tracking server at {tracking_uri} stopped answering: {exc}") from None
    return outcome


def export_quietly(config, store=None) -> Optional[Outcome]:
    """The export to the config's tracking server after a run or a rollout change. A
    tracker that fails costs one warning line, never the run: MLMD already holds it all,
    and the next export catches up."""
    import logging
    import sys

    settings = config.mlflow
    # The run's own logs went to its log file; the store's open must not reach the terminal.
    logging.getLogger("absl").setLevel(logging.WARNING)
    try:
        if store is None:
            from driftline.mlmd.store import open_for_recording

            store = open_for_recording(config)
        outcome = export(config, store, settings.tracking_uri, settings.experiment, settings.slices)
    except Exception as exc:  # a tracker's failure of any kind must not fail the pipeline
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"warning: MLflow export to {settings.tracking_uri} failed: {reason}; MLMD holds the run, "
              "and the next export (or `driftline lineage export mlflow`) catches up", file=sys.stderr)
        return None
    from driftline.views.lineage import export_brief

    print(export_brief(outcome.to_json()), end="")
    return outcome
