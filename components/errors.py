"""Errors raised inside the graph, each written for the person who will read it.

They are defined at the bottom of the package stack so that what TFX executes (here or
in the Kubeflow image) needs nothing above it. The application decides what each means
for a process: `driftline/errors.py` maps every class to its exit code.
"""


class DriftlineError(Exception):
    """An error whose message is the whole explanation: shown without a traceback."""


class DataError(DriftlineError):
    """Input data is missing, malformed or not where the config says."""


class SchemaError(DriftlineError):
    """A schema file cannot be read, parsed or used."""


class TaskError(DriftlineError):
    """The task the config declares (its label rule, where the label is known, its
    inputs) cannot be used with the schema."""
