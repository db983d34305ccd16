"""The retraining policy `driftline monitor --watch` (and `driftline replay`) runs: one
tick judges every complete new window of the request log, joins every new outcome file,
then decides one thing.

- A canary is serving: it is judged once `canary_min_labelled` of its requests have
  outcomes, on the requests since it started, beside the stable version's of the same
  period. Promoted when its error rate and p99 latency are within [monitoring] and its
  online F1 is not below the stable version's by more than `canary_f1_margin` beyond
  noise (the whole bootstrap interval of the difference under -margin); rolled back
  otherwise.
- No canary: when an alarm of a `triggers` kind has held for `alarm_windows`
  consecutive judged passes since the last change, and a span newer than the one the
  stable version was trained up to has arrived, the pipeline runs on it and a blessed
  model becomes a canary. With no newer span, the wait is recorded once per streak.

Every decision and its reason is printed and recorded in MLMD (retraining.py); the
streaks are read back from MLMD, so a restarted watcher carries on where it stopped.
"""
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from components.errors import DataError
from driftline.monitoring import labels as online, window as windows
from driftline.autopilot import retraining

WAITING = "waiting: "


# --- reading what happened --------------------------------------------------------------

def _since(store, model: str) -> float:
    """The time (s) of the newest change a streak must start after: a retraining or canary
    decision (not a recorded wait) or a rollout change."""
    from driftline.mlmd.deployments import history as deployments

    times = [d["time_ms"] for d in retraining.history(store, model) if not d["outcome"].startswith(WAITING)]
    times += [d["time_ms"] for d in deployments(store, model)]
    return max(times, default=0) / 1000.0


def streaks(found: dict, stable: Optional[int], since: float, triggers: List[str]) -> Dict[str, dict]:
    """kind -> {"windows": consecutive judged passes (newest backwards) with that alarm
    about the stable version (drift: about the window), "alarm": the newest alarm}."""
    out = {}
    version = str(stable) if stable is not None else None

    def relevant(alarm, kind):
        return alarm["kind"] == kind and (kind == "drift" or alarm["version"] == version)

    for kind in triggers:
        if kind == "online_f1":
            history = [o for o in found["outcomes"] if o["time"] > since and
                       o["result"].get("versions", {}).get(version, {}).get("judged")]
        else:
            history = [p for p in found["passes"] if p["time"] > since and p["result"].get("judged")]
        count, newest = 0, None
        for entry in reversed(history):
            hits = [a for a in entry["result"].get("alarms", []) if relevant(a, kind)]
            if not hits:
                break
            count += 1
            newest = newest or hits[0]
        out[kind] = {"windows": count, "alarm": newest}
    return out


def trained_span(store, config, version: int) -> Optional[int]:
    """The newest span the model pushed as `version` was trained on (its run's span)."""
    from components.properties import custom_property
    from driftline.monitoring.baseline import trained
    from pipeline import metadata

    found = trained(store, config.pipeline_name, str(version))
    if found is None or not found.run:
        return None
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, found.run)
    span = custom_property(context, "span") if context is not None else None
    return int(span) if span is not None else None


def _outcome_files(directory: Path) -> List[Path]:
    return sorted(directory.glob("*.csv")) if directory.is_dir() else []


def _read_outcomes(files, task) -> dict:
    merged = {}
    for path in files:
        merged.update(online.read_outcomes(path, task))
    return merged


def _error_rate(url: str, model: str, version: int) -> Optional[tuple]:
    """(errors, requests) the server counted for `version`, from its /metrics."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    errors = total = 0.0
    for line in text.splitlines():
        if not line.startswith("driftline_requests_total{"):
            continue
        if f'model="{model}"' not in line or f'version="{version}"' not in line:
            continue
        value = float(line.rsplit(" ", 1)[1])
        total += value
        if 'code="200"' not in line:
            errors += value
    return errors, total


# --- one tick ---------------------------------------------------------------------------

class Watcher:
    def __init__(self, config, schema, store, target, log_dir: Path, say: Callable[[str], None] = print,
                 dashboard: bool = True):
        self.config, self.schema, self.store, self.target = config, schema, store, target
        self.log_dir, self.say, self.dashboard = Path(log_dir), say, dashboard
        self.settings = config.retraining
        from pipeline.inputs import resolve_task

        self.task = resolve_task(config)

    def tick(self) -> dict:
        """Judges what is new, then decides; returns {"passes", "outcomes", "decision"}."""
        from driftline.monitoring import dashboard

        done = {"passes": [], "outcomes": None, "decision": None}
        notes = []
        try:
            table, files = windows.read_log(self.log_dir, notes=notes)
        except DataError as exc:
            self.say(f"waiting         {exc}")
            return done
        for note in notes:
            self.say(f"note            {note}")
        found = dashboard.history(self.store, self.config.model_name)
        after = max((p["result"].get("last_timestamp", 0.0) for p in found["passes"]), default=0.0)
        for window in windows.consecutive(table, files, after, self.config.monitoring.window_rows):
            done["passes"].append(self._window_pass(window))
        done["outcomes"] = self._outcome_pass(table, found)
        from driftline.serving.errors import RolloutRefused

        try:
            done["decision"] = self.decide(table)
        except RolloutRefused as exc:  # a server down for a moment: the next tick decides
            self.say(f"no decision     {exc}")
        return done

    def _window_pass(self, window) -> dict:
        from driftline.monitoring import passes

        result = passes.window_pass(self.config, self.schema, self.store, window, self.dashboard)
        alarms = result["alarms"]
        self.say(f"window          {result['rows']} requests to {_clock(result['last_timestamp'])}: "
                 + ("not judged (too few)" if not result["judged"] else
                    f"{len(alarms)} alarm(s)" + (": " + ", ".join(_brief(a) for a in alarms) if alarms else ""))
                 + f" (MLMD execution {result['execution']})")
        return result

    def _outcome_pass(self, table, found) -> Optional[dict]:
        from driftline.monitoring import passes

        joined_before = {f for o in found["outcomes"] for f in o["result"].get("outcome_files", [])}
        new = [f for f in _outcome_files(self.config.outcomes_dir) if str(f) not in joined_before]
        if not new:
            return None
        joined = online.join(table, _read_outcomes(new, self.task), self.task)
        if joined["matched"] == 0:  # outcomes for requests not logged yet: kept for a later tick
            return None
        result = passes.outcome_pass(self.config, self.store, joined, new, self.dashboard)
        parts = [f"{v} {online.online_text(info)}" if info["judged"]
                 else f"{v} {info['rows']} labelled (too few)" for v, info in result["versions"].items()]
        self.say(f"outcomes        {len(new)} file(s), {joined['matched']} joined: " + ", ".join(parts)
                 + "".join(f"; ALARM {a['text']}" for a in result["alarms"])
                 + f" (MLMD execution {result['execution']})")
        return result

    # --- deciding -------------------------------------------------------------------------

    def decide(self, table) -> Optional[dict]:
        """`table`: the request log as this tick read it."""
        from driftline.serving import rollout

        state = rollout.server_state(self.target)
        policy = rollout.current(self.target, state)
        if policy.canary is not None:
            return self.judge_canary(policy, table)
        return self.consider_retraining(policy)

    def consider_retraining(self, policy) -> Optional[dict]:
        from driftline.monitoring import dashboard
        from pipeline.spans import find_spans

        model = self.config.model_name
        since = _since(self.store, model)
        held = {kind: s for kind, s in streaks(dashboard.history(self.store, model), policy.stable, since,
                                               self.settings.triggers).items()
                if s["windows"] >= self.settings.alarm_windows}
        if not held:
            return None
        kind, streak = max(held.items(), key=lambda item: item[1]["windows"])
        alarm = streak["alarm"]
        why = f"{alarm['text']}; held for {streak['windows']} consecutive windows"
        newest = max(find_spans(Path(self.config.data_root)), default=None)
        trained = trained_span(self.store, self.config, policy.stable) if policy.stable is not None else None
        if newest is None or (trained is not None and newest <= trained):
            waited = [d for d in retraining.history(self.store, model)
                      if d["time_ms"] / 1000.0 > since and d["outcome"].startswith(WAITING)]
            if waited:
                return None
            outcome = (f"{WAITING}no span newer than span {trained}, which version {policy.stable} was "
                       "trained up to, has arrived")
            execution = retraining.record(self.store, model, kind, why, "", outcome, str(policy.stable or ""),
                                          details={"streak": streak, "newest_span": newest, "trained_span": trained})
            self.say(f"DECISION        {outcome}; retraining waits ({why}; MLMD execution {execution})")
            return {"execution": execution, "trigger": kind, "reason": why, "outcome": outcome}
        reason = f"{why}; span {newest} is newer than span {trained}, which version {policy.stable} was trained up to"
        self.say(f"DECISION        retrain on span {newest}: {reason}")
        from driftline.errors import GateBlocked

        try:
            return retraining.retrain(self.config, self.store, self.target, kind, reason,
                                      self.config.serving.canary_percent, say=self.say,
                                      details={"streak": streak, "newest_span": newest, "trained_span": trained})
        except GateBlocked as blocked:
            self.say(str(blocked))
            return {"trigger": kind, "reason": reason, "outcome": "blocked by the drift gate"}

    def judge_canary(self, policy, table) -> Optional[dict]:
        from driftline.mlmd.deployments import history as deployments
        from driftline.serving import rollout

        model, canary, stable = self.config.model_name, policy.canary, policy.stable
        started = max((d["time_ms"] for d in deployments(self.store, model)
                       if d["action"] == "canary" and d["canary_version"] == canary), default=0) / 1000.0
        recent = windows.since(table, started)
        outcomes = _read_outcomes(_outcome_files(self.config.outcomes_dir), self.task)
        joined = online.join(recent, outcomes, self.task)["versions"]
        empty = (np.zeros(0), np.zeros(0))
        (c_labels, c_scores), (s_labels, s_scores) = joined.get(str(canary), empty), joined.get(str(stable), empty)
        if self.task.kind != "regression":
            # Each version is judged by its decisions, at its own operating threshold.
            c_scores, s_scores = (np.asarray(scores) >= t for scores, t in zip(
                (c_scores, s_scores), self.thresholds((str(canary), str(stable)))))
        need = self.settings.canary_min_labelled
        if c_labels.size < need:
            self.say(f"canary          version {canary}: {c_labels.size} of its requests have outcomes, "
                     f"{need} needed before it is judged")
            return None
        verdict = self.canary_verdict(recent, canary, stable, c_labels, c_scores, s_labels, s_scores)
        details = verdict["details"]
        if verdict["problems"]:
            outcome, reason = "rolled back", "; ".join(verdict["problems"])
            new, deployment = rollout.rollback(self.target, f"canary {canary} rolled back: {reason}")
        else:
            outcome, reason = "promoted", "; ".join(verdict["held"])
            new, deployment = rollout.promote(self.target, f"canary {canary} promoted: {reason}")
        execution = retraining.record(self.store, model, "canary", reason, "", outcome, str(canary), deployment,
                                      details, also_about=(str(stable),))
        self.say(f"DECISION        canary {canary} {outcome}: {reason} (revision {new.revision}, deployment {deployment}; "
                 f"MLMD execution {execution})")
        return {"execution": execution, "trigger": "canary", "reason": reason, "outcome": outcome,
                "pushed_version": str(canary), "canary_deployment": deployment}

    def thresholds(self, versions) -> list:
        """Each version's operating threshold, as recorded on its model in MLMD."""
        from driftline.monitoring.baseline import operating_thresholds, trained

        found = operating_thresholds({v: trained(self.store, self.config.pipeline_name, v) for v in versions})
        return [found[v] for v in versions]

    def canary_verdict(self, recent, canary, stable, c_labels, c_scores, s_labels, s_scores) -> dict:
        from components.model_gate import metrics

        monitoring, margin = self.config.monitoring, self.settings.canary_f1_margin
        problems, held = [], []
        details = {"canary": canary, "stable": stable, "canary_labelled": int(c_labels.size),
                   "stable_labelled": int(s_labels.size)}
        counted = _error_rate(self.target.url, self.config.model_name, canary)
        if counted and counted[1]:
            rate = counted[0] / counted[1]
            details["canary_error_rate"] = rate
            (problems if rate > monitoring.error_rate else held).append(
                f"error rate {rate:.3f} {'over' if rate > monitoring.error_rate else 'within'} "
                f"{monitoring.error_rate:g} ({int(counted[0])} of {int(counted[1])} requests)")
        latency = windows.floats(windows.rows_of(recent, str(canary)), "latency_ms")
        p99 = float(np.percentile(latency, 99)) if latency.size else 0.0
        details["canary_p99_ms"] = p99
        (problems if p99 > monitoring.p99_latency_ms else held).append(
            f"p99 latency {p99:.1f} ms {'over' if p99 > monitoring.p99_latency_ms else 'within'} "
            f"{monitoring.p99_latency_ms:g} ms")
        if self.task.kind == "regression":
            held_or_problem = rmse_verdict(c_labels, c_scores, s_labels, s_scores, self.config)
            (problems if held_or_problem[0] else held).append(held_or_problem[1])
            details.update(held_or_problem[2])
            return {"problems": problems, "held": held, "details": details}
        f1_canary = metrics.at_threshold(c_labels, c_scores)["f1_score"]
        if s_labels.size < self.settings.canary_min_labelled:
            held.append(f"online F1 {f1_canary:.3f} on {c_labels.size} labelled requests (the stable "
                        f"version has only {s_labels.size} of the same period: not compared)")
            details["canary_f1"] = f1_canary
            return {"problems": problems, "held": held, "details": details}
        difference = f1_difference(c_labels, c_scores, s_labels, s_scores, self.config)
        f1_stable = metrics.at_threshold(s_labels, s_scores)["f1_score"]
        details.update({"canary_f1": f1_canary, "stable_f1": f1_stable, "f1_difference": difference.to_json(),
                        "f1_margin": margin})
        text = (f"online F1 {f1_canary:.3f} against the stable version's {f1_stable:.3f} "
                f"(difference {difference.text()}, {c_labels.size} and {s_labels.size} labelled requests)")
        if difference.high < -margin:
            problems.append(f"{text} is worse by more than the margin {margin:g}, beyond noise")
        else:
            held.append(f"{text} is not worse by more than {margin:g} beyond noise")
        return {"problems": problems, "held": held, "details": details}


def unpaired_difference(value_of, c_labels, c_scores, s_labels, s_scores, config):
    """value_of(canary) − value_of(stable) with a bootstrap interval. The two versions
    answered different requests, so each is resampled on its own (not paired)."""
    from components.model_gate import metrics

    samples, seed = config.evaluation.bootstrap_samples, config.training.seed
    c_idx = metrics.resample_indices(c_labels.size, samples, seed)
    s_idx = metrics.resample_indices(s_labels.size, samples, seed + 1)
    values = np.array([value_of(c_labels[a], c_scores[a]) - value_of(s_labels[b], s_scores[b])
                       for a, b in zip(c_idx, s_idx)])
    whole = value_of(c_labels, c_scores) - value_of(s_labels, s_scores)
    return metrics.Interval(whole, *metrics.percentiles(values, config.evaluation.confidence))


def f1_difference(c_labels, c_scores, s_labels, s_scores, config):
    """Canary F1 minus stable F1 (each deciding already: scores are 0/1 decisions)."""
    from components.model_gate import metrics

    def f1(labels, decided):
        return metrics.at_threshold(labels, decided)["f1_score"]

    return unpaired_difference(f1, np.asarray(c_labels, dtype=bool), np.asarray(c_scores),
                               np.asarray(s_labels, dtype=bool), np.asarray(s_scores), config)


def rmse_verdict(c_labels, c_predicted, s_labels, s_predicted, config) -> tuple:
    """(a problem?, the sentence, details) for a regression canary: its online RMSE against
    the stable version's, rejected when the whole interval of the increase is above
    `[evaluation] max_rmse_increase` of the stable RMSE."""
    from components.model_gate import regression

    def rmse(labels, predicted):
        return regression.errors(labels, predicted)["rmse"]

    canary = rmse(c_labels, c_predicted)
    if s_labels.size < config.retraining.canary_min_labelled:
        return False, (f"online RMSE {canary:.4g} on {c_labels.size} labelled requests (the stable version has "
                       f"only {s_labels.size} of the same period: not compared)"), {"canary_rmse": canary}
    stable = rmse(s_labels, s_predicted)
    difference = unpaired_difference(rmse, np.asarray(c_labels, float), np.asarray(c_predicted, float),
                                     np.asarray(s_labels, float), np.asarray(s_predicted, float), config)
    allowed = config.evaluation.max_rmse_increase * stable
    text = (f"online RMSE {canary:.4g} against the stable version's {stable:.4g} (difference "
            f"{difference.text(4)}, {c_labels.size} and {s_labels.size} labelled requests)")
    details = {"canary_rmse": canary, "stable_rmse": stable, "rmse_difference": difference.to_json(),
               "rmse_allowed_increase": allowed}
    if difference.low > allowed:
        return True, f"{text} is worse by more than {allowed:.4g}, beyond noise", details
    return False, f"{text} is not worse by more than {allowed:.4g} beyond noise", details


def _brief(alarm: dict) -> str:
    about = alarm["feature"] or (f"version {alarm['version']}" if alarm["version"] else "")
    return f"{alarm['kind']} {about} {alarm['value']:.4f} > {alarm['threshold']:g}".replace("  ", " ")


def _clock(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%H:%M:%S")
