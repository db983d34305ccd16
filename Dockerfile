# The image every Kubeflow task runs: the TFX 1.16 image, the locked dependency set, and
# what the compiled spec names: the `components` package (executors, preprocessing_fn,
# run_fn, artifact types) and the curated schema. The application (`pipeline`,
# `driftline`) is not in it: no task runs it.
#
#   docker build -t REGISTRY/driftline:TAG .
#   docker push REGISTRY/driftline:TAG
ARG TFX_IMAGE=gcr.io/tfx-oss-public/tfx:1.16.0
FROM ${TFX_IMAGE}

ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/driftline
WORKDIR /driftline

# Exactly the set the tests ran with: every package pinned in the lock,
# nothing resolved at build time (--no-deps: the lock already lists every dependency).
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY components/ components/

# The schema at the content-addressed path the compiled spec names
# (pipeline/inputs.py: IMAGE_SCHEMA_DIR / first 16 hex digits of its sha256): a spec
# compiled against another schema fails loudly instead of validating with this one.
COPY schemas/schema.pbtxt /tmp/schema.pbtxt
RUN digest="$(sha256sum /tmp/schema.pbtxt | cut -c1-16)" \
 && mkdir -p "/driftline/schema-snapshots/${digest}" \
 && mv /tmp/schema.pbtxt "/driftline/schema-snapshots/${digest}/schema.pbtxt"

# Tasks run as an unprivileged user; they write only to the pipeline root (a bucket) and /tmp.
RUN useradd --create-home --uid 1000 --user-group driftline
USER driftline
