"""Error analysis by slice, shared by the ModelGate and `driftline analyze`."""
