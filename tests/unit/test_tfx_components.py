"""components/tfx_components.py: importing `tfx.components` runs none of its
components' imports until one is named, and loads no TensorFlow by itself."""
import json
import subprocess
import sys

from components import tfx_components
from pipeline.config import PROJECT_ROOT

_IMPORT_PACKAGE = """
import json, sys
import components
import tfx.components as package
print(json.dumps({"loader": type(package.__loader__).__name__, "exports": package.__all__,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras_tuner"))
                  + sorted(m for m in sys.modules if m.startswith("tfx.components."))}))
"""


def test_the_package_imports_without_its_components():
    proc = subprocess.run([sys.executable, "-c", _IMPORT_PACKAGE], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["loader"] == "_DeferredLoader"
    assert {"Trainer", "Transform", "Evaluator", "Pusher", "Tuner"} <= set(found["exports"])
    assert found["loaded"] == []


def test_exports_name_each_component_and_its_module(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text('"""Doc."""\nfrom a.b.component import Trainer\nfrom a.c import X as Y\nimport os\n'
                    '__all__ = ["Trainer"]\n')
    assert tfx_components._exports(str(init)) == {"Trainer": "a.b.component", "Y": "a.c"}


def test_installing_the_hook_twice_adds_one_finder():
    tfx_components.defer()
    tfx_components.defer()
    assert sum(isinstance(f, tfx_components._Finder) for f in sys.meta_path) == 1
