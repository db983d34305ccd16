"""Spans and their statistics outside the graph: the embedded sample, drift between spans
and skew against serving logs, computed in this process (`driftline data`, `drift`)."""
