"""Resolver strategies: the serving model (Evaluator's baseline), the drift baseline, the analyzer cache."""
