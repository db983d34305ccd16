"""Runs create_pipeline(config, inputs) on this machine with TFX's LocalDagRunner,
printing one line per node with its state and seconds."""
import contextlib
import time
import traceback
from dataclasses import dataclass, field

from components.errors import DriftlineError
from pipeline import fault_hooks, interruption, metadata, run_faults
from pipeline.config import Config
from pipeline.errors import PipelineFailed
from pipeline.inputs import PipelineInputs, write_schema_snapshot


@dataclass
class NodeResult:
    node_id: str
    state: str
    seconds: float


@dataclass
class RunResult:
    """Filled in while the run goes: a failed run still has its id and finished nodes."""
    run_id: str = ""
    nodes: list = field(default_factory=list)


class _Progress:
    """One line per node as it starts and ends, timing it and naming its state. On a
    terminal a node's line shows while it runs and is overwritten when it ends; in a log
    or a pipe only the finished line is written."""

    def __init__(self, config: Config, terminal, result: RunResult):
        self.config, self.terminal, self.result = config, terminal, result
        self.back = "\r" if terminal.isatty() else ""
        self._store = None
        self.swept = False

    def store(self):
        if self._store is None:
            import ml_metadata as mlmd

            self._store = mlmd.MetadataStore(metadata.connection_config(self.config))
        return self._store

    def starting(self, node: str, run_id: str):
        self.result.run_id = run_id
        if interruption.received():  # a stop that something below swallowed: go no further
            raise interruption.stop_exception()
        if not self.swept:
            self.swept = True
            _close_abandoned(self.config, self.store, run_id, self.terminal)
        if self.back:
            self.terminal.write(f"  {node:<32} ...")
            self.terminal.flush()

    def ended(self, node: str, state: str, elapsed: float):
        self.terminal.write(f"{self.back}  {node:<32} {state:<9} {elapsed:6.1f} s\n")
        self.result.nodes.append(NodeResult(node, state, elapsed))

    def failed(self, node: str, exc: BaseException, elapsed: float):
        """Names the node canceled when a signal stopped it, failed otherwise; a stop that
        turned into another exception on its way up is raised as the stop."""
        stop = interruption.stopped_by(exc)
        self.ended(node, "canceled" if stop else "failed", elapsed)
        if stop is not None and stop is not exc:
            said = f"{node} stopped by a signal; it raised {type(exc).__name__}: {_last_line(exc)}"
            _to_log(lambda: print(said))
            raise stop from None


@contextlib.contextmanager
def _progress(config: Config, terminal, result: RunResult):
    """Wraps TFX's launcher so that every node reports to a _Progress."""
    from tfx.orchestration.portable import launcher

    progress = _Progress(config, terminal, result)
    original = launcher.Launcher.launch

    def launch(self):
        node = self._pipeline_node.node_info.id
        run_id = self._pipeline_runtime_spec.pipeline_run_id.field_value.string_value
        progress.starting(node, run_id)
        start = time.monotonic()
        try:
            with fault_hooks.signal_inside(node):
                outcome = original(self)
        except BaseException as exc:
            progress.failed(node, exc, time.monotonic() - start)
            raise
        elapsed = time.monotonic() - start
        progress.ended(node, metadata.node_state(progress.store(), config.pipeline_name, run_id, node), elapsed)
        return outcome

    launcher.Launcher.launch = launch
    try:
        with fault_hooks.pause_before_executor(launcher.Launcher):
            yield
    finally:
        launcher.Launcher.launch = original


def run(config: Config, inputs: PipelineInputs, terminal, result: RunResult) -> RunResult:
    """Runs the graph once. Framework output must already be going to the log file
    (pipeline/framework_output.py); `terminal` is where progress lines go.

    However the run ends early (a component's exception, Ctrl-C, SIGTERM), every
    execution it started and did not finish is marked FAILED or CANCELED in MLMD with
    the reason, so no execution is left RUNNING."""
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from pipeline.graph import create_pipeline

    write_schema_snapshot(config, inputs)
    pipeline = create_pipeline(config, inputs)
    with _progress(config, terminal, result):
        try:
            LocalDagRunner().run(pipeline)
            if interruption.received():  # swallowed below, yet the user asked to stop
                raise interruption.stop_exception()
        except BaseException as exc:
            stop = interruption.stopped_by(exc)
            if stop is not None:
                with interruption.shielded():
                    _close(config, result, canceled=True, reason=interruption.reason(stop))
                if stop is exc:
                    raise
                raise stop from None
            if isinstance(exc, DriftlineError):
                # An executor's own readable error (bad data found while reading it).
                _close(config, result, canceled=False, reason=f"{type(exc).__name__}: {_last_line(exc)}")
                raise
            if not isinstance(exc, Exception):
                raise
            _to_log(traceback.print_exc)  # for whoever needs the details
            _close(config, result, canceled=False, reason=f"{type(exc).__name__}: {_last_line(exc)}")
            failed = next((n.node_id for n in result.nodes if n.state == "failed"), None)
            fault = run_faults.describe(exc, config, failed)
            where = f"component {failed} failed" if failed else "the pipeline failed"
            raise PipelineFailed(
                f"{fault or f'{where}: {type(exc).__name__}: {_last_line(exc)}'}\n"
                f"  full log: {config.log_file}"
            ) from None
    return result


def _to_log(write):
    """Writes into the log file unless it cannot be written (a full disk): the run's
    own message must still reach the terminal."""
    try:
        write()
    except OSError:
        pass


def _close_abandoned(config: Config, store, run_id: str, terminal):
    """What earlier runs of this output directory left open is closed by the next run,
    once its id is known. First what a run knew it could not close (its store stopped
    answering, its disk was full). Then executions a killed run left RUNNING, but only on
    the SQLite store inside the output directory, whose lock this run holds: a shared
    MySQL store may have other live runs, which are not ours to close.
    `store`: opens the run's store (the progress lines' own)."""
    try:
        for run, nodes in run_faults.close_remembered(config, store()).items():
            where = f" at {', '.join(nodes)}" if nodes else ""
            terminal.write(f"  (run {run} stopped{where} when MLMD could not be written: "
                           "closed in MLMD now; what it finished is reused)\n")
    except Exception:  # noqa: BLE001 - the files stay for the next run; details in the log
        _to_log(traceback.print_exc)
    if config.metadata.mysql_host:
        return
    try:
        for run, nodes in metadata.close_abandoned(store(), config.pipeline_name, run_id).items():
            terminal.write(f"  (run {run} was interrupted at {', '.join(nodes)} and never closed: "
                           "marked abandoned in MLMD; what it finished is reused)\n")
    except Exception:  # noqa: BLE001 - the sweep must not stop the run; details in the log
        _to_log(traceback.print_exc)


def _close(config: Config, result: RunResult, canceled: bool, reason: str):
    """Closes what the run left unfinished; a failure here goes to the log only, so it
    cannot hide the run's own error."""
    if not result.run_id:
        return
    stopped = [n.node_id for n in result.nodes if n.state == "canceled"]
    try:
        import ml_metadata as mlmd

        store = mlmd.MetadataStore(metadata.connection_config(config))
        metadata.close_unfinished(store, config.pipeline_name, result.run_id, canceled, reason, stopped)
    except Exception:  # noqa: BLE001
        _to_log(traceback.print_exc)
        run_faults.remember_unclosed(config, result.run_id, canceled, reason, stopped)


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else "(no message)"
