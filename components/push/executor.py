"""TFX's Pusher, with the version put in place in one step.

TFX's executor copies the model file by file into `<serving dir>/<version>/` (the
SavedModel's saved_model.pb last). A push killed halfway leaves a version directory
that a model server polling the serving directory finds, tries to load and fails on, and
that stays there. This executor copies into a hidden directory beside the versions,
`.partial-<version>-<pid>/`, and renames it to `<version>/` when complete: on a local
file system the rename is atomic, so a server sees no version or a whole one. Partial
copies that a killed push left are removed by the next push. Destinations the rename
cannot promise this for (gs://, s3://) keep TFX's own behaviour.

A model byte for byte the same as a version already in the serving directory (the
Trainer's output reused from cache, blessed again) is not pushed a second time: the
PushedModel names the existing version, so no duplicate version appears for a rollout to
route to.

Everything else (the blessing check, the version number, the archive copy into the
PushedModel artifact, the pushed / pushed_version properties) is TFX's.
"""
import os
import time
from typing import Any, Dict, List

from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from absl import logging

from components.push.place import identical_version, put_in_place


def _local(path: str) -> bool:
    return "://" not in path


class Executor(tfx_pusher.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        base = destination.filesystem.base_directory if destination.WhichOneof("destination") == "filesystem" else ""
        if not base or not _local(base):
            return super().Do(input_dict, output_dict, exec_properties)
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        model_path = self.GetModelPath(input_dict)
        io_utils.copy_dir(model_path, model_push.uri)
        existing = identical_version(model_path, base)
        if existing is not None:
            logging.info("the model is version %s already (the same files): not pushed again", existing)
            self._MarkPushed(model_push, pushed_destination=os.path.join(base, existing),
                             pushed_version=existing)
            model_push.set_int_custom_property("already_pushed", 1)
            return
        version = str(int(time.time()))
        while os.path.exists(os.path.join(base, version)):  # two pushes within a second
            version = str(int(version) + 1)
        # The archive copy came first: once the version is in place, only MLMD is left to write.
        serving_path = put_in_place(model_path, base, version)
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
