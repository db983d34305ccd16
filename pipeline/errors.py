"""Errors in describing a run: a config that cannot be used."""
from components.errors import DriftlineError


class ConfigError(DriftlineError):
    """A config file, a config value or a command-line flag is invalid."""


class PipelineFailed(DriftlineError):
    """A component failed while the pipeline ran."""


class Terminated(BaseException):
    """The process received SIGTERM. Like KeyboardInterrupt, a BaseException: nothing in
    between may swallow it, so the run stops and marks what it left unfinished."""
