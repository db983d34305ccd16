"""Deciding from what monitoring measured: the watcher (`monitor --watch`), retraining,
canary judgement, and the replay of the spans in time order with its timeline."""
