"""A local pipeline run as the application drives it, one step at a time: bad input is
found before TensorFlow is imported and before anything is written; an unchanged run
starts nothing; the run itself; what it adds to MLMD; its summary."""
import time
import traceback
from dataclasses import dataclass
from typing import Optional

from components.errors import DataError, SchemaError
from driftline.run import lock as run_lock
from driftline.run import up_to_date
from driftline.errors import GateBlocked
from driftline.mlmd.runs import Summary
from pipeline import interruption
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
    """The span window, every CSV file it will read and the schema, checked before
    TensorFlow is imported and before any output directory or metadata store is
    created. The files are read by the pipeline's own reader, so what it would refuse
    halfway through a run is refused here, naming the file and row."""
    import dataclasses

    from components.example_gen import csv_reader
    from driftline.schema.check import check_schema, data_header
    from pipeline.inputs import resolve_task
    from pipeline.spans import span_dir

    inputs = gather(config, with_task=False)
    for span in inputs.spans_read:
        files = csv_reader.list_files(str(span_dir(config.data_root, span)))
        table = csv_reader.read_span(files)
        if table.num_rows == 0:
            raise DataError(f"{span_dir(config.data_root, span)}: the CSV files hold a header and no "
                            "rows; there is nothing to validate or train on")
        if config.example_gen == "beam":
            _no_line_breaks_in_fields(span_dir(config.data_root, span), table)
    problems = check_schema(config.schema_file, data_header(config.data_root))
    if problems:
        raise SchemaError(
            "the schema file has problems; nothing was run:\n"
            + "\n".join(f"  {p}" for p in problems)
        )
    # The task last: its columns are checked against a schema known to be readable.
    return dataclasses.replace(inputs, task=resolve_task(config))


def check_store(config: Config):
    """The MLMD store a run will write to, opened before anything runs: a file that is
    not an MLMD database is refused and kept as it is (never replaced by a new store),
    and a MySQL server that does not answer is named, in one line each."""
    from driftline.errors import MetadataError
    from driftline.mlmd.store import open_existing_sqlite
    from pipeline import metadata

    if config.metadata.mysql_host:
        # Only whether the server answers: opening an MLMD store here would create its
        # tables, and two runs starting at once would race each other doing so.
        why = metadata.mysql_unreachable(config)
        if why:
            raise MetadataError(f"{config.metadata_label}: the MLMD store cannot be reached, so nothing "
                                f"was run ({why}); is the MySQL server running, on that host and port?")
        return
    path = config.metadata_path
    if path.is_file() and path.stat().st_size > 0:  # SQLite starts an empty file as a new store
        try:
            open_existing_sqlite(path)
        except MetadataError as exc:
            raise MetadataError(f"{exc}; nothing was run and the file was left as it is: move it "
                                "away or give the run another --output-dir") from None


def _no_line_breaks_in_fields(directory, table):
    """TFX's CsvExampleGen reads CSV line by line: a quoted field holding a line break,
    which driftline's own reader takes, would fail it halfway through a run."""
    import pyarrow.compute as pc

    for name in table.column_names:
        broken = pc.match_substring(table.column(name), "\n")
        if pc.any(broken).as_py():
            row = pc.index(broken, True).as_py() + 2  # after the header, counting from 1
            raise DataError(f"{directory}: column '{name}' of data row {row} holds a line break "
                            "inside quotes, which TFX's CsvExampleGen (example_gen = \"beam\") "
                            "cannot read; use example_gen = \"arrow\" or remove the line break")


def run(config: Config, force: bool = False) -> Outcome:
    """Runs the pipeline once (unless it is up to date) and reads its summary back from
    MLMD. Framework output goes to config.log_file. Raises GateBlocked when the drift
    gate stopped the run, RunLocked when another run holds the output directory."""
    start = time.monotonic()
    inputs = check_inputs(config)
    check_store(config)
    fingerprint = up_to_date.fingerprint(config, inputs)
    if not force and not config.output_dir.exists():
        force = True  # nothing to be up to date with, and nothing to lock yet
    with run_lock.holding(config.output_dir), interruption.watching():
        reused = None if force else up_to_date.last_result(config, fingerprint)
        if reused:
            run_id, text = reused
            return Outcome(run_id, inputs, time.monotonic() - start, reused_summary=text)
        outcome = _run(config, inputs, fingerprint, start)
    if outcome.summary.gate_blocked:
        from driftline.views.run_summary import gate_block_message

        raise GateBlocked(gate_block_message(outcome.summary))
    return outcome


def _run(config: Config, inputs: PipelineInputs, fingerprint: str, start: float) -> Outcome:
    from pipeline import framework_output, local_runner

    with framework_output.to_log_file(config.log_file, "driftline run") as terminal:
        framework_output.verbose_to_log()
        terminal.write(f"driftline: span {inputs.span}, training window spans {inputs.window}, "
                       f"logs in {config.log_file}\n")
        result = local_runner.RunResult()
        try:
            local_runner.run(config, inputs, terminal, result)
        finally:
            with interruption.shielded():
                _record_run(config, inputs, result.run_id)
        if interruption.received():  # it arrived while the run was being recorded
            raise interruption.stop_exception()
        outcome = Outcome(result.run_id, inputs, 0.0)
        outcome.summary = summarize(config, inputs, result.run_id)
        outcome.summary.report_path = error_analysis(config, outcome.summary)
        outcome.seconds = time.monotonic() - start
        if not outcome.summary.gate_blocked:
            # A blocked run is not remembered: running it again re-checks the data.
            _remember(config, outcome, fingerprint)
    return outcome


def store_of(config: Config):
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

        provenance.record_run(store_of(config), config, run_id, inputs.span, inputs.window)
    except Exception:  # noqa: BLE001
        traceback.print_exc()


def summarize(config: Config, inputs: PipelineInputs, run_id: str) -> Summary:
    from driftline.mlmd import runs as run_summary

    return run_summary.summarize(store_of(config), config, run_id, inputs.span, inputs.window)


def error_analysis(config: Config, summary) -> Optional[str]:
    """The run's error-analysis report, named on its run context in MLMD. A report that
    cannot be written costs only the report (the reason goes to the log)."""
    if summary.judgement is None:
        return None
    try:
        from driftline.analysis.runs import write_report
        from driftline.mlmd import provenance

        store = store_of(config)
        path, result = write_report(store, config, summary.run_id)
        provenance.record_report(store, summary.run_id, str(path))
        from driftline.analysis.report import weakest
        from pipeline.inputs import resolve_task, slice_features

        summary.weakest_slice = weakest(result, slice_features(config, resolve_task(config)))
        return str(path)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return None


def _remember(config: Config, outcome: Outcome, fingerprint: str):
    try:
        from driftline.views.run_summary import render

        up_to_date.remember(config, outcome.run_id, fingerprint,
                            render(outcome.summary, outcome.seconds))
    except Exception:  # noqa: BLE001 - only costs the next run its shortcut
        traceback.print_exc()  # into the log file
