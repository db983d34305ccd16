"""The DriftGate component: L-infinity distances, the comparison against the schema, report files."""
