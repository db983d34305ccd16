"""Reading MLMD: opening a store without creating one, provenance, lineage queries."""
