"""`driftline serve`: a TF-Serving-compatible model server (REST and gRPC) over the pushed
versions, with canary and blue-green rollout, a request log and Prometheus metrics."""
