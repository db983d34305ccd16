"""The retraining policy `driftline monitor --watch` (and `driftline replay`) runs: one
tick judges every complete new window of the request log, joins every new outcome file,
then decides one thing.

- A canary is serving: the step in effect is analysed on the requests since it began,
  beside the stable version's of the same period (step_analysis.py). It goes to the next
  step (or is promoted) when its error rate and p99 latency are within [monitoring] and
  its online F1 is shown no worse than the stable version's by more than
  `canary_f1_margin` (the whole bootstrap interval of the difference above -margin); it
  is aborted when it is worse beyond noise or breaks a limit; otherwise it waits, and
  past `[rollout] max_step_minutes` or `max_step_requests` it pauses for a person. A step
  in `[rollout] approve_before` pauses even when the analysis passes.
- No canary: when an alarm of a `triggers` kind has held for `alarm_windows`
  consecutive judged passes since the last change, and a span newer than the one the
  stable version was trained up to has arrived, the pipeline runs on it and a blessed
  model becomes a canary. With no newer span, the wait is recorded once per streak.

Every decision and its reason is printed and recorded in MLMD (retraining.py); the
streaks are read back from MLMD, so a restarted watcher carries on where it stopped.
"""
import time
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


# Alarms about the window as a whole, not one version's share of it.
WINDOW_KINDS = ("drift", "multivariate_drift")


def streaks(found: dict, stable: Optional[int], since: float, triggers: List[str]) -> Dict[str, dict]:
    """kind -> {"windows": consecutive judged passes (newest backwards) with that alarm
    about the stable version (drift and multivariate drift: about the window), "alarm": the newest alarm}."""
    out = {}
    version = str(stable) if stable is not None else None

    def relevant(alarm, kind):
        return alarm["kind"] == kind and (kind in WINDOW_KINDS or alarm["version"] == version)

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
        if done["decision"] and self.dashboard:  # the rollout it changed shows at once
            from driftline.monitoring.passes import redraw_dashboard

            redraw_dashboard(self.config, self.store)
        return done

    def _window_pass(self, window) -> dict:
        from driftline.monitoring import passes

        result = passes.window_pass(self.config, self.schema, self.store, window, self.dashboard)
        alarms = result["alarms"]
        self.say(f"window          {result['rows']} requests to {_clock(result['last_timestamp'])}: "
                 + ("not judged (too few)" if not result["judged"] else
                    f"{len(alarms)} alarm(s)" + (": " + ", ".join(_brief(a) for a in alarms) if alarms else ""))
                 + f" (MLMD execution {result['execution']})")
        if result.get("estimated_performance") or result.get("multivariate_drift"):
            self.say(f"before outcomes {_foresight(result)}")
        if result.get("shadow"):
            from driftline.views.shadow import shadow_text

            self.say(f"shadow          {shadow_text(result['shadow'])}")
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
        if result.get("shadow"):
            from driftline.views.shadow import shadow_text

            self.say(f"shadow          {shadow_text(result['shadow'])}")
        from driftline.views.estimates import check_text

        for check in result.get("estimate_checks") or []:
            self.say(f"estimate        {check_text(check)}")
        return result

    # --- deciding -------------------------------------------------------------------------

    def decide(self, table) -> Optional[dict]:
        """`table`: the request log as this tick read it."""
        from driftline.serving import rollout

        state = rollout.server_state(self.target)
        policy = rollout.current(self.target, state)
        if policy.canary is not None:
            return self.judge_canary(policy, table)
        self.config.rollout_analysis_path.unlink(missing_ok=True)  # no canary, nothing analysed
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
            return retraining.retrain(self.config, self.store, self.target, kind, reason, say=self.say,
                                      details={"streak": streak, "newest_span": newest, "trained_span": trained})
        except GateBlocked as blocked:
            self.say(str(blocked))
            return {"trigger": kind, "reason": reason, "outcome": "blocked by the drift gate"}

    def judge_canary(self, policy, table) -> Optional[dict]:
        """The step in effect, analysed on its own requests and outcomes (step_analysis.py),
        then acted on: the next step, an abort, or a pause for a person."""
        model, canary = self.config.model_name, policy.canary
        if policy.paused:
            self.say(f"canary          version {canary} at {policy.canary_percent:g}% waits for a person: "
                     f"{policy.paused} (`driftline rollout approve` or `driftline rollout abort`)")
            return None
        started = step_started(self.store, model, canary)
        recent = windows.since(table, started)
        outcomes = _read_outcomes(_outcome_files(self.config.outcomes_dir), self.task)
        joined = online.join(recent, outcomes, self.task)["versions"]
        answered = windows.rows_of(recent, str(canary))
        analysis = self.analyse(answered, policy, joined)
        # A request of several rows counts once per row, as its outcomes do.
        requests = int(answered.num_rows)
        minutes = max(0.0, time.time() - started) / 60
        analysis.details.update(step_requests=requests, step_minutes=round(minutes, 2),
                                share=float(policy.canary_percent), verdict=analysis.verdict,
                                needs=analysis.needs, step=policy.step, steps=policy.steps)
        self.publish_analysis(policy, analysis)
        return self.act(policy, analysis, requests, minutes)

    def publish_analysis(self, policy, analysis):
        """The step's newest analysis, for `rollout status` and /metrics."""
        from driftline.monitoring.passes import publish

        publish(self.config.rollout_analysis_path, {
            "time": time.time(), "canary": policy.canary, "stable": policy.stable, "revision": policy.revision,
            "verdict": analysis.verdict, "text": analysis.text(), "held": analysis.held, "needs": analysis.needs,
            "share": float(policy.canary_percent), "step": policy.step, "steps": policy.steps,
            "requests": analysis.details["step_requests"], "minutes": analysis.details["step_minutes"],
            "limits": {"max_step_requests": self.config.rollout.max_step_requests,
                       "max_step_minutes": self.config.rollout.max_step_minutes}})

    def analyse(self, answered, policy, joined):
        """The step's StepVerdict from the canary's and the stable version's labelled
        requests of the step, and the canary's error rate and latency (`answered`: the
        rows the canary answered in the step)."""
        from driftline.autopilot import step_analysis

        canary, stable = policy.canary, policy.stable
        empty = (np.zeros(0), np.zeros(0))
        (c_labels, c_scores), (s_labels, s_scores) = joined.get(str(canary), empty), joined.get(str(stable), empty)
        if self.task.kind != "regression":
            # Each version is judged by its decisions, at its own operating threshold.
            c_scores, s_scores = (np.asarray(scores) >= t for scores, t in zip(
                (c_scores, s_scores), self.thresholds((str(canary), str(stable)))))
        monitoring = self.config.monitoring
        latency = windows.floats(answered, "latency_ms")
        p99 = float(np.percentile(latency, 99)) if latency.size else 0.0
        problems, held = step_analysis.limits(_error_rate(self.target.url, self.config.model_name, canary), p99,
                                              monitoring.error_rate, monitoring.p99_latency_ms)
        details = {"canary": canary, "stable": stable, "canary_labelled": int(c_labels.size),
                   "stable_labelled": int(s_labels.size), "canary_p99_ms": p99}
        if problems:
            return step_analysis.StepVerdict(step_analysis.ABORT, problems, held, details=details)
        need = self.settings.canary_min_labelled
        if c_labels.size < need or s_labels.size < need:
            short = c_labels if c_labels.size < need else s_labels
            verdict = step_analysis.too_few(int(short.size), need, "the canary has" if short is c_labels
                                            else "the stable version has")
        elif self.task.kind == "regression":
            verdict = rmse_verdict(c_labels, c_scores, s_labels, s_scores, self.config)
        else:
            verdict = f1_verdict(c_labels, c_scores, s_labels, s_scores, self.config)
        verdict.held = held + verdict.held
        verdict.details = {**details, **verdict.details}
        return verdict

    def act(self, policy, analysis, requests: int, minutes: float) -> Optional[dict]:
        from driftline.autopilot import step_analysis
        from driftline.serving import rollout

        canary, share, settings = policy.canary, policy.canary_percent, self.config.rollout
        at = f"canary {canary} at {share:g}%"
        if analysis.verdict == step_analysis.ABORT:
            reason = "; ".join(analysis.reasons + analysis.held)
            new, deployment = rollout.abort(self.target, f"{at} aborted: {reason}")
            return self._decided(policy, "aborted", reason, new, deployment, analysis)
        if analysis.verdict == step_analysis.PROMOTE:
            following = policy.next_step if policy.next_step is not None else 100.0
            reason = "; ".join(analysis.held)
            if settings.gated(following):
                short = (f"the analysis at {share:g}% passed; [rollout] approve_before holds the step to "
                         f"{following:g}% for a person")
                why = f"{short}: {reason}"
                new, deployment = rollout.pause(self.target, why, short)
                return self._decided(policy, "paused", why, new, deployment, analysis)
            new, deployment = rollout.advance(self.target, f"{at}: {reason}")
            outcome = "promoted" if new.canary is None else f"step to {new.canary_percent:g}%"
            return self._decided(policy, outcome, reason, new, deployment, analysis)
        out_of_time = minutes >= settings.max_step_minutes or requests >= settings.max_step_requests
        if not out_of_time:
            self.say(f"canary          {at}: inconclusive so far ({requests} requests, {minutes:.1f} min): "
                     f"{analysis.text()}")
            return None
        short = (f"inconclusive after {requests} requests and {minutes:.1f} minutes at {share:g}% (limits "
                 f"{settings.max_step_requests} requests, {settings.max_step_minutes:g} minutes)")
        why = f"{short}: {analysis.text()}"
        new, deployment = rollout.pause(self.target, why, short)
        return self._decided(policy, "paused", why, new, deployment, analysis)

    def _decided(self, policy, outcome: str, reason: str, new, deployment, analysis) -> dict:
        model, canary = self.config.model_name, policy.canary
        execution = retraining.record(self.store, model, "canary", reason, "", outcome, str(canary), deployment,
                                      analysis.details, also_about=(str(policy.stable),))
        self.say(f"DECISION        canary {canary} {outcome}: {reason} (revision {new.revision}, deployment "
                 f"{deployment}; MLMD execution {execution})")
        return {"execution": execution, "trigger": "canary", "reason": reason, "outcome": outcome,
                "pushed_version": str(canary), "canary_deployment": deployment, "verdict": analysis.verdict}

    def thresholds(self, versions) -> list:
        """Each version's operating threshold, as recorded on its model in MLMD."""
        from driftline.monitoring.baseline import operating_thresholds, trained

        found = operating_thresholds({v: trained(self.store, self.config.pipeline_name, v) for v in versions})
        return [found[v] for v in versions]


STEP_STARTS = ("canary", "step", "approve", "rollback")


def step_started(store, model: str, canary: int) -> float:
    """When (s) the step in effect began: the newest deployment that set the canary's
    share (a pause does not start a step; an approval does)."""
    from driftline.mlmd.deployments import history as deployments

    return max((d["time_ms"] for d in deployments(store, model)
                if d["action"] in STEP_STARTS and d["canary_version"] == canary), default=0) / 1000.0


def unpaired_difference(value_of, c_labels, c_scores, s_labels, s_scores, config):
    """value_of(canary) − value_of(stable) with a bootstrap interval. The two versions
    answered different requests, so each is resampled on its own (not paired)."""
    from components.model_gate import metrics

    samples, seed = config.evaluation.bootstrap_samples, config.training.seed
    c_idx = metrics.Resamples(c_labels.size, samples, seed)
    s_idx = metrics.Resamples(s_labels.size, samples, seed + 1)
    values = np.array([value_of(c_labels[a], c_scores[a]) - value_of(s_labels[b], s_scores[b])
                       for a, b in zip(c_idx, s_idx)])
    whole = value_of(c_labels, c_scores) - value_of(s_labels, s_scores)
    return metrics.Interval(whole, *metrics.percentiles(values, config.evaluation.confidence))


def _online_verdict(name: str, value_of, canary: tuple, stable: tuple, config, margin: float,
                    higher_is_better: bool, digits: int, spec: str):
    """The step's verdict on an online metric: `value_of(labels, scores)` of the canary's
    (labels, scores) against the stable version's, the difference bootstrapped unpaired
    and judged against `margin` (`spec` and `digits`: how the values and the difference
    are written)."""
    from driftline.autopilot import step_analysis

    c_value, s_value = value_of(*canary), value_of(*stable)
    difference = unpaired_difference(value_of, *canary, *stable, config)
    n_canary, n_stable = canary[0].size, stable[0].size
    text = (f"online {name} {c_value:{spec}} against the stable version's {s_value:{spec}} (difference "
            f"{difference.text(digits)}, {n_canary} and {n_stable} labelled requests)")
    verdict = step_analysis.judge(difference, int(n_canary), margin, higher_is_better, name, text)
    key = name.lower()
    verdict.details = {f"canary_{key}": c_value, f"stable_{key}": s_value, f"{key}_difference": difference.to_json()}
    return verdict


def f1_verdict(c_labels, c_decided, s_labels, s_decided, config):
    """The step's verdict on online F1 (scores are 0/1 decisions already): the canary's
    no worse than the stable version's by more than `canary_f1_margin`."""
    from components.model_gate import metrics

    def f1(labels, decided):
        return metrics.at_threshold(labels, decided)["f1_score"]

    margin = config.retraining.canary_f1_margin
    verdict = _online_verdict("F1", f1, (np.asarray(c_labels, dtype=bool), np.asarray(c_decided)),
                              (np.asarray(s_labels, dtype=bool), np.asarray(s_decided)), config, margin, True, 3,
                              ".3f")
    verdict.details["f1_margin"] = margin
    return verdict


def rmse_verdict(c_labels, c_predicted, s_labels, s_predicted, config):
    """The step's verdict on online RMSE: an increase over the stable version's beyond
    `[evaluation] max_rmse_increase` of the stable RMSE is worse."""
    from components.model_gate import regression

    def rmse(labels, predicted):
        return regression.errors(labels, predicted)["rmse"]

    canary = (np.asarray(c_labels, float), np.asarray(c_predicted, float))
    stable = (np.asarray(s_labels, float), np.asarray(s_predicted, float))
    allowed = config.evaluation.max_rmse_increase * rmse(*stable)
    verdict = _online_verdict("RMSE", rmse, canary, stable, config, allowed, False, 4, ".4g")
    verdict.details["rmse_allowed_increase"] = allowed
    return verdict


def _brief(alarm: dict) -> str:
    about = alarm["feature"] or (f"version {alarm['version']}" if alarm["version"] else "")
    beyond = "<" if alarm["value"] < alarm["threshold"] else ">"
    return f"{alarm['kind']} {about} {alarm['value']:.4f} {beyond} {alarm['threshold']:g}".replace("  ", " ")


def _foresight(result: dict) -> str:
    """The window's estimated F1 and multivariate drift, as one line."""
    parts = []
    block = result.get("estimated_performance")
    if block:
        f1, reference = block["metrics"]["f1_score"], block.get("reference")
        parts.append(f"version {block['version']} F1 estimated {f1['value']:.3f} ({f1['low']:.3f}–{f1['high']:.3f})"
                     + (f", its range {reference['low']:.3f}–{reference['high']:.3f}" if reference else ""))
    found = result.get("multivariate_drift")
    if found:
        auc = found["auc"]
        parts.append(f"domain AUC {auc['value']:.3f} ({auc['low']:.3f}–{auc['high']:.3f}) {found['verdict']} "
                     f"{found['threshold']:g}")
    return "; ".join(parts)


def _clock(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%H:%M:%S")
