"""The curated schema file: checks, comment-keeping edits, diff, inference, updates from a run."""
