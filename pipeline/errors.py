"""Errors written for the person who hit them; the CLI prints them without a traceback."""


class DriftlineError(Exception):
    """Base of every error driftline reports as a readable message."""

    exit_code = 1


class DataError(DriftlineError):
    """Input data is missing, malformed or not where the config says."""

    exit_code = 2


class ConfigError(DriftlineError):
    """A config file or flag is invalid."""

    exit_code = 2


class SchemaError(DriftlineError):
    """The curated schema file cannot be used."""

    exit_code = 2


class PipelineFailed(DriftlineError):
    """A component of the pipeline failed while running."""

    exit_code = 1


class GateBlocked(DriftlineError):
    """Validation stopped the run before training: nothing was trained or pushed."""

    exit_code = 3
