# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""SavedModel and TFLite export, and TFLite inference, for fine-tuned models.

Shared by `run_classifier.py` and `run_squad.py`. Public API:

  serving_input_receiver_fn_builder(max_seq_length, feature_names=...)
      -> serving_input_receiver_fn with int32 [None, max_seq_length]
         placeholders named after `feature_names` (default input_ids,
         input_mask, segment_ids).
  export_saved_model(estimator, serving_input_receiver_fn, export_dir,
                     checkpoint_path=None) -> str
      Writes a SavedModel under `export_dir/<timestamp>/` from the
      estimator's newest checkpoint (or `checkpoint_path`) and returns that
      directory.
  convert_to_tflite(saved_model_dir, output_path, quantize=False) -> str
      Converts the SavedModel's serving signature to a TFLite flatbuffer
      (batch size 1); `quantize=True` applies dynamic-range post-training
      quantization (int8 weights, float activations). Returns output_path.
  export_models(estimator, serving_input_receiver_fn, export_dir,
                use_post_quantization=False, checkpoint_path=None) -> dict
      All of the above: {"saved_model": dir, "tflite": export_dir/model.tflite
      [, "tflite_quant": export_dir/model_quant.tflite]}.
  export_run_options(options) -> estimator_util.RunOptions
      The run options for building the export graph: one CPU device,
      float32, no XLA, no gradient accumulation.
  export_newest_checkpoint(model_fn, model_dir, options, max_seq_length,
                           export_dir, use_post_quantization=False) -> dict
      export_models of the newest checkpoint in `model_dir`, through the
      shared estimator factory (options from export_run_options); logs
      every file written.
  run_tflite(model_path, feature_dicts) -> {output name: np.ndarray}
      Runs a TFLite model on each feature dict ({input name: [S] values})
      one example at a time and stacks each output along axis 0.

Conventions the model_fn must follow so that exports are usable:
  * build the serving graph with `use_einsum=False` (reshape + MatMul, the
    form TFLite runs natively; in TF 1.15.5 `tf.einsum` also lowers to
    MatMul/BatchMatMul and converts, but that is a property of this TF
    version, not a guarantee);
  * name every prediction tensor after its key, e.g.
    `tf.identity(probs, name="probabilities")`, so that the TFLite output
    carries the same name and `run_tflite` returns it under that key;
  * insert axes with `tf.expand_dims`, not `x[:, None]`: the TF 1.15
    converter cannot infer shapes through a StridedSlice that inserts an
    axis, and the attention BatchMatMul downstream then fails to convert.

A second defect of the TF 1.15 converter is worked around by an exact graph
rewrite before conversion: it folds a non-bias constant added after a dense
layer (`dense(x) + position_table[:S]`) into that layer's bias, keeping only
the first row. See guard_constant_operands.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import copy
import os
import sys

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import file_io

DEFAULT_FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids")
TFLITE_NAME = "model.tflite"
TFLITE_QUANT_NAME = "model_quant.tflite"
SIGNATURE_KEY = "serving_default"


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


def convert_to_tflite(saved_model_dir, output_path, quantize=False):
    """Converts a SavedModel's serving signature to a TFLite model.

    The variables are frozen, the graph is adjusted around a defect of the
    TF 1.15 converter (`guard_constant_operands`) and the batch dimension is
    fixed to 1 by the converter.

    Args:
      saved_model_dir: directory written by export_saved_model.
      output_path: where to write the `.tflite` file.
      quantize: apply dynamic-range post-training quantization.

    Returns:
      output_path.
    """
    graph_def, input_names, output_names = freeze_saved_model(saved_model_dir)
    graph_def = guard_constant_operands(graph_def)
    ensure_converter_on_path()
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        inputs = [graph.get_tensor_by_name(name) for name in input_names]
        outputs = [graph.get_tensor_by_name(name) for name in output_names]
        converter = tf.lite.TFLiteConverter(graph_def, inputs, outputs)
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        model = converter.convert()
    with tf.io.gfile.GFile(output_path, "wb") as writer:
        writer.write(model)
    tf.logging.info("TFLite model%s written to %s (%d bytes)",
                    " (dynamic-range quantized)" if quantize else "",
                    output_path, len(model))
    return output_path


def freeze_saved_model(saved_model_dir, signature_key=SIGNATURE_KEY):
    """Loads a SavedModel and folds its variables into constants.

    Returns:
      (GraphDef, input tensor names, output tensor names), the names in the
      signature's key order.

    Raises:
      ValueError: the SavedModel has no such signature.
    """
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        meta_graph = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING], saved_model_dir)
        if signature_key not in meta_graph.signature_def:
            raise ValueError(
                "%s: no signature %r (has %s)" %
                (saved_model_dir, signature_key,
                 ", ".join(sorted(meta_graph.signature_def))))
        signature = meta_graph.signature_def[signature_key]
        input_names = [
            signature.inputs[k].name for k in sorted(signature.inputs)
        ]
        output_names = [
            signature.outputs[k].name for k in sorted(signature.outputs)
        ]
        graph_def = tf.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(),
            [name.split(":")[0] for name in output_names])
    return graph_def, input_names, output_names


def guard_constant_operands(graph_def):
    """Keeps the converter from folding non-bias constants into a layer.

    TF 1.15's converter fuses an element-wise Add/Sub/Mul with a constant
    into the preceding fully-connected layer even when the constant is not a
    per-channel vector: `dense(x) + position_table[:S]` (the embedding sum of
    modeling.py) becomes `dense(x) + position_table[0]` on every position.
    Each such operation gets its other operand routed through
    `Maximum(x, lowest float)`, an exact identity for finite values that the
    fusion does not look through. Constants that broadcast along the last
    axis only (scalars, biases) are left alone, so ordinary bias fusion
    still happens.

    Args:
      graph_def: a frozen GraphDef.

    Returns:
      A new GraphDef.
    """
    graph_def = copy.deepcopy(graph_def)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
    constant = set()
    for op in graph.get_operations():  # Topological order.
        if op.type == "Const" or (op.inputs and all(
                t.op.name in constant for t in op.inputs)):
            constant.add(op.name)
    guard_name = "tflite_guard/lowest"
    guarded = 0
    for node in graph_def.node:
        if (node.op not in ("Add", "AddV2", "Sub", "Mul") or
                node.attr["T"].type != tf.float32.as_datatype_enum):
            continue
        data_inputs = node.input[:2]
        names = [tensor_name(i) for i in data_inputs]
        is_const = [graph.get_tensor_by_name(n).op.name in constant
                    for n in names]
        if is_const.count(True) != 1:
            continue
        shape = graph.get_tensor_by_name(names[is_const.index(True)]).shape
        if shape.rank is not None and shape.is_fully_defined() and all(
                d == 1 for d in shape.as_list()[:-1]):
            continue
        other = is_const.index(False)
        guard = tf.NodeDef(name=node.name + "/tflite_guard",
                           op="Maximum",
                           input=[node.input[other], guard_name])
        guard.attr["T"].type = tf.float32.as_datatype_enum
        graph_def.node.extend([guard])
        node.input[other] = guard.name
        guarded += 1
    if guarded:
        lowest = tf.NodeDef(name=guard_name, op="Const")
        lowest.attr["dtype"].type = tf.float32.as_datatype_enum
        lowest.attr["value"].tensor.CopyFrom(
            tf.make_tensor_proto(np.finfo(np.float32).min, tf.float32))
        graph_def.node.extend([lowest])
    return graph_def


def tensor_name(graph_input):
    """NodeDef input string ("node" or "node:1") to a tensor name."""
    return graph_input if ":" in graph_input else graph_input + ":0"


def ensure_converter_on_path():
    """Puts this interpreter's bin/ on PATH for the TF 1.15 converter.

    The converter runs the `toco_from_protos` console script in a
    subprocess; when the virtual environment is used without being
    activated (`.venv/bin/python run_classifier.py`), that script is not on
    PATH and the conversion fails with "toco_from_protos: not found".
    """
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = (os.pathsep.join([bin_dir, path])
                              if path else bin_dir)


def export_models(estimator,
                  serving_input_receiver_fn,
                  export_dir,
                  use_post_quantization=False,
                  checkpoint_path=None):
    """SavedModel, float TFLite model and optionally a quantized one.

    Returns:
      {"saved_model": dir, "tflite": path[, "tflite_quant": path]}.
    """
    saved_model_dir = export_saved_model(estimator, serving_input_receiver_fn,
                                         export_dir, checkpoint_path)
    paths = {
        "saved_model":
            saved_model_dir,
        "tflite":
            convert_to_tflite(saved_model_dir,
                              os.path.join(export_dir, TFLITE_NAME)),
    }
    if use_post_quantization:
        paths["tflite_quant"] = convert_to_tflite(
            saved_model_dir,
            os.path.join(export_dir, TFLITE_QUANT_NAME),
            quantize=True)
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
                             use_post_quantization=False):
    """SavedModel and TFLite model(s) of the newest checkpoint in model_dir.

    Args:
      model_fn: a PREDICT model_fn following the conventions above, built
        for `options`.
      model_dir: the directory holding the checkpoints.
      options: RunOptions from export_run_options.
      max_seq_length: sequence length of the serving inputs.
      export_dir: see export_models.
      use_post_quantization: also write the dynamic-range quantized model.

    Returns:
      The paths of export_models.
    """
    estimator = estimator_util.make_estimator(model_fn,
                                              model_dir,
                                              options,
                                              train_batch_size=1)
    paths = export_models(estimator,
                          serving_input_receiver_fn_builder(max_seq_length),
                          export_dir,
                          use_post_quantization=use_post_quantization)
    for kind, path in sorted(paths.items()):
        tf.logging.info("Exported %s: %s", kind, path)
    return paths


def read_tflite_model(model_path):
    """The bytes of a TFLite model file, checked to be one.

    Raises:
      ValueError: the file is missing or is not a TFLite flatbuffer (its
        bytes 4-8 are not the identifier "TFL3").
    """
    content = file_io.read_bytes(model_path, "lite_model_path",
                                 "TFLite model")
    if content[4:8] != b"TFL3":
        raise ValueError(
            "%s: not a TFLite model (no TFL3 flatbuffer identifier at bytes "
            "4-8); expected a .tflite file written by --export_dir" %
            file_io.source(model_path, "lite_model_path"))
    return content


def run_tflite(model_path, feature_dicts):
    """Runs a TFLite model example by example.

    Args:
      model_path: `.tflite` file.
      feature_dicts: iterable of {input name: sequence of values [S]}; every
        model input must be present (extra keys are ignored).

    Returns:
      {output tensor name: np.ndarray [num_examples, ...]} (the leading batch
      dimension of 1 of each model output is removed before stacking).

    Raises:
      ValueError: a feature dict lacks one of the model's inputs.
    """
    interpreter = tf.lite.Interpreter(
        model_content=read_tflite_model(model_path))
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    results = {detail["name"]: [] for detail in outputs}
    for index, features in enumerate(feature_dicts):
        for detail in inputs:
            if detail["name"] not in features:
                raise ValueError(
                    "run_tflite: example %d has no input %r (model inputs: "
                    "%s)" % (index, detail["name"],
                             ", ".join(d["name"] for d in inputs)))
            value = np.asarray(features[detail["name"]], dtype=detail["dtype"])
            interpreter.set_tensor(detail["index"],
                                   value.reshape(detail["shape"]))
        interpreter.invoke()
        for detail in outputs:
            results[detail["name"]].append(
                interpreter.get_tensor(detail["index"])[0])
    return {name: np.stack(values) for name, values in results.items()}
