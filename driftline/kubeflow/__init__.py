"""Kubeflow Pipelines: the client that uploads and starts a compiled spec, and the
rehearsal that runs the spec here task by task."""
