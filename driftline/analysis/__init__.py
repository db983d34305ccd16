"""Error analysis of a run's judged predictions: `driftline analyze` and the report each
run links from its summary."""
