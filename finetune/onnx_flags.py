# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The ONNX and bfloat16 flags of run_classifier.py and run_squad.py.

  define_flags()                     --export_onnx, --onnx_int8_method,
                                     --onnx_model_path, --verify_bfloat16
  validate_flags(flag_values)        ValueError naming the flag
  export(flag_values, paths, calibration_features) -> paths
      With --export_onnx, model.onnx and model_int8.onnx beside the TFLite
      files (converted from the frozen serving SavedModel, the float one
      checked against the SavedModel); with --verify_bfloat16, the frozen
      SavedModel under oneDNN's bfloat16 rewrite as "tf_bf16".
  VERIFIED_KINDS: the kinds verify_exports scores after the TFLite ones.
  run_kind(kind, path, examples, output_names, max_seq_length, flag)
      -> (shapes or None, outputs): an ONNX file by ONNX Runtime, "tf_bf16"
      by TF with the bfloat16 session config.
"""

import os

from absl import flags
import tensorflow.compat.v1 as tf

from finetune import bf16_serving
from finetune import onnx_export

BF16_KIND = "tf_bf16"
VERIFIED_KINDS = onnx_export.ONNX_KINDS + (BF16_KIND,)


def define_flags():
    """Defines the ONNX and bfloat16 flags."""
    flags.DEFINE_bool(
        "export_onnx", False,
        "With --export_dir, also write model.onnx (float32, tf2onnx) and "
        "model_int8.onnx (ONNX Runtime int8), checked against the "
        "SavedModel and scored in verification.json.")
    flags.DEFINE_enum(
        "onnx_int8_method", onnx_export.DEFAULT_INT8_METHOD,
        list(onnx_export.INT8_METHODS),
        "model_int8.onnx: dynamic (int8 weights, activations quantized per "
        "call) or static (QDQ, calibrated on --representative_examples "
        "training examples).")
    flags.DEFINE_string(
        "onnx_model_path", None,
        "Score this ONNX model (e.g. model_int8.onnx) on the dev split like "
        "--lite_model_path does a TFLite model.")
    flags.DEFINE_bool(
        "verify_bfloat16", False,
        "With --export_dir, also score the frozen SavedModel served with "
        "oneDNN's bfloat16 rewrite (TF 2.15, CPUs with AVX512_BF16 or AMX) "
        "in verification.json.")


def validate_flags(flag_values, training_flag):
    """Raises ValueError for an ONNX or bfloat16 flag that cannot work.

    Args:
      training_flag: the flag naming the training data (static int8
        calibrates on it), e.g. "data_dir".
    """
    for name in ("export_onnx", "verify_bfloat16"):
        if flag_values[name].value and not flag_values.export_dir:
            raise ValueError("--%s needs --export_dir" % name)
    if (flag_values.export_onnx and flag_values.onnx_int8_method == "static"
            and not flag_values[training_flag].value):
        raise ValueError("--onnx_int8_method=static needs --%s: its "
                         "training examples calibrate model_int8.onnx" %
                         training_flag)
    if flag_values.verify_bfloat16:
        try:
            bf16_serving.check_support()
        except ValueError as error:
            raise ValueError("--verify_bfloat16: %s" % error)
    path = flag_values.onnx_model_path
    if path and not flag_values.export_dir and not tf.io.gfile.exists(path):
        raise ValueError("--onnx_model_path: %s not found" % path)


def export(flag_values, paths, calibration_features):
    """Adds the ONNX models (and the bf16 entry) to export_models' paths."""
    paths = dict(paths)
    if flag_values.export_onnx:
        paths.update(onnx_export.export_onnx(
            paths["saved_model_frozen"], flag_values.export_dir,
            calibration_features=calibration_features,
            method=flag_values.onnx_int8_method,
            reference_dir=paths["saved_model"],
            python=flag_values.int8_converter_python))
    if flag_values.verify_bfloat16:
        paths[BF16_KIND] = paths["saved_model_frozen"]
    return paths


def run_kind(kind, path, examples, output_names, max_seq_length, flag):
    """Outputs of one exported model that is not a TFLite file.

    Returns:
      ({output name: shape} or None for the SavedModel, {output: [N, ...]}).
    """
    if kind == BF16_KIND:
        return None, onnx_export.saved_model_outputs(
            path, examples, output_names, bf16_serving.session_config())
    return onnx_export.run_checked(path, examples, output_names,
                                   max_seq_length, flag)


def check_float(kind, paths, outputs, examples):
    """{"max_difference_from_saved_model"} for the float ONNX model (raises
    past onnx_export.FLOAT_TOLERANCE), {} for other kinds."""
    if kind != "onnx_float":
        return {}
    return {"max_difference_from_saved_model":
            onnx_export.check_against_saved_model(
                paths["saved_model"], outputs, examples, "--export_onnx")}


def size_bytes(kind, path):
    """The file size of a model (the graph file of a SavedModel)."""
    if kind == BF16_KIND:
        return os.path.getsize(os.path.join(path, "saved_model.pb"))
    return os.path.getsize(path)
