"""The model: every feature named once, tf.Transform's preprocessing_fn, the Trainer's run_fn."""
