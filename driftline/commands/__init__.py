"""One module per `driftline` command: each reads its arguments and calls library code."""
