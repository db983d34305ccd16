"""Every error driftline reports, and the exit code each one means.

This table is the one place exit codes are decided; the README's bad-input section
lists the same classes. Errors raised lower in the stack (components, pipeline) are
defined there and only mapped here.
"""
from components.errors import DataError, DriftlineError, SchemaError, TaskError
from pipeline.errors import ConfigError, PipelineFailed


class RunLocked(DriftlineError):
    """Another run holds the output directory."""


class RolloutRefused(DriftlineError):
    """The change would route to a version that cannot serve; nothing was changed."""


class PolicyError(DriftlineError):
    """A rollout policy file that cannot be read."""


class MetadataError(DriftlineError):
    """The MLMD store cannot be opened, or does not hold what was asked for."""


class TrackerUnavailable(DriftlineError):
    """An experiment tracker (MLflow) cannot be reached or refused a request; MLMD is unchanged."""


class GateBlocked(DriftlineError):
    """Validation stopped the run before training: nothing was trained or pushed."""


FAILED = 1        # a component or command failed (also an unexpected error of ours)
BAD_INPUT = 2     # data, config, schema or a store that cannot be used; nothing was run
BLOCKED = 3       # the data is over a drift/skew threshold or breaks the schema
BUSY = 75         # another run holds the output directory: try again later (EX_TEMPFAIL)
INTERRUPTED = 130  # Ctrl-C (SIGINT)
BROKEN_PIPE = 141  # the reader of the output went away (128 + SIGPIPE)
TERMINATED = 143  # SIGTERM
INTERNAL = FAILED  # an unexpected error: a bug of ours

# Most specific first: the first class an error is an instance of decides its code.
EXIT_CODES = [
    (GateBlocked, BLOCKED),
    (DataError, BAD_INPUT),
    (SchemaError, BAD_INPUT),
    (ConfigError, BAD_INPUT),
    (TaskError, BAD_INPUT),
    (MetadataError, BAD_INPUT),
    (RunLocked, BUSY),
    (RolloutRefused, BAD_INPUT),
    (PolicyError, BAD_INPUT),
    (PipelineFailed, FAILED),
    (TrackerUnavailable, FAILED),
    (DriftlineError, FAILED),
]


def exit_code(error: DriftlineError) -> int:
    return next(code for cls, code in EXIT_CODES if isinstance(error, cls))
