"""Watching a served model: skew, drift and prediction drift of its request log, with
alarms, recorded in MLMD (`driftline monitor`)."""
