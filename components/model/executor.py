"""The Trainer's executor: TFX's generic one (run_fn), and then the operating threshold
the run chose recorded on the Model artifact, so that MLMD holds the threshold every
decision of this model is made at (components/model/operating_point.py)."""
from tfx.components.trainer import executor as tfx_trainer
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.model import operating_point


class Executor(tfx_trainer.GenericExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        super().Do(input_dict, output_dict, exec_properties)
        model = artifact_utils.get_single_instance(output_dict["model"])
        point = operating_point.read(path_utils.serving_model_path(model.uri))
        model.set_float_custom_property(operating_point.PROPERTY, point.threshold)
        model.set_string_custom_property(operating_point.DETAILS, point.to_json())
