# The image every Kubeflow task runs: TFX 1.16.0 plus driftline's package, its schema
# and its component code. The compiled spec names code by import path
# (components.model.preprocessing.preprocessing_fn, components.drift_gate.component.DriftGate,
# ...), which resolves here because the package is installed, not by a path on a laptop.
#
#   docker build -t REGISTRY/driftline:TAG .
#   docker push REGISTRY/driftline:TAG
ARG TFX_IMAGE=gcr.io/tfx-oss-public/tfx:1.16.0
FROM ${TFX_IMAGE}

ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /driftline

# What the TFX image lacks, at the versions the lock file pins (so that the cluster runs
# what the tests ran); anything already installed at a locked version stays as it is.
COPY requirements.lock ./
RUN pip install --no-cache-dir -c requirements.lock tomli matplotlib

COPY pyproject.toml README.md ./
COPY components/ components/
COPY pipeline/ pipeline/
COPY driftline/ driftline/
COPY schemas/ schemas/
RUN pip install --no-cache-dir --no-deps .

# The schema at the content-addressed path the compiled spec names
# (pipeline/inputs.py: IMAGE_SCHEMA_DIR / first 16 hex digits of its sha256): a spec
# compiled against another schema fails loudly instead of validating with this one.
RUN digest="$(sha256sum schemas/schema.pbtxt | cut -c1-16)" \
 && mkdir -p "/driftline/schema-snapshots/${digest}" \
 && cp schemas/schema.pbtxt "/driftline/schema-snapshots/${digest}/schema.pbtxt"
