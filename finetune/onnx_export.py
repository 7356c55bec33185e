# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""ONNX export, int8 quantization and ONNX Runtime inference.

Shared by `run_classifier.py`, `run_squad.py` (--export_onnx,
--onnx_model_path), `scripts/export_onnx.py` and the benchmark. Public API:

  export_onnx(saved_model_dir, output_dir, int8=True,
              calibration_features=None, method=DEFAULT_INT8_METHOD,
              reference_dir=None, python=None) -> {kind: path}
      model.onnx (float32, tf2onnx from the SavedModel's serving signature,
      inputs and outputs named after the signature's keys) and with `int8`
      model_int8.onnx (ONNX Runtime quantization, see quantize); the float
      model is checked against `reference_dir` (default: the SavedModel
      itself) to FLOAT_TOLERANCE. Under TF 1.15 (no tf2onnx, no ONNX
      Runtime in that environment) the conversion runs in the TF 2
      environment on the same SavedModel (tflite_util.run_in_tf2).
  quantize(float_path, output_path, method, calibration_features=None,
           per_channel=None, exclude_nodes=(), op_types=..., rewrite=True)
      "dynamic" (int8 weights, activations quantized per call) or "static"
      (QDQ, activation ranges calibrated on `calibration_features`), of
      the float model rewritten for ONNX Runtime (runtime_graph_copy:
      self-attention fused into MultiHeadAttention, NoNorms folded into
      kernels; checked against the float model to FLOAT_TOLERANCE first).
  run_onnx(model_path, feature_dicts, threads=None) -> {output: array}
  run_checked(model_path, feature_dicts, output_names, max_seq_length,
              flag, python=None) -> (shapes, outputs)
      check_onnx_model (the task's outputs, its sequence length, the
      inputs the features have; else a ValueError naming `flag`), then
      run_onnx; in the TF 2 environment under TF 1.15.
  saved_model_outputs(saved_model_dir, feature_dicts, output_names,
                      config=None) -> {output: array}
  check_against_saved_model(saved_model_dir, outputs, feature_dicts,
                            flag) -> max |difference|
"""

import argparse
import importlib.util
import json
import os
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf

from finetune import export_util
from finetune import graph_rewrites
from finetune import onnx_fusion
from finetune import tflite_util

ONNX_NAMES = {"onnx_float": "model.onnx", "onnx_int8": "model_int8.onnx"}
ONNX_KINDS = ("onnx_float", "onnx_int8")
OPSET = 17
# Float ONNX outputs against the SavedModel's.
FLOAT_TOLERANCE = 1e-4
INT8_METHODS = ("dynamic", "static")
# Chosen by measurement (docs/onnx.md): dynamic int8 keeps accuracy and is
# the faster of the two in ONNX Runtime's CPU kernels.
DEFAULT_INT8_METHOD = "dynamic"
# Ops whose weights the quantizer turns to int8 (Gather: the embedding
# tables, a quarter of the size).
DEFAULT_OP_TYPES = ("MatMul", "Gather")
EVAL_BATCH = 64
# Sequence length of the rewrite's check inputs when the model's is free.
EVAL_SEQ_LENGTH = 128
MODULE = "finetune.onnx_export"


def has_onnx_runtime():
    """Whether this environment has tf2onnx and ONNX Runtime."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("onnxruntime", "tf2onnx"))


# ---------------------------------------------------------------------------
# Conversion and quantization (TF 2 environment).
# ---------------------------------------------------------------------------


def convert(saved_model_dir, output_path, opset=OPSET):
    """Converts a SavedModel's serving signature to float32 ONNX.

    The graph is frozen (graph_rewrites.frozen_signature) and converted by
    tf2onnx; the ONNX inputs and outputs are renamed to the signature's
    keys (input_ids, ..., probabilities), with a free batch dimension.

    Returns:
      output_path.
    """
    import onnx  # pylint: disable=import-outside-toplevel
    import tf2onnx  # pylint: disable=import-outside-toplevel
    graph_def, signature = graph_rewrites.frozen_signature(saved_model_dir)
    inputs = sorted(signature.inputs.items())
    outputs = sorted(signature.outputs.items())
    model, _ = tf2onnx.convert.from_graph_def(
        graph_def, input_names=[info.name for _, info in inputs],
        output_names=[info.name for _, info in outputs], opset=opset)
    rename_tensors(model, {info.name: key for key, info in inputs + outputs})
    onnx.checker.check_model(model)
    onnx.save(model, output_path)
    tf.logging.info("ONNX model (float32, opset %d) written to %s (%d bytes)",
                    opset, output_path, os.path.getsize(output_path))
    return output_path


def rename_tensors(model, names):
    """Renames tensors of an ONNX ModelProto in place ({old: new})."""
    graph = model.graph
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = names.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = names.get(name, name)
    for value in list(graph.input) + list(graph.output):
        value.name = names.get(value.name, value.name)


class FeatureReader(object):
    """Calibration data of static quantization: one example per call."""

    def __init__(self, feature_dicts, input_names):
        self.rows = [{name: np.asarray(f[name], np.int32)[None]
                      for name in input_names} for f in feature_dicts]
        self.position = 0

    def get_next(self):
        """The next {input: [1, S] int32}, or None at the end."""
        if self.position >= len(self.rows):
            return None
        self.position += 1
        return self.rows[self.position - 1]

    def rewind(self):
        """Starts over (ONNX Runtime's CalibrationDataReader API)."""
        self.position = 0


def quantize(float_path, output_path, method=DEFAULT_INT8_METHOD,
             calibration_features=None, per_channel=None,
             exclude_nodes=(), op_types=DEFAULT_OP_TYPES,
             rewrite=True):
    """ONNX Runtime int8 quantization of a float ONNX model.

    Args:
      float_path: model.onnx of convert.
      output_path: where to write the int8 model.
      method: "dynamic" (int8 weights; activations quantized at run time,
        per tensor and call) or "static" (QDQ; activation ranges from
        `calibration_features`, MinMax; uint8 activations, int8 weights,
        the U8S8 form ONNX Runtime's x86 kernels run).
      calibration_features: feature dicts (training examples) for "static".
      per_channel: one weight scale per output channel (None: where the
        rewrite folded a NoNorm into a kernel, else one per tensor).
      exclude_nodes: ONNX node names to keep in float.
      op_types: op types to quantize.
      rewrite: quantize the float model as runtime_graph_copy rewrites it
        (fused self-attention, NoNorms folded into kernels; the int8 model
        then needs ONNX Runtime, which its integer ops do anyway).

    Returns:
      output_path.

    Raises:
      ValueError: an unknown method, "static" without features, or a
        fused model that differs from the float one.
    """
    if method not in INT8_METHODS:
        raise ValueError("ONNX int8 method must be one of %s, got %r" %
                         (", ".join(INT8_METHODS), method))
    if method == "static" and not calibration_features:
        raise ValueError("static ONNX quantization needs calibration "
                         "features (the task's training examples)")
    with tempfile.TemporaryDirectory(prefix="onnx_quantize_") as work:
        source, folded = float_path, 0
        if rewrite:
            source, folded = runtime_graph_copy(
                float_path, os.path.join(work, "rewritten.onnx"))
        if per_channel is None:
            per_channel = folded > 0
        quantize_model(source, output_path, method, calibration_features,
                       dict(per_channel=per_channel,
                            op_types_to_quantize=list(op_types),
                            nodes_to_exclude=list(exclude_nodes)))
    tf.logging.info("ONNX model (int8, %s) written to %s (%d bytes)", method,
                    output_path, os.path.getsize(output_path))
    return output_path


def quantize_model(source, output_path, method, calibration_features,
                   options):
    """ONNX Runtime's quantize_dynamic or quantize_static (QDQ) of
    `source`; `options` holds per_channel and the op and node lists."""
    # pylint: disable=import-outside-toplevel
    import onnx
    from onnxruntime import quantization as q
    # Shape inference stops at contrib ops (MultiHeadAttention): the
    # tensors after them are float32.
    options.update(weight_type=q.QuantType.QInt8, extra_options={
        "DefaultTensorType": onnx.TensorProto.FLOAT})
    if method == "dynamic":
        q.quantize_dynamic(source, output_path, **options)
    else:
        q.quantize_static(
            source, output_path,
            FeatureReader(calibration_features, input_names(source)),
            quant_format=q.QuantFormat.QDQ,
            activation_type=q.QuantType.QUInt8,
            calibrate_method=q.CalibrationMethod.MinMax, **options)


def runtime_graph_copy(float_path, output_path):
    """The float model as ONNX Runtime runs it fastest, checked.

    Self-attention fused into MultiHeadAttention and NoNorms folded into
    the kernels before them (finetune.onnx_fusion).

    Returns:
      (output_path, or float_path where nothing matched; NoNorms folded).

    Raises:
      ValueError: the rewritten model's outputs differ from the float
        model's by more than FLOAT_TOLERANCE on padded random inputs.
    """
    import onnx  # pylint: disable=import-outside-toplevel
    model = onnx.load(float_path)
    seq_length = onnx_fusion.sequence_length(model)
    fused = (onnx_fusion.fuse_attention(model, seq_length)
             if seq_length else 0)
    folded = onnx_fusion.fold_no_norm(model)
    if not fused and not folded:
        tf.logging.info("%s: nothing to rewrite for ONNX Runtime",
                        float_path)
        return float_path, 0
    onnx.save(model, output_path)
    del model
    features = padded_features(seq_length or EVAL_SEQ_LENGTH)
    difference = export_util.max_abs_difference(
        run_onnx(float_path, features), run_onnx(output_path, features))
    if difference > FLOAT_TOLERANCE:
        raise ValueError("%s: the model rewritten for ONNX Runtime (fused "
                         "attention, folded NoNorm) differs from it by %g "
                         "(more than %g)" % (float_path, difference,
                                             FLOAT_TOLERANCE))
    tf.logging.info("%s: %d self-attention layers fused, %d NoNorms folded "
                    "(outputs equal to %g)", float_path, fused, folded,
                    difference)
    return output_path, folded


def padded_features(seq_length, count=4, max_id=20, seed=0):
    """Random features with padding of different lengths (ids below
    `max_id`, within any vocabulary)."""
    rng = np.random.RandomState(seed)
    rows = []
    for i in range(count):
        length = max(1, seq_length - i * seq_length // count)
        mask = (np.arange(seq_length) < length).astype(np.int32)
        rows.append({"input_ids": rng.randint(0, max_id, seq_length) * mask,
                     "input_mask": mask,
                     "segment_ids": np.zeros(seq_length, np.int32)})
    return rows


def input_names(model_path):
    """Names of an ONNX model's inputs."""
    import onnx  # pylint: disable=import-outside-toplevel
    model = onnx.load(model_path, load_external_data=False)
    return [value.name for value in model.graph.input]


# ---------------------------------------------------------------------------
# Inference.
# ---------------------------------------------------------------------------


def session(model_path, threads=None, optimization="all"):
    """An ONNX Runtime CPU session.

    Subnormal floats are flushed to zero, as TensorFlow does on its CPU
    threads: on padded inputs, the softmax over masked positions otherwise
    runs into subnormal values and becomes the slowest op of the model
    (base-f2 int8, 64 of 128 tokens real: 24 ms against 8.4 ms). Outputs
    are unchanged within the export's 1e-4 check.

    Args:
      threads: intra-op threads (None: ONNX Runtime's default, every core).
      optimization: "basic", "extended" or "all" graph optimizations.
    """
    import onnxruntime as ort  # pylint: disable=import-outside-toplevel
    options = ort.SessionOptions()
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    options.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[optimization]
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(model_path, options,
                                providers=["CPUExecutionProvider"])


def describe(model_path):
    """{"inputs": [{"name", "shape"}], "outputs": [...]} of an ONNX model.

    Raises:
      ValueError: a missing file or not an ONNX model.
    """
    import onnx  # pylint: disable=import-outside-toplevel
    if not os.path.isfile(model_path):
        raise ValueError("%s not found" % model_path)
    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as error:  # pylint: disable=broad-except
        raise ValueError("not an ONNX model (%s); expected a .onnx file "
                         "written by --export_onnx" % error)
    if not model.graph.output:
        raise ValueError("not an ONNX model (no graph outputs); expected a "
                         ".onnx file written by --export_onnx")

    def values(items):
        return [{"name": v.name,
                 "shape": [d.dim_value if d.HasField("dim_value") else -1
                           for d in v.type.tensor_type.shape.dim]}
                for v in items]

    return {"inputs": values(model.graph.input),
            "outputs": values(model.graph.output)}


def check_onnx_model(model_path, output_names, max_seq_length, flag,
                     feature_names=None):
    """Checks that an ONNX model fits the task before scoring it.

    Returns:
      {output name: output shape} of the model (-1: a free dimension).

    Raises:
      ValueError: not an ONNX file, outputs of another task, another
        sequence length, or inputs the features do not have.
    """
    try:
        summary = describe(model_path)
    except ValueError as error:
        raise ValueError("%s %s: %s" % (flag, model_path, error))
    return tflite_util.check_summary(summary, model_path, output_names,
                                     max_seq_length, flag, feature_names)


def run_onnx(model_path, feature_dicts, threads=None,
             batch_size=EVAL_BATCH):
    """Runs an ONNX model on feature dicts, `batch_size` at a time.

    Returns:
      {output name: np.ndarray [num_examples, ...]}.
    """
    sess = session(model_path, threads)
    names = [value.name for value in sess.get_inputs()]
    results = {value.name: [] for value in sess.get_outputs()}
    feature_dicts = list(feature_dicts)
    for start in range(0, len(feature_dicts), batch_size):
        batch = feature_dicts[start:start + batch_size]
        feed = {name: np.stack([np.asarray(f[name], np.int32)
                                for f in batch]) for name in names}
        for key, value in zip(results, sess.run(list(results), feed)):
            results[key].append(value)
    return {key: np.concatenate(values) for key, values in results.items()}


def run_checked(model_path, feature_dicts, output_names, max_seq_length,
                flag, python=None):
    """check_onnx_model, then run_onnx; in the TF 2 environment on TF 1.15.

    Returns:
      ({output name: shape}, {output name: [N, ...]}; {} without examples).
    """
    feature_dicts = list(feature_dicts)
    feature_names = (sorted(set().union(*feature_dicts)) if feature_dicts
                     else None)
    if not has_onnx_runtime():
        return run_in_tf2(model_path, feature_dicts, python,
                          (output_names, max_seq_length, flag))
    shapes = check_onnx_model(model_path, output_names, max_seq_length, flag,
                              feature_names)
    outputs = run_onnx(model_path, feature_dicts) if feature_dicts else {}
    return shapes, outputs


def run_in_tf2(model_path, feature_dicts, python, check_args):
    """run_checked by the TF 2 environment, through .npz files."""
    output_names, max_seq_length, flag = check_args
    names = sorted(set().union(*feature_dicts)) if feature_dicts else []
    with tempfile.TemporaryDirectory(prefix="onnx_run_") as work:
        inputs = os.path.join(work, "inputs.npz")
        outputs = os.path.join(work, "outputs.npz")
        np.savez(inputs, **{name: np.stack([np.asarray(f[name])
                                            for f in feature_dicts])
                            for name in names
                            if all(name in f for f in feature_dicts)})
        stdout = tflite_util.run_in_tf2(
            ["run", model_path, inputs, outputs,
             "--check_outputs=" + ",".join(output_names),
             "--max_seq_length=%d" % max_seq_length, "--flag=" + flag],
            python, "running %s" % model_path, module=MODULE)
        with np.load(outputs) as data:
            results = {name: data[name] for name in data.files}
    return json.loads(stdout.strip().splitlines()[-1]), results


# ---------------------------------------------------------------------------
# Checks against the SavedModel.
# ---------------------------------------------------------------------------


def saved_model_outputs(saved_model_dir, feature_dicts, output_names=None,
                        config=None, batch_size=EVAL_BATCH):
    """Runs a SavedModel's serving signature in this process.

    Args:
      output_names: signature output keys (None: all).
      config: the session's ConfigProto (e.g. bf16_serving's).

    Returns:
      {output key: np.ndarray [num_examples, ...]}.
    """
    feature_dicts = list(feature_dicts)
    with tf.Graph().as_default() as graph, \
            tf.Session(graph=graph, config=config) as sess:
        meta = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING], saved_model_dir)
        signature = meta.signature_def[graph_rewrites.SIGNATURE_KEY]
        keys = sorted(output_names or signature.outputs)
        fetches = [signature.outputs[key].name for key in keys]
        results = {key: [] for key in keys}
        for start in range(0, len(feature_dicts), batch_size):
            batch = feature_dicts[start:start + batch_size]
            feed = {info.name: np.stack([np.asarray(f[key], np.int32)
                                         for f in batch])
                    for key, info in signature.inputs.items()}
            for key, value in zip(keys, sess.run(fetches, feed)):
                results[key].append(value)
    return {key: np.concatenate(values) for key, values in results.items()}


def check_against_saved_model(saved_model_dir, outputs, feature_dicts, flag,
                              tolerance=FLOAT_TOLERANCE):
    """Compares float ONNX outputs with the SavedModel's on the same inputs.

    Returns:
      The largest |difference| over the outputs.

    Raises:
      ValueError: a difference above `tolerance`.
    """
    reference = saved_model_outputs(saved_model_dir, feature_dicts,
                                    sorted(outputs))
    difference = export_util.max_abs_difference(reference, outputs)
    if difference > tolerance:
        raise ValueError(
            "%s: the float ONNX model differs from the SavedModel %s by %g "
            "(more than %g) on %d examples" %
            (flag, saved_model_dir, difference, tolerance,
             len(feature_dicts)))
    tf.logging.info("Float ONNX model equals the SavedModel to %g on %d "
                    "examples", difference, len(feature_dicts))
    return difference


def synthetic_features(saved_model_dir, count=8, max_id=20, seed=0):
    """Random id features for a SavedModel's inputs (checks without data):
    ids below `max_id`, within any vocabulary."""
    _, signature = graph_rewrites.frozen_signature(saved_model_dir)
    rng = np.random.RandomState(seed)
    rows = []
    for _ in range(count):
        row = {}
        for key, info in signature.inputs.items():
            length = info.tensor_shape.dim[-1].size
            row[key] = (rng.randint(0, max_id, length) if key == "input_ids"
                        else np.ones(length) if key == "input_mask"
                        else np.zeros(length)).astype(np.int32)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# Export.
# ---------------------------------------------------------------------------


def export_onnx(saved_model_dir, output_dir, int8=True,
                calibration_features=None, method=DEFAULT_INT8_METHOD,
                reference_dir=None, python=None):
    """model.onnx and (with `int8`) model_int8.onnx of a SavedModel.

    Args:
      saved_model_dir: the serving SavedModel to convert (the frozen copy
        of an export).
      output_dir: where the files go.
      int8, method, calibration_features: see quantize.
      reference_dir: the SavedModel the float model must equal
        (FLOAT_TOLERANCE), on the calibration features or, without them,
        on synthetic ones; default `saved_model_dir`.
      python: the TF 2 interpreter used under TF 1.15.

    Returns:
      {"onnx_float": path[, "onnx_int8": path]}.
    """
    tf.io.gfile.makedirs(output_dir)
    paths = {"onnx_float": os.path.join(output_dir,
                                        ONNX_NAMES["onnx_float"])}
    if int8:
        paths["onnx_int8"] = os.path.join(output_dir, ONNX_NAMES["onnx_int8"])
    if has_onnx_runtime():
        convert(saved_model_dir, paths["onnx_float"])
        if int8:
            quantize(paths["onnx_float"], paths["onnx_int8"], method,
                     calibration_features)
    else:
        convert_in_tf2(saved_model_dir, output_dir, int8, method,
                       calibration_features, python)
    features = (list(calibration_features or [])[:EVAL_BATCH] or
                synthetic_features(saved_model_dir))
    if has_onnx_runtime():
        outputs = run_onnx(paths["onnx_float"], features)
    else:
        _, outputs = run_in_tf2(paths["onnx_float"], features, python,
                                ([], 0, "--export_onnx"))
    check_against_saved_model(reference_dir or saved_model_dir, outputs,
                              features, "--export_onnx")
    return paths


def convert_in_tf2(saved_model_dir, output_dir, int8, method,
                   calibration_features, python):
    """export_onnx's conversion by the TF 2 environment (under TF 1.15)."""
    with tempfile.TemporaryDirectory(prefix="onnx_export_") as work:
        args = ["convert", saved_model_dir, output_dir, "--method=" + method]
        if int8:
            args.append("--int8")
        if calibration_features:
            data_file = os.path.join(work, "calibration.npz")
            names = export_util.DEFAULT_FEATURE_NAMES
            np.savez(data_file, **{
                name: np.stack([np.asarray(f[name]) for f in
                                calibration_features]) for name in names})
            args.append("--calibration_npz=" + data_file)
        tflite_util.run_in_tf2(args, python,
                               "ONNX export of %s" % saved_model_dir,
                               module=MODULE)


def main(argv=None):
    """What TF 1.15 delegates to TF 2 (convert, run)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    commands = parser.add_subparsers(dest="command")
    convert_args = commands.add_parser("convert")
    convert_args.add_argument("saved_model_dir")
    convert_args.add_argument("output_dir")
    convert_args.add_argument("--int8", action="store_true")
    convert_args.add_argument("--method", default=DEFAULT_INT8_METHOD,
                              choices=INT8_METHODS)
    convert_args.add_argument("--calibration_npz")
    run = commands.add_parser("run")
    run.add_argument("model_path")
    run.add_argument("inputs_npz")
    run.add_argument("outputs_npz")
    run.add_argument("--check_outputs", default="")
    run.add_argument("--max_seq_length", type=int, default=0)
    run.add_argument("--flag", default="--onnx_model_path")
    args = parser.parse_args(argv)
    tf.logging.set_verbosity(tf.logging.INFO)
    if args.command == "convert":
        features = (tflite_util.rows_of(args.calibration_npz)
                    if args.calibration_npz else None)
        paths = {"onnx_float": os.path.join(args.output_dir,
                                            ONNX_NAMES["onnx_float"])}
        convert(args.saved_model_dir, paths["onnx_float"])
        if args.int8:
            quantize(paths["onnx_float"],
                     os.path.join(args.output_dir, ONNX_NAMES["onnx_int8"]),
                     args.method, features)
    elif args.command == "run":
        rows = tflite_util.rows_of(args.inputs_npz)
        outputs = [n for n in args.check_outputs.split(",") if n]
        shapes = {}
        if args.max_seq_length:
            shapes = check_onnx_model(args.model_path, outputs,
                                      args.max_seq_length, args.flag,
                                      sorted(set().union(*rows))
                                      if rows else None)
        np.savez(args.outputs_npz,
                 **(run_onnx(args.model_path, rows) if rows else {}))
        print(json.dumps(shapes))
    else:
        parser.error("a command is required")


if __name__ == "__main__":
    main()
