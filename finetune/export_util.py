# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Exports of fine-tuned models: SavedModel, frozen copy, TFLite, verification.

Shared by the fine-tuning scripts. The frozen copy and its rewrites are in
graph_rewrites.py, TFLite conversion and inference in tflite_util.py.
Public API:

  serving_input_receiver_fn_builder(max_seq_length, feature_names=...)
      -> serving_input_receiver_fn with int32 [None, max_seq_length]
         placeholders named after `feature_names` (default input_ids,
         input_mask, segment_ids).
  export_saved_model(estimator, serving_input_receiver_fn, export_dir,
                     checkpoint_path=None) -> str
      Writes a SavedModel under `export_dir/<timestamp>/` from the
      estimator's newest checkpoint (or `checkpoint_path`) and returns that
      directory.
  export_models(estimator, serving_input_receiver_fn, export_dir,
                quantizations=("float",), ...) -> dict
      SavedModel, its frozen copy and one TFLite model per quantization:
      {"saved_model": dir, "saved_model_frozen": export_dir/frozen/<same
       timestamp>, "saved_model_lite": export_dir/lite/<timestamp> (only
       with a separate TFLite source graph, e.g. a SavedModel with row
       groups), "float": export_dir/model_float.tflite,
       "dynamic": export_dir/model_quant.tflite,
       "int8": export_dir/model_int8.tflite} (the requested ones).
  export_run_options(options) -> estimator_util.RunOptions
      The run options for building the export graph: one CPU device,
      float32, no XLA, no gradient accumulation.
  export_newest_checkpoint(model_fn, model_dir, options, max_seq_length,
                           export_dir, quantizations=("float",), ...)
      -> dict
      export_models of the newest checkpoint in `model_dir`, through the
      shared estimator factory (options from export_run_options); logs
      every file written.
  max_abs_difference(reference, outputs), write_verification(export_dir,
                                                              report)
      How far each exported model is from the float one, and the dev-set
      report of every exported model (`verification.json`).

Under TF 1.15 the int8 conversion and every use of an int8 model (TF 1.15's
interpreter lacks the newer int8 kernels) run in the TF 2 environment
(`python -m finetune.tflite_util convert|summary|run`, see
tflite_util.run_in_tf2).

Conventions the model_fn must follow so that exports are usable:
  * build the serving graph (serving_graph.ServingModel) with
    serving_graph.serving_options(): `use_einsum=False` (reshape + MatMul,
    the form TFLite runs natively; in TF 1.15.5 `tf.einsum` also lowers to
    MatMul/BatchMatMul and converts, but that is a property of this TF
    version, not a guarantee) and `mask_adder=SERVING_MASK_ADDER`: with the
    training graph's -10000 the sum of attention scores and mask gets an
    int8 scale so coarse that the int8 model loses the scores (ChnSentiCorp
    tiny model: 67.8% instead of 87.6%; with -100: 86.8%);
  * name every prediction tensor after its key, e.g.
    `tf.identity(probs, name="probabilities")`, so that the TFLite output
    carries the same name and `tflite_util.run_tflite` returns it under
    that key;
  * insert axes with `tf.expand_dims`, not `x[:, None]`: the TF 1.15
    converter cannot infer shapes through a StridedSlice that inserts an
    axis, and the attention BatchMatMul downstream then fails to convert.

A second defect of the TF 1.15 converter is worked around by an exact graph
rewrite before conversion: it folds a non-bias constant added after a dense
layer (`dense(x) + position_table[:S]`) into that layer's bias, keeping only
the first row. See graph_rewrites.guard_constant_operands.
"""

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf

from finetune import graph_rewrites
from finetune import tflite_util
from pretrain import estimator_util
from pretrain import multi_worker


DEFAULT_FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids")


# Dev-set scores of every exported model and their agreement with float.
VERIFICATION_FILE = "verification.json"


def serving_input_receiver_fn_builder(max_seq_length,
                                      feature_names=DEFAULT_FEATURE_NAMES):
    """Returns a serving input fn of int32 [None, max_seq_length] inputs.

    Args:
      max_seq_length: sequence length of every input.
      feature_names: names of the inputs; each becomes both the placeholder
        name and the feature key handed to the model_fn.

    Returns:
      A function returning a `tf.estimator.export.ServingInputReceiver`.
    """

    def serving_input_receiver_fn():
        features = {
            name: tf.placeholder(tf.int32, [None, max_seq_length], name=name)
            for name in feature_names
        }
        return tf.estimator.export.ServingInputReceiver(features, features)

    return serving_input_receiver_fn


def export_saved_model(estimator,
                       serving_input_receiver_fn,
                       export_dir,
                       checkpoint_path=None):
    """Writes a SavedModel of the estimator's PREDICT graph.

    Args:
      estimator: a tf.estimator.Estimator or TPUEstimator (for a
        TPUEstimator, construct it with `export_to_tpu=False` unless a TPU
        graph is wanted too).
      serving_input_receiver_fn: see serving_input_receiver_fn_builder.
      export_dir: base directory; the model goes to a timestamped
        sub-directory.
      checkpoint_path: checkpoint to export (default: newest in model_dir).

    Returns:
      The SavedModel directory (str).

    Raises:
      ValueError: when there is no checkpoint to export.
    """
    if checkpoint_path is None:
        checkpoint_path = tf.train.latest_checkpoint(estimator.model_dir)
        if checkpoint_path is None:
            raise ValueError(
                "export: no checkpoint in %s to export; train first or pass "
                "a checkpoint" % estimator.model_dir)
    tf.io.gfile.makedirs(export_dir)
    path = estimator.export_saved_model(export_dir,
                                        serving_input_receiver_fn,
                                        checkpoint_path=checkpoint_path)
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    tf.logging.info("SavedModel of %s written to %s", checkpoint_path, path)
    return path


def export_models(estimator,
                  serving_input_receiver_fn,
                  export_dir,
                  quantizations=("float",),
                  checkpoint_path=None,
                  representative_features=None,
                  int8_outputs=False,
                  converter_python=None,
                  int8_estimator=None,
                  lite_estimator=None):
    """SavedModel, its frozen copy and one TFLite model per quantization.

    Args:
      estimator, serving_input_receiver_fn, export_dir, checkpoint_path: see
        export_saved_model.
      quantizations: subset of tflite_util.QUANTIZATIONS.
      representative_features, int8_outputs, converter_python: see
        tflite_util.convert_to_tflite.
      int8_estimator: an estimator of the same checkpoints whose graph is
        fake-quantized (quantization-aware training); its own SavedModel,
        in export_dir/qat, is the source of the int8 model.
      lite_estimator: an estimator of the same checkpoints whose graph is
        the one to convert to TFLite (one row group, where `estimator`'s
        has several); its own SavedModel, in export_dir/lite, is the source
        of the TFLite models.  None: the SavedModel is.

    Returns:
      {"saved_model": dir, "saved_model_frozen": dir[, "saved_model_lite":
      dir][, "saved_model_qat": dir], quantization: path}.
    """
    saved_model_dir = export_saved_model(estimator, serving_input_receiver_fn,
                                         export_dir, checkpoint_path)
    paths = {
        "saved_model": saved_model_dir,
        "saved_model_frozen": graph_rewrites.write_frozen_saved_model(
            saved_model_dir,
            os.path.join(export_dir, "frozen",
                         os.path.basename(saved_model_dir)))
    }
    lite_source = saved_model_dir
    if lite_estimator is not None and quantizations:
        lite_source = paths["saved_model_lite"] = export_saved_model(
            lite_estimator, serving_input_receiver_fn,
            os.path.join(export_dir, "lite"), checkpoint_path)
    for quantization in quantizations:
        source = lite_source
        if quantization == "int8" and int8_estimator is not None:
            source = paths["saved_model_qat"] = export_saved_model(
                int8_estimator, serving_input_receiver_fn,
                os.path.join(export_dir, "qat"), checkpoint_path)
        paths[quantization] = tflite_util.convert_to_tflite(
            source,
            os.path.join(export_dir, tflite_util.TFLITE_NAMES[quantization]),
            quantization=quantization,
            representative_features=representative_features,
            int8_outputs=int8_outputs,
            converter_python=converter_python)
    return paths


def export_run_options(options):
    """RunOptions for the export graph: one CPU device, float32, no XLA.

    The SavedModel and the TFLite model are built from a plain graph,
    whatever accelerator the training run used.

    Args:
      options: the run's estimator_util.RunOptions.
    """
    return options._replace(use_tpu=False,
                            use_xla=False,
                            precision="fp32",
                            gradient_accumulation_steps=1,
                            distribution_strategy="none",
                            num_gpus=None)


def export_newest_checkpoint(model_fn,
                             model_dir,
                             options,
                             max_seq_length,
                             export_dir,
                             quantizations=("float",),
                             representative_features=None,
                             int8_outputs=False,
                             converter_python=None,
                             int8_model_fn=None,
                             lite_model_fn=None):
    """SavedModel and TFLite model(s) of the newest checkpoint in model_dir.

    Args:
      model_fn: a PREDICT model_fn following the conventions above, built
        for `options`.
      model_dir: the directory holding the checkpoints.
      options: RunOptions from export_run_options.
      max_seq_length: sequence length of the serving inputs.
      export_dir, quantizations, representative_features, int8_outputs,
        converter_python: see export_models.
      int8_model_fn: the fake-quantized PREDICT model_fn of a
        quantization-aware run (source of the int8 model), or None.
      lite_model_fn: the PREDICT model_fn of the TFLite models' source
        when it is not `model_fn` (see export_models), or None.

    Returns:
      The paths of export_models.
    """

    def make(fn):
        # An export runs in one process, also on the chief of a
        # multi-worker run: its RunConfig must not read a cluster from
        # TF_CONFIG (it would ask for a "chief" task).
        with multi_worker.without_tf_config():
            return estimator_util.make_estimator(fn, model_dir, options,
                                                 train_batch_size=1)

    paths = export_models(
        make(model_fn),
        serving_input_receiver_fn_builder(max_seq_length),
        export_dir,
        quantizations=quantizations,
        representative_features=representative_features,
        int8_outputs=int8_outputs,
        converter_python=converter_python,
        int8_estimator=make(int8_model_fn) if int8_model_fn else None,
        lite_estimator=make(lite_model_fn) if lite_model_fn else None)
    for kind, path in sorted(paths.items()):
        tf.logging.info("Exported %s: %s", kind, path)
    return paths


def max_abs_difference(reference, outputs):
    """Largest |difference| between two run_tflite results, over the
    outputs they share."""
    return float(
        max(np.max(np.abs(reference[k] - outputs[k]))
            for k in reference if k in outputs))


def write_verification(export_dir, report):
    """Writes export_dir/VERIFICATION_FILE and logs one line per model.

    Args:
      report: {quantization: {metric name: value}} of the exported models.
    """
    path = os.path.join(export_dir, VERIFICATION_FILE)
    with tf.io.gfile.GFile(path, "w") as writer:
        writer.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    for quantization in tflite_util.QUANTIZATIONS:
        if quantization in report:
            items = sorted(report[quantization].items())
            tf.logging.info("Verified %s: %s", quantization,
                            ", ".join("%s=%s" % item for item in items))
    tf.logging.info("Export verification written to %s", path)
