"""The official TFX 1.16 taxi example (tfx.examples.chicago_taxi_pipeline.
taxi_pipeline_native_keras), run from the installed package with a chosen DirectRunner
mode. Its paths come from $HOME, which the benchmark points at a scratch directory.

    python bench/official.py in_memory|multi_processing
"""
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def main(mode: str) -> int:
    import absl.logging
    from tfx.examples.chicago_taxi_pipeline import taxi_pipeline_native_keras as example
    from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

    absl.logging.set_verbosity(absl.logging.INFO)
    if mode == "multi_processing":
        args = example._beam_pipeline_args  # as shipped
    else:
        args = [f"--direct_running_mode={mode}", "--direct_num_workers=0"]
    BeamDagRunner().run(
        example._create_pipeline(
            pipeline_name=example._pipeline_name,
            pipeline_root=example._pipeline_root,
            data_root=example._data_root,
            module_file=example._module_file,
            metadata_path=example._metadata_path,
            serving_model_dir=example._serving_model_dir,
            beam_pipeline_args=args,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
