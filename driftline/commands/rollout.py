"""`driftline rollout status | canary | promote | rollback | switch | export`."""
import json
from pathlib import Path

from driftline.commands.common import config_from


def _target(args):
    from driftline.mlmd.store import open_for_recording
    from driftline.serving.rollout import Target

    config = config_from(args)
    store = open_for_recording(config)
    url = args.server or config.rest_url
    return config, Target(config.model_name, Path(args.serving_dir or config.serving_dir), url.rstrip("/"), store)


def _done(new, execution: int) -> int:
    print(f"revision {new.revision}: {new.describe()} ({new.action}: {new.reason or 'no reason given'}); "
          f"recorded in MLMD as deployment {execution}")
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
    if args.json:
        print(json.dumps({"policy": policy.to_json() if policy else None, "server": state,
                          "deployments": history(target.store, target.model)}, indent=2, default=str))
        return 0
    shown = policy or (rollout.Policy.from_json(state["policy"]) if state else None)
    print(f"{target.model}: " + (shown.describe() if shown else "no version serves")
          + (f" (revision {shown.revision})" if policy else " (no policy file: the newest version serves)"))
    if state:
        for version, info in sorted(state["versions"].items()):
            extra = f": {info['error']}" if info["error"] else ""
            print(f"  version {version:<12} {info['state']:<10} in flight {info['in_flight']}{extra}")
    for entry in history(target.store, target.model)[-args.history:]:
        canary = (f", canary {entry['canary_version']} at {entry['canary_percent']:g}%"
                  if entry["canary_version"] else "")
        print(f"  deployment {entry['execution']:<6} revision {entry['revision']:<3} {entry['action']:<8} "
              f"stable {entry['stable_version']}{canary}: {entry['reason']}")
    return 0


def canary(args) -> int:
    from driftline.serving import rollout

    config, target = _target(args)
    percent = args.percent if args.percent is not None else config.serving.canary_percent
    return _done(*rollout.canary(target, args.version, percent, args.reason))


def promote(args) -> int:
    from driftline.serving import rollout

    _, target = _target(args)
    return _done(*rollout.promote(target, args.reason))


def rollback(args) -> int:
    from driftline.serving import rollout

    _, target = _target(args)
    return _done(*rollout.rollback(target, args.reason))


def switch(args) -> int:
    from driftline.serving import rollout

    _, target = _target(args)
    return _done(*rollout.switch(target, args.to, args.reason))


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
