"""A local pipeline run as the application drives it, one step at a time: bad input is
found before TensorFlow is imported and before anything is written; an unchanged run
starts nothing; the run itself; what it adds to MLMD; its summary."""
import time
import traceback
from dataclasses import dataclass
from typing import Optional

from components.errors import SchemaError
from driftline import up_to_date
from driftline.errors import GateBlocked
from driftline.run_summary import Summary
from pipeline.config import Config
from pipeline.inputs import PipelineInputs, gather


@dataclass
class Outcome:
    run_id: str
    inputs: PipelineInputs
    seconds: float
    summary: Optional[Summary] = None
    # Set when nothing changed since the newest run: that run's printed summary.
    reused_summary: str = ""


def check_inputs(config: Config) -> PipelineInputs:
    """The span window and the schema, checked before TensorFlow is imported and before
    any output directory or metadata store is created."""
    from driftline.schema.check import check_schema, data_header

    inputs = gather(config)
    problems = check_schema(config.schema_file, data_header(config.data_root))
    if problems:
        raise SchemaError(
            "the schema file has problems; nothing was run:\n"
            + "\n".join(f"  {p}" for p in problems)
        )
    return inputs


def run(config: Config, force: bool = False) -> Outcome:
    """Runs the pipeline once (unless it is up to date) and reads its summary back from
    MLMD. Framework output goes to config.log_file. Raises GateBlocked when the drift
    gate stopped the run."""
    start = time.monotonic()
    inputs = check_inputs(config)
    fingerprint = up_to_date.fingerprint(config, inputs)
    reused = None if force else up_to_date.last_result(config, fingerprint)
    if reused:
        run_id, text = reused
        return Outcome(run_id, inputs, time.monotonic() - start, reused_summary=text)

    from pipeline import framework_output, local_runner

    config.output_dir.mkdir(parents=True, exist_ok=True)
    with framework_output.to_log_file(config.log_file, "driftline run") as terminal:
        framework_output.verbose_to_log()
        terminal.write(f"driftline: span {inputs.span}, training window spans {inputs.window}, "
                       f"logs in {config.log_file}\n")
        result = local_runner.RunResult()
        try:
            local_runner.run(config, inputs, terminal, result)
        finally:
            _record_run(config, inputs, result.run_id)
        outcome = Outcome(result.run_id, inputs, 0.0)
        outcome.summary = _summarize(config, inputs, result.run_id)
        outcome.seconds = time.monotonic() - start
        if not outcome.summary.gate_blocked:
            # A blocked run is not remembered: running it again re-checks the data.
            _remember(config, outcome, fingerprint)
    if outcome.summary.gate_blocked:
        from driftline.views.run_summary import gate_block_message

        raise GateBlocked(gate_block_message(outcome.summary))
    return outcome


def _store(config: Config):
    import ml_metadata as mlmd

    from pipeline import metadata

    return mlmd.MetadataStore(metadata.connection_config(config))


def _record_run(config: Config, inputs: PipelineInputs, run_id: str):
    """Adds the run's code version and settings to MLMD, even for a failed run; a
    failure here must not hide the run's own outcome, so it only goes to the log."""
    if not run_id:
        return
    try:
        from driftline.mlmd import provenance

        provenance.record_run(_store(config), config, run_id, inputs.span, inputs.window)
    except Exception:  # noqa: BLE001
        traceback.print_exc()


def _summarize(config: Config, inputs: PipelineInputs, run_id: str) -> Summary:
    from driftline import run_summary
    from driftline.mlmd import provenance
    from driftline.mlmd.store import output_artifacts
    from pipeline import metadata, nodes

    store = _store(config)
    summary = run_summary.summarize(store, config, run_id, inputs.span, inputs.window)
    if summary.overall_metrics:
        evaluator = metadata.run_executions(store, config.pipeline_name, run_id)[nodes.EVALUATOR]
        evaluation = output_artifacts(store, evaluator.id)[nodes.EVALUATION][0]
        provenance.record_metrics(store, evaluation, summary.overall_metrics)
    return summary


def _remember(config: Config, outcome: Outcome, fingerprint: str):
    try:
        from driftline.views.run_summary import render

        up_to_date.remember(config, outcome.run_id, fingerprint,
                            render(outcome.summary, outcome.seconds))
    except Exception:  # noqa: BLE001 - only costs the next run its shortcut
        traceback.print_exc()  # into the log file
