"""A local run as the application drives it: the pre-flight checks, whether it is up to
date, the output directory's lock, the run and what it records (`driftline run`)."""
