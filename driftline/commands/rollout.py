"""`driftline rollout status | canary | approve | abort | promote | rollback | switch | shadow | export`."""
import json
from pathlib import Path

from driftline.commands.common import common_args, config_from, positive_int


def _target(args):
    from driftline.mlmd.store import open_for_recording
    from driftline.serving.rollout import Target

    config = config_from(args)
    store = open_for_recording(config)
    url = args.server or config.rest_url
    return config, Target(config.model_name, Path(args.serving_dir or config.serving_dir), url.rstrip("/"), store)


def _done(config, target, changed) -> int:
    new, execution = changed
    print(f"revision {new.revision}: {new.describe()} ({new.action}: {new.reason or 'no reason given'}); "
          f"recorded in MLMD as deployment {execution}")
    from driftline.tracking import mirror

    mirror(config, target.store)  # the registry's aliases follow the change
    return 0


def status(args) -> int:
    from driftline.mlmd.deployments import history
    from driftline.serving import policy as rollout
    from driftline.serving.rollout import RolloutRefused, server_state

    config, target = _target(args)
    policy = rollout.read(target.serving_dir)
    try:
        state = server_state(target)
    except RolloutRefused as exc:
        state = None
        print(f"server: {exc}")
    analysis = _analysis(config, policy)
    if args.json:
        print(json.dumps({"policy": policy.to_json() if policy else None, "server": state, "analysis": analysis,
                          "deployments": history(target.store, target.model)}, indent=2, default=str))
        return 0
    shown = policy or (rollout.Policy.from_json(state["policy"]) if state else None)
    print(f"{target.model}: " + (shown.describe() if shown else "no version serves")
          + (f" (revision {shown.revision})" if policy else " (no policy file: the newest version serves)"))
    for line in _progress(policy, analysis):
        print(f"  {line}")
    if state:
        for version, info in sorted(state["versions"].items()):
            extra = f": {info['error']}" if info["error"] else ""
            print(f"  version {version:<12} {info['state']:<10} in flight {info['in_flight']}{extra}")
    for entry in history(target.store, target.model)[-args.history:]:
        canary = (f", canary {entry['canary_version']} at {entry['canary_percent']:g}%"
                  if entry["canary_version"] else "")
        if entry.get("shadow_version"):
            canary += f", shadow {entry['shadow_version']} on {entry['shadow_percent']:g}%"
        print(f"  deployment {entry['execution']:<6} revision {entry['revision']:<3} {entry['action']:<8} "
              f"stable {entry['stable_version']}{canary}: {entry['reason']}")
    return 0


def _analysis(config, policy):
    """The watcher's newest analysis of the canary's step in effect, or None."""
    try:
        found = json.loads(config.rollout_analysis_path.read_text())
    except (OSError, ValueError):
        return None
    if policy is None or found.get("canary") != policy.canary or found.get("step") != policy.step:
        return None
    return found


def _progress(policy, analysis) -> list:
    """Where a canary rollout stands and what it waits for, as lines."""
    if policy is None or policy.canary is None:
        return []
    steps = policy.steps or [policy.canary_percent, 100.0]
    at = policy.step if policy.steps else 0
    lines = ["steps:    " + " → ".join(f"[{s:g}%]" if i == at else f"{s:g}%" for i, s in enumerate(steps))]
    if analysis is None:
        lines.append("analysis: none yet for this step (`driftline monitor --watch` analyses it)")
    else:
        import datetime as dt

        when = dt.datetime.fromtimestamp(analysis["time"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"analysis: {analysis['verdict']} at {when}, on {analysis['requests']} requests over "
                     f"{analysis['minutes']:g} min: {analysis['text']}")
    if policy.paused:
        lines.append(f"waits for: a person, `driftline rollout approve` or `driftline rollout abort` "
                     f"(paused: {policy.paused})")
    elif analysis is not None and analysis["verdict"] == "inconclusive":
        limits = analysis["limits"]
        needed = f"about {analysis['needs']} more labelled requests of the canary" if analysis["needs"] else \
            "more evidence"
        lines.append(f"waits for: {needed}; it pauses for a person after {limits['max_step_requests']} "
                     f"requests or {limits['max_step_minutes']:g} minutes in this step")
    else:
        lines.append("waits for: the watcher's next analysis")
    return lines


def canary(args) -> int:
    from driftline.serving import rollout

    config, target = _target(args)
    steps = config.rollout.steps if args.percent is None else []
    percent = args.percent if args.percent is not None else config.serving.canary_percent
    return _done(config, target, rollout.canary(target, args.version, percent, args.reason, steps))


def approve(args) -> int:
    """A person lets a paused rollout go to its next step (or promotes it)."""
    from driftline.serving import rollout

    config, target = _target(args)
    return _done(config, target, rollout.advance(target, f"approved by a person: {args.reason or 'no reason given'}",
                                                 action="approve", paused_only=True))


def abort(args) -> int:
    from driftline.serving import rollout

    config, target = _target(args)
    return _done(config, target, rollout.abort(target, f"aborted by a person: {args.reason or 'no reason given'}"))


def shadow(args) -> int:
    from driftline.serving import rollout
    from driftline.serving.errors import RolloutRefused

    config, target = _target(args)
    if args.stop == (args.version is not None):
        raise RolloutRefused("give --version V (the version to shadow with) or --stop; nothing was changed")
    percent = args.percent if args.percent is not None else config.rollout.shadow_percent
    return _done(config, target, rollout.shadow(target, None if args.stop else args.version, percent, args.reason))


def promote(args) -> int:
    from driftline.serving import rollout

    config, target = _target(args)
    return _done(config, target, rollout.promote(target, args.reason))


def rollback(args) -> int:
    from driftline.serving import rollout

    config, target = _target(args)
    return _done(config, target, rollout.rollback(target, args.reason))


def switch(args) -> int:
    from driftline.serving import rollout

    config, target = _target(args)
    return _done(config, target, rollout.switch(target, args.to, args.reason))


def export(args) -> int:
    import yaml

    from driftline.serving import policy as rollout_policy
    from driftline.serving import rollout

    config = config_from(args)
    serving_dir = Path(args.serving_dir or config.serving_dir)
    policy = rollout_policy.read(serving_dir)
    if policy is None:
        versions = sorted(int(p.name) for p in serving_dir.glob("*") if p.is_dir() and p.name.isdigit())
        policy = rollout_policy.Policy(slots={"blue": versions[-1] if versions else None, "green": None})
    # Where the real server reads versions from: the cluster's bucket when one is set.
    storage = (f"{config.kubeflow.serving_dir.rstrip('/')}/{config.model_name}"
               if config.kubeflow.serving_dir else str(serving_dir.resolve()))
    written = []
    if args.kserve:
        args.kserve.write_text(yaml.safe_dump(
            rollout.kserve_inference_service(config.model_name, storage, policy, args.namespace),
            sort_keys=False))
        written.append(f"KServe InferenceService -> {args.kserve}")
    if args.tf_serving:
        args.tf_serving.write_text(rollout.tf_serving_config(config.model_name, storage, policy))
        written.append(f"TF Serving model_config_list -> {args.tf_serving}")
    if not written:
        from pipeline.errors import ConfigError

        raise ConfigError("driftline rollout export needs --kserve FILE and/or --tf-serving FILE")
    print(f"{policy.describe()} (revision {policy.revision}); storage {storage}")
    for line in written:
        print(f"  {line}")
    return 0


def register(sub):
    """`driftline rollout`'s arguments."""
    p_rollout = sub.add_parser("rollout", help="who serves: canary, promote, rollback, blue-green switch")
    p_rollout_sub = p_rollout.add_subparsers(dest="rollout_command", required=True)

    def rollout_args(p, reason=True):
        common_args(p)
        p.add_argument("--output-dir", type=Path, help="the runs' output directory (its MLMD store)")
        p.add_argument("--serving-dir", type=Path, help="the model's directory of versions")
        p.add_argument("--server", help="the running server's REST URL (default: serving.host/rest_port)")
        if reason:
            p.add_argument("--reason", default="", help="why: recorded in MLMD with the change")
        return p

    p_rstatus = rollout_args(p_rollout_sub.add_parser("status", help="the policy, the server's versions, the history"),
                           reason=False)
    p_rstatus.add_argument("--json", action="store_true")
    p_rstatus.add_argument("--history", type=positive_int, default=10, help="deployments shown (default 10)")
    p_rstatus.set_defaults(func=status)
    p_rcanary = rollout_args(p_rollout_sub.add_parser("canary", help="route a share of the traffic to a version"))
    p_rcanary.add_argument("--version", type=int, required=True)
    p_rcanary.add_argument("--percent", type=float, help="its share, then all traffic (default: the steps of "
                           "rollout.steps, or serving.canary_percent then 100)")
    p_rcanary.set_defaults(func=canary)
    p_rapprove = rollout_args(p_rollout_sub.add_parser(
        "approve", help="a paused rollout goes to its next step (promotion after the last)"))
    p_rapprove.set_defaults(func=approve)
    p_rabort = rollout_args(p_rollout_sub.add_parser(
        "abort", help="the canary stops taking traffic; the stable version keeps all of it"))
    p_rabort.set_defaults(func=abort)
    p_rshadow = rollout_args(p_rollout_sub.add_parser(
        "shadow", help="a version scores requests beside the serving one, answering nobody"))
    p_rshadow.add_argument("--version", type=int)
    p_rshadow.add_argument("--percent", type=float, help="the share of requests it scores "
                           "(default: rollout.shadow_percent)")
    p_rshadow.add_argument("--stop", action="store_true", help="no version shadows any more")
    p_rshadow.set_defaults(func=shadow)
    p_rpromote = rollout_args(p_rollout_sub.add_parser("promote", help="the canary takes all the traffic"))
    p_rpromote.set_defaults(func=promote)
    p_rrollback = rollout_args(p_rollout_sub.add_parser("rollback", help="back to the policy before the last change"))
    p_rrollback.set_defaults(func=rollback)
    p_rswitch = rollout_args(p_rollout_sub.add_parser(
        "switch", help="blue-green: a version takes all the traffic in one step"))
    p_rswitch.add_argument("--to", type=int, required=True, help="the version")
    p_rswitch.set_defaults(func=switch)
    p_rexport = rollout_args(p_rollout_sub.add_parser(
        "export", help="the policy as KServe and TF Serving configuration"), reason=False)
    p_rexport.add_argument("--kserve", type=Path, help="write a KServe v1beta1 InferenceService (YAML)")
    p_rexport.add_argument("--tf-serving", type=Path, help="write a TF Serving model_config_list")
    p_rexport.add_argument("--namespace", default="", help="the InferenceService's namespace")
    p_rexport.set_defaults(func=export)
