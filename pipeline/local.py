"""Runs create_pipeline(config) with LocalDagRunner: progress lines, log capture, summary."""
import contextlib
import datetime as dt
import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.errors import DriftlineError, GateBlocked, PipelineFailed, SchemaError


@dataclass
class NodeResult:
    node_id: str
    state: str
    seconds: float


@dataclass
class RunResult:
    run_id: str
    span: int
    window: list
    seconds: float
    nodes: list = field(default_factory=list)
    # Set when nothing changed since the newest run: that run's printed summary.
    reused_summary: str = ""


@contextlib.contextmanager
def framework_output_to(log_file: Path):
    """Sends everything written to fds 1 and 2 (TensorFlow's C++ logs, Beam, absl, pip in
    executors) to log_file, and yields a stream that still reaches the terminal."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with open(log_file, "a") as log:
        log.write(f"\n===== driftline run {dt.datetime.now().isoformat()} =====\n")
        log.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


def _quiet_frameworks():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.INFO)
    logging.getLogger().setLevel(logging.INFO)


@contextlib.contextmanager
def _progress(config: Config, terminal, result: RunResult):
    """Prints one line per node as it starts and ends, timing it and naming its state."""
    from tfx.orchestration.portable import launcher

    from pipeline import metadata

    store_holder = {}
    # On a terminal a node's line shows while it runs and is overwritten when it ends;
    # in a log or a pipe only the finished line is written.
    live = terminal.isatty()
    back = "\r" if live else ""
    original = launcher.Launcher.launch

    def state_of(node, run_id):
        if "store" not in store_holder:
            import ml_metadata as mlmd

            store_holder["store"] = mlmd.MetadataStore(metadata.sqlite_config(config.metadata_path))
        execution = metadata.run_executions(store_holder["store"], config.pipeline_name, run_id).get(node)
        return metadata.STATE_NAMES.get(execution.last_known_state, "?") if execution else "skipped"

    def launch(self):
        node = self._pipeline_node.node_info.id
        run_id = self._pipeline_runtime_spec.pipeline_run_id.field_value.string_value
        result.run_id = run_id
        if live:
            terminal.write(f"  {node:<32} ...")
            terminal.flush()
        start = time.monotonic()
        try:
            outcome = original(self)
        except BaseException:
            elapsed = time.monotonic() - start
            terminal.write(f"{back}  {node:<32} failed    {elapsed:6.1f} s\n")
            result.nodes.append(NodeResult(node, "failed", elapsed))
            raise
        elapsed = time.monotonic() - start
        state = state_of(node, run_id)
        terminal.write(f"{back}  {node:<32} {state:<9} {elapsed:6.1f} s\n")
        result.nodes.append(NodeResult(node, state, elapsed))
        return outcome

    launcher.Launcher.launch = launch
    try:
        yield
    finally:
        launcher.Launcher.launch = original


def run(config: Config, force: bool = False):
    """Runs the pipeline once and reads its summary back from MLMD.

    Framework output goes to config.log_file. Returns (RunResult, Summary). Unless
    `force`, a run whose inputs equal the newest run's is not started (up_to_date): the
    RunResult then carries that run's summary and the Summary is None.
    """
    from components.schema_tools import check_schema, data_header
    from pipeline import up_to_date
    from pipeline.spans import previous_span, resolve_span, training_window

    start = time.monotonic()
    # Bad input is reported before the seconds-long TensorFlow import and before any
    # output directory or metadata store is created.
    span = resolve_span(config)
    problems = check_schema(config.schema_file, data_header(config.data_root))
    if problems:
        raise SchemaError(
            "the schema file has problems; nothing was run:\n"
            + "\n".join(f"  {p}" for p in problems)
        )
    result = RunResult(run_id="", span=span, window=training_window(config, span), seconds=0.0)
    before = previous_span(config, span)
    fingerprint = up_to_date.fingerprint(config, result.window + ([] if before is None else [before]))
    reused = None if force else up_to_date.last_result(config, fingerprint)
    if reused:
        result.run_id, result.reused_summary = reused
        result.seconds = time.monotonic() - start
        return result, None
    config.output_dir.mkdir(parents=True, exist_ok=True)
    with framework_output_to(config.log_file) as term:
        _quiet_frameworks()
        from tfx.orchestration.local.local_dag_runner import LocalDagRunner

        from pipeline.pipeline import create_pipeline
        term.write(
            f"driftline: span {span}, training window spans {result.window}, "
            f"logs in {config.log_file}\n"
        )
        pipeline = create_pipeline(config)
        with _progress(config, term, result):
            try:
                LocalDagRunner().run(pipeline)
            except DriftlineError:
                raise
            except Exception as exc:
                traceback.print_exc()  # into the log file, for whoever needs the details
                failed = next((n.node_id for n in result.nodes if n.state == "failed"), None)
                where = f"component {failed} failed" if failed else "the pipeline failed"
                raise PipelineFailed(
                    f"{where}: {type(exc).__name__}: {_last_line(exc)}\n"
                    f"  full log: {config.log_file}"
                ) from None
            finally:
                _record_run(config, result)
        from pipeline.summary import summarize

        run_summary = summarize(config, result)
        result.seconds = time.monotonic() - start
        if not run_summary.gate_blocked:
            # A blocked run is not remembered: running it again re-checks the data.
            try:
                from pipeline.summary import render

                up_to_date.remember(config, result.run_id, fingerprint,
                                    render(run_summary, result.seconds))
            except Exception:  # noqa: BLE001 - only costs the next run its shortcut
                traceback.print_exc()  # into the log file
    if run_summary.gate_blocked:
        from pipeline.summary import gate_block_message

        raise GateBlocked(gate_block_message(run_summary))
    return result, run_summary


def _record_run(config: Config, result: RunResult):
    """Adds the run's code version and settings to MLMD, even for a failed run; a
    failure here must not hide the run's own outcome, so it only goes to the log."""
    if not result.run_id:
        return
    try:
        import ml_metadata as mlmd

        from pipeline import metadata, provenance

        store = mlmd.MetadataStore(metadata.sqlite_config(config.metadata_path))
        provenance.record_run(store, config, result.run_id, result.span, result.window)
    except Exception:  # noqa: BLE001
        traceback.print_exc()


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else "(no message)"
