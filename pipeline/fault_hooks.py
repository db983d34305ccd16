"""Hooks the fault tests set through the environment, so that a kill or a signal lands
at a chosen event inside a node rather than after a guessed sleep. Unset, each one
changes nothing.

- DRIFTLINE_PAUSE_IN=<node>: the process stops itself (SIGSTOP) once that node is RUNNING
  in MLMD, just before its executor starts, so that a node too quick to catch while it
  runs can still be killed there (SIGKILL ends a stopped process).
- DRIFTLINE_SIGNAL_IN=<node>:<event>:<n>[:<signal>]: the process sends itself SIGINT (or
  TERM) at the n-th such event while that node runs. Events: `bundle`, a Beam bundle
  starting; `record`, Beam reading a TFRecord; `graph`, tf.Transform running its graph on a batch
  (inside a DoFn); `batch`, a Keras training batch ending; `publish`, the node's outputs being
  recorded in MLMD.
"""
import contextlib
import os
import signal

_EVENTS = {
    # event: (module, class, method) whose call is the event
    "bundle": ("apache_beam.runners.worker.bundle_processor", "BundleProcessor", "process_bundle"),
    "record": ("apache_beam.io.tfrecordio", "_TFRecordUtil", "read_record"),
    # Inside a DoFn, where Beam wraps what is raised (a RuntimeError naming the step).
    "graph": ("tensorflow_transform.beam.impl", "_RunMetaGraphDoFn", "_handle_batch"),
    "batch": ("tf_keras.src.callbacks", "CallbackList", "on_train_batch_end"),
    "publish": ("tfx.orchestration.portable.launcher", "Launcher", "_publish_successful_execution"),
}


@contextlib.contextmanager
def pause_before_executor(launcher_class):
    node = os.environ.get("DRIFTLINE_PAUSE_IN")
    if not node:
        yield
        return
    original = launcher_class._run_executor

    def run_executor(self, *args, **kwargs):
        if self._pipeline_node.node_info.id == node:
            os.kill(os.getpid(), signal.SIGSTOP)
        return original(self, *args, **kwargs)

    launcher_class._run_executor = run_executor
    try:
        yield
    finally:
        launcher_class._run_executor = original


def parse_signal_point(text: str):
    """'Transform:bundle:3' -> ('Transform', 'bundle', 3, SIGINT)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or parts[1] not in _EVENTS or not parts[2].isdigit() or int(parts[2]) < 1:
        raise ValueError(f"DRIFTLINE_SIGNAL_IN={text!r}: expected NODE:EVENT:N[:INT|TERM] with EVENT one "
                         f"of {', '.join(_EVENTS)} and N >= 1")
    signum = signal.SIGTERM if len(parts) == 4 and parts[3] == "TERM" else signal.SIGINT
    return parts[0], parts[1], int(parts[2]), signum


@contextlib.contextmanager
def signal_inside(node: str):
    """While `node` runs, sends the DRIFTLINE_SIGNAL_IN signal at its chosen event."""
    text = os.environ.get("DRIFTLINE_SIGNAL_IN")
    if not text:
        yield
        return
    target, event, nth, signum = parse_signal_point(text)
    if target != node:
        yield
        return
    import importlib

    module, class_name, method = _EVENTS[event]
    owner = getattr(importlib.import_module(module), class_name)
    original = getattr(owner, method)
    seen = [0]

    def counted(*args, **kwargs):
        seen[0] += 1
        if seen[0] == nth:
            os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    setattr(owner, method, counted)
    try:
        yield
    finally:
        setattr(owner, method, original)
