"""What can be checked of the Kubeflow image without a Docker daemon: the Dockerfile
installs exactly the lock, runs as a non-root user, copies only what the spec needs, and
every module, class and path the compiled spec names resolves in what it copies."""
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from pipeline.config import PROJECT_ROOT
from pipeline.inputs import IMAGE_SCHEMA_DIR, image_schema_path

DOCKERFILE = PROJECT_ROOT / "Dockerfile"


def _instructions():
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _copies():
    """(source, destination) of every COPY, relative to the WORKDIR."""
    found = []
    for keyword, rest in _instructions():
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, target = rest.split()
            found += [(source, target) for source in sources]
    return found


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    from test_kubeflow import _config
    from pipeline import kubeflow_runner

    tmp = tmp_path_factory.mktemp("image")
    path = kubeflow_runner.compile_spec(_config(tmp), tmp / "spec.yaml")
    return yaml.safe_load(path.read_text())


def test_the_image_installs_exactly_the_lock_and_runs_unprivileged():
    instructions = _instructions()
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    assert any("pip install --no-deps -r requirements.lock" in run for run in runs)
    # Nothing installed beside the lock, from any index.
    assert not [run for run in runs if "pip install" in run and "requirements.lock" not in run]
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert instructions[-1][0] == "USER"  # nothing after it runs as root


def test_the_image_copies_only_what_the_spec_needs():
    sources = {source.rstrip("/") for source, _ in _copies()}
    assert sources == {"requirements.lock", "components", "schemas/schema.pbtxt"}
    env = " ".join(rest for keyword, rest in _instructions() if keyword == "ENV")
    assert "PYTHONPATH=/driftline" in env


def _named_in(spec):
    """Every code path the spec names: executor classes, module paths in parameters,
    artifact types by their schema titles."""
    names = set()
    for executor in spec["deploymentSpec"]["executors"].values():
        args = executor.get("container", {}).get("args", [])
        if "--executor_class_path" in args:
            names.add(args[args.index("--executor_class_path") + 1])
    for task in spec["root"]["dag"]["tasks"].values():
        for key in ("preprocessing_fn", "run_fn"):
            value = task.get("inputs", {}).get("parameters", {}).get(key)
            if value:
                names.add(value["runtimeValue"]["constantValue"]["stringValue"])
    for component in spec["components"].values():
        for direction in ("inputDefinitions", "outputDefinitions"):
            for artifact in component.get(direction, {}).get("artifacts", {}).values():
                title = yaml.safe_load(artifact["artifactType"]["instanceSchema"])["title"]
                if not title.startswith("tfx."):
                    names.add(title)
    return names


def test_every_path_the_spec_names_resolves_in_what_the_image_copies(spec, tmp_path):
    names = _named_in(spec)
    ours = sorted(n for n in names if n.startswith("components."))
    assert len(ours) >= 6 and "components.DriftReport" in ours and "components.ModelPredictions" in ours
    # Lay out the image's /driftline from the COPY instructions, then import every name
    # with only that directory on the path (the project's own editable install removed).
    root = tmp_path / "driftline"
    for source, target in _copies():
        if source == "components/":
            shutil.copytree(PROJECT_ROOT / "components", root / "components",
                            ignore=shutil.ignore_patterns("__pycache__"))
    check = f"""
import sys
sys.meta_path = [f for f in sys.meta_path
                 if "Editable" not in getattr(f, "__name__", type(f).__name__)]
sys.path_hooks = [h for h in sys.path_hooks if "Editable" not in getattr(h, "__name__", str(h))]
sys.path_importer_cache.clear()
sys.path = [{str(root)!r}] + [p for p in sys.path
                             if p not in ("", {str(PROJECT_ROOT)!r}) and "__editable__" not in p]
from tfx.utils import import_utils
for name in {sorted(names)!r}:
    module, _, attribute = name.rpartition(".")
    loaded = import_utils.import_class_by_path(name) if attribute[0].isupper() else \\
        getattr(__import__(module, fromlist=[attribute]), attribute)
    assert loaded.__module__.startswith(("components", "tfx")), (name, loaded.__module__)
import components
assert components.__file__.startswith({str(root)!r}), components.__file__
for forbidden in ("pipeline", "driftline"):
    try:
        __import__(forbidden)
    except ImportError:
        pass
    else:
        raise AssertionError(forbidden + " is importable in the image")
print("ok", len({sorted(names)!r}))
"""
    proc = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().startswith("ok")


def test_the_schema_lands_where_the_spec_reads_it(spec):
    imported = spec["root"]["dag"]["tasks"]["ImportSchemaGen"]["inputs"]["parameters"]["schema_file"]
    path = imported["runtimeValue"]["constantValue"]["stringValue"]
    assert path == image_schema_path(PROJECT_ROOT / "schemas" / "schema.pbtxt")
    # The Dockerfile's shell computes the same digest (first 16 hex digits of sha256).
    schema = PROJECT_ROOT / "schemas" / "schema.pbtxt"
    digest = subprocess.run(f"sha256sum {schema} | cut -c1-16", shell=True, capture_output=True,
                            text=True, check=True).stdout.strip()
    run = next(rest for keyword, rest in _instructions() if keyword == "RUN" and "sha256sum" in rest)
    assert f"{IMAGE_SCHEMA_DIR}/${{digest}}/schema.pbtxt" in run
    assert path == f"{IMAGE_SCHEMA_DIR}/{digest}/schema.pbtxt"
