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
  write_frozen_saved_model(saved_model_dir, output_dir) -> str
      Writes the serving signature of a SavedModel again with its
      variables folded into constants: the faster graph to serve (the
      runtime folds what depends on weights only, once, at load time; a
      student's projected word embeddings are read from precomputed
      tables).
  convert_to_tflite(saved_model_dir, output_path, quantization="float",
                    representative_features=None, int8_outputs=False,
                    converter_python=None) -> str
      Converts the SavedModel's serving signature to a TFLite flatbuffer
      (batch size 1): "float"; "dynamic" (dynamic-range post-training
      quantization: int8 weights, float activations); "int8" (full-integer
      post-training quantization calibrated on `representative_features`,
      int8 weights and activations, outputs int8 with `int8_outputs`).
      TF 1.15's converter cannot quantize the embedding lookups, so on TF 1
      the int8 conversion runs in the TF 2 environment (`converter_python`,
      default .venv-tf2/bin/python) on the same SavedModel. Returns
      output_path.
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
  run_tflite(model_path, feature_dicts) -> {output name: np.ndarray}
      Runs a TFLite model on each feature dict ({input name: [S] values})
      one example at a time and stacks each output along axis 0 (int8
      outputs dequantized).
  run_checked(model_path, feature_dicts, output_names, max_seq_length,
              flag) -> (shapes, outputs)
      check_lite_model (the model has the task's outputs and sequence
      length, else a ValueError naming `flag`), then run_tflite.
  model_summary(model_path) -> {"inputs", "outputs", "tensors",
                                 "violations"}
      Names, shapes and types of the inputs, outputs and all tensors, and
      the compute ops whose output is not integer.

Under TF 1.15 the int8 conversion and every use of an int8 model (TF 1.15's
interpreter lacks the newer int8 kernels) run in the TF 2 environment
(`python -m finetune.export_util convert|summary|run`, see run_in_tf2).

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
    carries the same name and `run_tflite` returns it under that key;
  * insert axes with `tf.expand_dims`, not `x[:, None]`: the TF 1.15
    converter cannot infer shapes through a StridedSlice that inserts an
    axis, and the attention BatchMatMul downstream then fails to convert.

A second defect of the TF 1.15 converter is worked around by an exact graph
rewrite before conversion: it folds a non-bias constant added after a dense
layer (`dense(x) + position_table[:S]`) into that layer's bias, keeping only
the first row. See guard_constant_operands.
"""

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import file_io
from pretrain import serving_graph

DEFAULT_FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids")
QUANTIZATIONS = ("float", "dynamic", "int8")
# The published file names, by quantization.
TFLITE_NAMES = {
    "float": "model_float.tflite",
    "dynamic": "model_quant.tflite",
    "int8": "model_int8.tflite",
}
SIGNATURE_KEY = "serving_default"
# Dev-set scores of every exported model and their agreement with float.
VERIFICATION_FILE = "verification.json"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONVERTER_PYTHON = os.path.join(REPO_ROOT, ".venv-tf2", "bin",
                                        "python")
# TFLite ops that compute (as opposed to moving data): in a full-integer
# model each of them must produce an integer tensor.
INTEGER_COMPUTE_OPS = frozenset([
    "FULLY_CONNECTED", "BATCH_MATMUL", "CONV_2D", "SOFTMAX", "ADD", "SUB",
    "MUL", "TANH", "LOGISTIC", "RELU", "EMBEDDING_LOOKUP", "GATHER", "MEAN",
    "SUM"
])


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


def convert_to_tflite(saved_model_dir,
                      output_path,
                      quantization="float",
                      representative_features=None,
                      int8_outputs=False,
                      converter_python=None):
    """Converts a SavedModel's serving signature to a TFLite model.

    The variables are frozen, the graph is adjusted around a defect of the
    TF 1.15 converter (`guard_constant_operands`) and the batch dimension is
    fixed to 1 by the converter.

    Args:
      saved_model_dir: directory written by export_saved_model.
      output_path: where to write the `.tflite` file.
      quantization: one of QUANTIZATIONS: "float", "dynamic" (dynamic-range
        post-training quantization) or "int8" (full-integer post-training
        quantization).
      representative_features: for "int8", the calibration examples: a
        non-empty list of {input name: [S] values}.
      int8_outputs: for "int8", int8 model outputs (scale and zero point in
        the output details) instead of float ones.
      converter_python: for "int8" under TF 1, the TF 2 interpreter that
        converts (default DEFAULT_CONVERTER_PYTHON).

    Returns:
      output_path.

    Raises:
      ValueError: unknown quantization, an empty or mis-shaped
        representative set, or an int8 model with float compute ops.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError("quantization must be one of %s, got %r" %
                         (", ".join(QUANTIZATIONS), quantization))
    graph_def, input_names, output_names = freeze_saved_model(saved_model_dir)
    if quantization == "int8":
        representative = representative_arrays(representative_features,
                                               graph_def, input_names,
                                               saved_model_dir)
        if tf.__version__.startswith("1."):
            # convert_to_tflite in TF 2, which checks the ops as below.
            convert_int8_in_tf2(saved_model_dir, output_path, representative,
                                int8_outputs, converter_python)
            return output_path
        write_model(
            convert_graph(graph_def, input_names, output_names, quantization,
                          representative, int8_outputs),
            output_path, quantization)
        violations = model_summary(output_path,
                                   with_violations=True)["violations"]
        if violations:
            raise ValueError(
                "int8 export of %s: %d compute ops are not integer (%s); "
                "the model's ops do not quantize" %
                (saved_model_dir, len(violations), ", ".join(violations[:5])))
        return output_path
    write_model(
        convert_graph(graph_def, input_names, output_names, quantization),
        output_path, quantization)
    return output_path


def convert_graph(graph_def, input_names, output_names, quantization,
                  representative=None, int8_outputs=False):
    """Runs this stack's TFLite converter on a frozen graph.

    Args:
      graph_def, input_names, output_names: from freeze_saved_model.
      quantization: see convert_to_tflite.
      representative: for "int8", {input name: int array [N, S]}.
      int8_outputs: see convert_to_tflite.

    Returns:
      The flatbuffer (bytes).

    Raises:
      ValueError: the converter cannot quantize the graph to int8.
    """
    graph_def = keep_learnt_ranges(guard_constant_operands(graph_def))
    ensure_converter_on_path()
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        inputs = [graph.get_tensor_by_name(name) for name in input_names]
        outputs = [graph.get_tensor_by_name(name) for name in output_names]
        converter = tf.lite.TFLiteConverter(graph_def, inputs, outputs)
        if quantization != "float":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "int8":
            converter.representative_dataset = representative_dataset(
                representative, input_names)
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.TFLITE_BUILTINS_INT8
            ]
            if int8_outputs:
                converter.inference_output_type = tf.int8
            try:
                return converter.convert()
            except Exception as error:  # The converter raises several kinds.
                raise ValueError(
                    "int8 export: the converter could not quantize every op "
                    "of the model to int8 (no float fallback is made): %s" %
                    error)
        return converter.convert()


def representative_arrays(features, graph_def, input_names, source):
    """The calibration examples as {input name: array [N, S]}, checked.

    Raises:
      ValueError: no example, a missing input, or a sequence length that
        differs from the model's.
    """
    if not features:
        raise ValueError("int8 export of %s: the representative set is "
                         "empty (--representative_examples and the training "
                         "features give no example)" % source)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        shapes = {
            name: graph.get_tensor_by_name(name).shape.as_list()
            for name in input_names
        }
    arrays = {}
    for name in input_names:
        key = name.split(":")[0]
        length = shapes[name][-1]
        rows = []
        for index, example in enumerate(features):
            if key not in example:
                raise ValueError(
                    "int8 export of %s: representative example %d has no "
                    "input %r" % (source, index, key))
            row = np.asarray(example[key]).reshape(-1)
            if row.shape[0] != length:
                raise ValueError(
                    "int8 export of %s: representative example %d has %s of "
                    "length %d, the model takes %d (features written with "
                    "another --max_seq_length?)" %
                    (source, index, key, row.shape[0], length))
            rows.append(row)
        arrays[key] = np.stack(rows).astype(np.int32)  # [N, S]
    return arrays


def representative_dataset(arrays, input_names):
    """The converter's calibration generator: one [1, S] example at a time,
    inputs in the order of `input_names`."""
    keys = [name.split(":")[0] for name in input_names]
    count = len(arrays[keys[0]])

    def generate():
        for index in range(count):
            yield [arrays[key][index:index + 1] for key in keys]

    return generate


def write_model(model, output_path, quantization):
    """Writes a flatbuffer and logs its size."""
    with tf.io.gfile.GFile(output_path, "wb") as writer:
        writer.write(model)
    tf.logging.info("TFLite model (%s) written to %s (%d bytes)",
                    quantization, output_path, len(model))


def convert_int8_in_tf2(saved_model_dir, output_path, representative,
                        int8_outputs, converter_python):
    """Full-integer conversion by the TF 2 converter, in a subprocess.

    TF 1.15's converter fails on this model ("Invalid quantization params
    for op GATHER"): its quantizer cannot handle the embedding lookups. The
    TF 2 environment converts the same SavedModel instead.
    """
    with tempfile.TemporaryDirectory(prefix="int8_export_") as work:
        data_file = os.path.join(work, "representative.npz")
        np.savez(data_file, **representative)
        run_in_tf2(["convert", saved_model_dir, output_path, data_file] +
                   (["--int8_outputs"] if int8_outputs else []),
                   converter_python, "int8 export of %s" % saved_model_dir)
    tf.logging.info("TFLite model (int8, TF 2 converter) written to %s (%d "
                    "bytes)", output_path, os.path.getsize(output_path))


def run_in_tf2(args, python, what, module="finetune.export_util"):
    """Runs `python -m MODULE ARGS` in the TF 2 environment.

    Used under TF 1.15 for what only TF 2's TFLite converter and
    interpreter can do (int8 conversion; running int8 models, whose kernels
    TF 1.15's interpreter lacks), and for ONNX export and inference
    (`module` finetune.onnx_export: tf2onnx and ONNX Runtime are installed
    in the TF 2 environment only).

    Returns:
      The command's output.

    Raises:
      ValueError: no TF 2 interpreter, or the command failed (its output
        is included).
    """
    python = python or DEFAULT_CONVERTER_PYTHON
    if not os.path.isfile(python):
        raise ValueError(
            "%s under TF %s needs TF 2's TFLite converter and interpreter "
            "(TF 1.15's cannot quantize the embedding lookups or run the "
            "int8 kernels): %s not found; build it with `STACK=tf2 bash "
            "scripts/setup_env.sh` or pass --int8_converter_python" %
            (what, tf.__version__, python))
    command = [python, "-m", module] + list(args)
    tf.logging.info("%s by TF 2: %s", what, " ".join(command))
    result = subprocess.run(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            universal_newlines=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    if result.returncode != 0:
        raise ValueError("%s by %s failed:\n%s" %
                         (what, python, result.stdout[-4000:]))
    return result.stdout


def load_interpreter(model_path):
    """This stack's TFLite interpreter of a model, allocated.

    Returns:
      The interpreter, or None under TF 1.15 when the model needs kernels
      its runtime lacks (the int8 models of the TF 2 converter).

    Raises:
      ValueError: a missing file or not a TFLite model (read_tflite_model).
    """
    content = read_tflite_model(model_path)
    try:
        interpreter = tf.lite.Interpreter(model_content=content)
    except ValueError as error:
        if (tf.__version__.startswith("1.") and
                "Didn't find op for builtin opcode" in str(error)):
            return None
        raise ValueError("%s: not a TFLite model this runtime can load (%s)"
                         % (model_path, error))
    interpreter.allocate_tensors()
    return interpreter


def model_summary(model_path, python=None, with_violations=False):
    """Inputs, outputs and integer-only violations of a TFLite model.

    Returns:
      {"inputs": [{"name", "shape", "dtype"}], "outputs": [...],
      "tensors": [...] (every tensor), "violations":
      integer_only_violations, with `with_violations`}; computed by TF 2
      when TF 1.15's runtime cannot load the model, or cannot list its ops
      and `with_violations` asks for them.
    """
    interpreter = load_interpreter(model_path)
    if interpreter is None or (with_violations and
                               not hasattr(interpreter, "_get_ops_details")):
        return json.loads(
            run_in_tf2(["summary", model_path], python,
                       "inspecting %s" % model_path).strip().splitlines()[-1])

    def describe(details):
        return [{"name": d["name"], "shape": [int(x) for x in d["shape"]],
                 "dtype": np.dtype(d["dtype"]).name} for d in details]

    return {
        "inputs": describe(interpreter.get_input_details()),
        "outputs": describe(interpreter.get_output_details()),
        "tensors": describe(interpreter.get_tensor_details()),
        "violations": (integer_only_violations(interpreter)
                       if hasattr(interpreter, "_get_ops_details") else None),
    }


def integer_only_violations(interpreter):
    """Compute ops of a TFLite model whose output tensor is not integer.

    Args:
      interpreter: a loaded tf.lite.Interpreter.

    Returns:
      ["OP_NAME -> tensor name", ...]; empty for a full-integer model.
      Data movement (reshape, transpose, slicing) and the quantize and
      dequantize ops at the float boundary are not compute ops.
    """
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    violations = []
    ops = interpreter._get_ops_details()  # pylint: disable=protected-access
    for op in ops:
        if op["op_name"] not in INTEGER_COMPUTE_OPS:
            continue
        for index in op["outputs"]:
            if not np.issubdtype(details[index]["dtype"], np.integer):
                violations.append("%s -> %s" %
                                  (op["op_name"], details[index]["name"]))
    return violations


def frozen_signature(saved_model_dir, signature_key=SIGNATURE_KEY):
    """Loads a SavedModel and folds its variables into constants.

    Returns:
      (GraphDef of what the signature's outputs need, the SignatureDef);
      the signature's tensor names are valid in the GraphDef.

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
        graph_def = tf.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), output_node_names(signature))
    return graph_def, signature


def output_node_names(signature):
    """Names of the nodes of a SignatureDef's outputs, in key order."""
    return [info.name.split(":")[0]
            for _, info in sorted(signature.outputs.items())]


def freeze_saved_model(saved_model_dir, signature_key=SIGNATURE_KEY):
    """frozen_signature with the signature as tensor names.

    Returns:
      (GraphDef, input tensor names, output tensor names), the names in the
      signature's key order.
    """
    graph_def, signature = frozen_signature(saved_model_dir, signature_key)
    return (graph_def,
            [info.name for _, info in sorted(signature.inputs.items())],
            [info.name for _, info in sorted(signature.outputs.items())])


def write_frozen_saved_model(saved_model_dir, output_dir,
                             signature_key=SIGNATURE_KEY,
                             precompute_word_projection=True):
    """Writes a SavedModel's signature again, variables folded into constants.

    The same inputs, outputs and numbers as `saved_model_dir`, in a graph
    without variables: a session reads no variable at each call, and the
    graph optimizer folds what depends on weights alone (the concatenated
    kernels of joint projections) once when the model loads.  It is the
    graph to serve (README, Serving); `saved_model_dir` stays the one to
    convert and to inspect by variable name.

    Args:
      saved_model_dir: a SavedModel (from export_saved_model).
      output_dir: where to write the frozen SavedModel; must not exist.
      precompute_word_projection: a student's projected word embeddings
        are looked up from tables computed here
        (precompute_word_projections): no MatMul per call for them, for
        tables of 3 x V x H floats (trigram input; V x H without) in
        place of the V x E word embeddings.

    Returns:
      output_dir.
    """
    graph_def, signature = frozen_signature(saved_model_dir, signature_key)
    if precompute_word_projection:
        graph_def = precompute_word_projections(graph_def,
                                                output_node_names(signature))
    with tf.Graph().as_default(), tf.Session() as sess:
        tf.import_graph_def(graph_def, name="")
        builder = tf.saved_model.builder.SavedModelBuilder(output_dir)
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.tag_constants.SERVING],
            signature_def_map={signature_key: signature})
        builder.save()
    tf.logging.info("Frozen SavedModel of %s written to %s", saved_model_dir,
                    output_dir)
    return output_dir


def precompute_word_projections(graph_def, output_names):
    """Replaces each projection of the word embeddings by table lookups.

    A MobileBERT student projects its word embeddings (with trigram input:
    those of the next, current and previous token side by side) to the
    hidden width with one dense layer; the teacher has no such layer.  Its
    kernel K = [K_next; K_current; K_previous] and the table T are
    constants in a frozen graph, so the projection of token t is

        T[id(t+1)] K_next + T[id(t)] K_current + T[id(t-1)] K_previous + b,

    three lookups in the tables T K_next, T K_current + b and T K_previous
    (one, T K + b, without trigram input), each [V, H], computed here once.
    The next and previous tables get an extra all-zero row (id V), read
    past either end of the sequence, where the model pads with zeros.  The
    same numbers up to float rounding (sums in another order), no MatMul
    of [B*S, 3E] x [3E, H] per call (base-f2 and base-f4: 0.45 GFLOP per
    128 tokens), tables of 3 x V x H floats in place of V x E.

    Args:
      graph_def: a frozen GraphDef of a model from serving_graph.ServingModel.
      output_names: the names of the nodes to keep (with what they need).

    Returns:
      A new GraphDef; `graph_def` itself when it has no projection.

    Raises:
      ValueError: a projection's table, kernel or bias is not a constant
        of the graph (it was not frozen).
    """
    suffix = "/embeddings/" + serving_graph.WORD_PROJECTION
    projections = [node for node in graph_def.node
                   if node.name.endswith(suffix)]
    if not projections:
        return graph_def
    graph_def = copy.deepcopy(graph_def)
    nodes = {node.name: node for node in graph_def.node}
    for projection in projections:
        scope = projection.name[:-len(serving_graph.WORD_PROJECTION)]
        table, kernel, bias = [
            constant_value(nodes, scope + name)
            for name in ("word_embeddings",
                         "embedding_transformation/kernel",
                         "embedding_transformation/bias")
        ]
        ids = nodes[scope + serving_graph.WORD_IDS]
        lookup = projection_lookup_graph(
            projection_tables(table, kernel, bias),
            tf.as_dtype(ids.attr["T"].type))
        prefix = scope + "projection_lookup/"
        for node in lookup.node:
            if node.name == "ids":
                continue
            node.name = prefix + node.name
            node.input[:] = [
                ids.name + name[len("ids"):]
                if name.split(":")[0] == "ids" else prefix + name
                for name in node.input
            ]
            graph_def.node.extend([node])
        nodes[projection.name].input[:] = [prefix + "output"]
    return tf.graph_util.extract_sub_graph(graph_def, output_names)


def constant_value(nodes, name):
    """The value of Const node `name` of a frozen graph, as an array."""
    if name not in nodes or nodes[name].op != "Const":
        raise ValueError("the frozen graph has no constant %s (the word "
                         "projection's tables are computed from it)" % name)
    return tf.make_ndarray(nodes[name].attr["value"].tensor)


def projection_tables(table, kernel, bias):
    """Lookup tables of the projected word embeddings (see
    precompute_word_projections).

    Args:
      table: [V, E] word embeddings.
      kernel: [3E, H] (trigram input) or [E, H].
      bias: [H].

    Returns:
      {"current": [V, H]} and with trigram input also "next" and
      "previous", [V + 1, H], whose last row is zeros.
    """
    width = table.shape[1]
    if kernel.shape[0] == width:
        return {"current": np.dot(table, kernel) + bias}
    zeros = np.zeros([1, kernel.shape[1]], table.dtype)
    return {
        "next": np.concatenate([np.dot(table, kernel[:width]), zeros]),
        "current": np.dot(table, kernel[width:2 * width]) + bias,
        "previous": np.concatenate([np.dot(table, kernel[2 * width:]),
                                    zeros]),
    }


def projection_lookup_graph(tables, ids_dtype):
    """GraphDef reading `tables` at placeholder `ids` [B, S] into `output`.

    Returns:
      A GraphDef whose node `output` is [B, S, H]: the sum of the current
      table's rows at the ids and, with trigram tables, the next table's at
      the ids shifted one left and the previous table's at the ids shifted
      one right (the zero row V where they run past the sequence).
    """
    with tf.Graph().as_default() as graph:
        ids = tf.placeholder(ids_dtype, [None, None], name="ids")
        output = tf.gather(tf.constant(tables["current"], name="current"),
                           ids)  # [B, S, H]
        if "next" in tables:
            outside = tables["next"].shape[0] - 1
            next_ids = tf.pad(ids[:, 1:], [[0, 0], [0, 1]],
                              constant_values=outside)
            previous_ids = tf.pad(ids[:, :-1], [[0, 0], [1, 0]],
                                  constant_values=outside)
            output += tf.gather(tf.constant(tables["next"], name="next"),
                                next_ids)
            output += tf.gather(
                tf.constant(tables["previous"], name="previous"),
                previous_ids)
        tf.identity(output, name="output")
    return graph.as_graph_def()


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


# Ops that only move values: an int8 model gives their output the scale of
# their input.
DATA_MOVEMENT_OPS = frozenset([
    "Reshape", "Transpose", "Split", "SplitV", "StridedSlice", "Slice",
    "GatherV2", "Squeeze", "ExpandDims", "Unpack", "Identity"
])
FAKE_QUANT_OP = "FakeQuantWithMinMaxVars"


def keep_learnt_ranges(graph_def):
    """Carries each learnt activation range through the ops that move data.

    In a quantization-aware graph a `FakeQuantWithMinMaxVars` fixes its
    tensor's int8 range. TF 2.15's int8 converter also calibrates the
    output of a reshape, transpose, split or slice that reads that tensor
    and then finds the two ranges differ, which such an op does not allow
    ("quantization parameters violate the same scale constraint"). Each
    output of such an op (and of the ops that move it further) gets a
    FakeQuant with the source's range: an exact identity on values that are
    already on that grid, so the graph computes the same numbers.

    Args:
      graph_def: a frozen GraphDef.

    Returns:
      A new GraphDef (the same one when it has no FakeQuant).
    """
    graph_def = copy.deepcopy(graph_def)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
    nodes = {node.name: node for node in graph_def.node}
    # (FakeQuant node whose range to copy, tensor it fixes): its readers
    # are visited.
    pending = [(nodes[op.name], op.outputs[0])
               for op in graph.get_operations()
               if op.type == FAKE_QUANT_OP and
               op.inputs[0].dtype == tf.float32]
    added = []
    while pending:
        source, tensor = pending.pop()
        movers = {op.name: op for op in tensor.consumers()
                  if op.type in DATA_MOVEMENT_OPS}
        for _, mover in sorted(movers.items()):
            for index, output in enumerate(mover.outputs):
                name = "%s/learnt_range_%d" % (mover.name, index)
                if output.dtype != tf.float32 or name in nodes:
                    continue
                for reader in output.consumers():
                    node = nodes[reader.name]
                    node.input[:] = [name if tensor_name(i) == output.name
                                     else i for i in node.input]
                copy_node = tf.NodeDef(name=name, op=FAKE_QUANT_OP)
                copy_node.input.extend([output.name] + list(source.input[1:3]))
                for key in ("num_bits", "narrow_range"):
                    copy_node.attr[key].CopyFrom(source.attr[key])
                nodes[name] = copy_node
                added.append(copy_node)
                pending.append((copy_node, output))
    graph_def.node.extend(added)
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
      quantizations: subset of QUANTIZATIONS.
      representative_features, int8_outputs, converter_python: see
        convert_to_tflite.
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
        "saved_model_frozen": write_frozen_saved_model(
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
        paths[quantization] = convert_to_tflite(
            source,
            os.path.join(export_dir, TFLITE_NAMES[quantization]),
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


def run_tflite(model_path, feature_dicts, python=None):
    """Runs a TFLite model example by example.

    Under TF 1.15, a model its runtime cannot load (int8) runs in the TF 2
    environment (`python`, default DEFAULT_CONVERTER_PYTHON).

    Args:
      model_path: `.tflite` file.
      feature_dicts: iterable of {input name: sequence of values [S]}; every
        model input must be present (extra keys are ignored).
      python: see above.

    Returns:
      {output tensor name: np.ndarray [num_examples, ...]} (the leading batch
      dimension of 1 of each model output is removed before stacking; int8
      outputs are dequantized).

    Raises:
      ValueError: a feature dict lacks one of the model's inputs.
    """
    interpreter = load_interpreter(model_path)
    feature_dicts = list(feature_dicts)
    if interpreter is None:
        return run_tflite_in_tf2(model_path, feature_dicts, python)
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
                dequantize(interpreter.get_tensor(detail["index"])[0],
                           detail))
    return {name: np.stack(values) for name, values in results.items()}


def run_tflite_in_tf2(model_path, feature_dicts, python, check_args=()):
    """run_tflite by the TF 2 interpreter, through .npz files.

    Args:
      check_args: (output names, max_seq_length, flag) of check_lite_model
        to run first, or ().

    Returns:
      The outputs of run_tflite, or with `check_args` (output shapes of
      check_lite_model, outputs).
    """
    names = sorted(set().union(*feature_dicts)) if feature_dicts else []
    extra = []
    if check_args:
        output_names, max_seq_length, flag = check_args
        extra = ["--check_outputs=" + ",".join(output_names),
                 "--max_seq_length=%d" % max_seq_length, "--flag=" + flag]
    with tempfile.TemporaryDirectory(prefix="tflite_run_") as work:
        inputs = os.path.join(work, "inputs.npz")
        outputs = os.path.join(work, "outputs.npz")
        np.savez(inputs, **{
            name: np.stack([np.asarray(f[name]) for f in feature_dicts
                            if name in f]) for name in names})
        stdout = run_in_tf2(["run", model_path, inputs, outputs] + extra,
                            python, "running %s" % model_path)
        with np.load(outputs) as data:
            results = {name: data[name] for name in data.files}
    if check_args:
        return json.loads(stdout.strip().splitlines()[-1]), results
    return results


def run_checked(model_path, feature_dicts, output_names, max_seq_length,
                flag, python=None):
    """check_lite_model, then run_tflite, in one process.

    Under TF 1.15 a model its runtime cannot load (int8) is checked and run
    by one call of the TF 2 environment.

    Args:
      model_path, output_names, max_seq_length, flag: see check_lite_model.
      feature_dicts, python: see run_tflite.

    Returns:
      ({output name: output shape}, run_tflite outputs; {} without
      examples).

    Raises:
      ValueError: see check_lite_model and run_tflite.
    """
    feature_dicts = list(feature_dicts)
    try:
        loadable = load_interpreter(model_path) is not None
    except ValueError as error:
        raise ValueError("%s %s: %s" % (flag, model_path, error))
    if not loadable:
        return run_tflite_in_tf2(model_path, feature_dicts, python,
                                 (output_names, max_seq_length, flag))
    shapes = check_lite_model(model_path, output_names, max_seq_length, flag)
    outputs = run_tflite(model_path, feature_dicts) if feature_dicts else {}
    return shapes, outputs


def dequantize(value, detail):
    """A TFLite output as float: scale * (q - zero point) for int8 outputs."""
    scale, zero_point = detail["quantization"]
    if not np.issubdtype(value.dtype, np.integer) or scale == 0:
        return value
    return (scale * (value.astype(np.float32) - zero_point)).astype(np.float32)


def check_lite_model(model_path, output_names, max_seq_length, flag):
    """Checks that a TFLite model fits the task before scoring it.

    Args:
      model_path: `.tflite` file.
      output_names: outputs the task's models have.
      max_seq_length: the task's sequence length.
      flag: the flag that named the file, for the message.

    Returns:
      {output name: output shape} of the model.

    Raises:
      ValueError: not a TFLite file, outputs of another task, or another
        sequence length.
    """
    try:
        summary = model_summary(model_path)
    except ValueError as error:
        raise ValueError("%s %s: %s" % (flag, model_path, error))
    outputs = {d["name"]: d["shape"] for d in summary["outputs"]}
    missing = [name for name in output_names if name not in outputs]
    if missing:
        raise ValueError(
            "%s %s: a model of another task: it has the outputs %s, this "
            "task needs %s" % (flag, model_path, ", ".join(sorted(outputs)),
                               ", ".join(output_names)))
    for detail in summary["inputs"]:
        if detail["shape"][-1] != max_seq_length:
            raise ValueError(
                "%s %s: input %s has length %d, --max_seq_length is %d" %
                (flag, model_path, detail["name"], detail["shape"][-1],
                 max_seq_length))
    return outputs


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
    for quantization in QUANTIZATIONS:
        if quantization in report:
            items = sorted(report[quantization].items())
            tf.logging.info("Verified %s: %s", quantization,
                            ", ".join("%s=%s" % item for item in items))
    tf.logging.info("Export verification written to %s", path)


def rows_of(npz_file):
    """The examples of an .npz of [N, ...] arrays as a list of dicts."""
    with np.load(npz_file) as data:
        count = len(data[data.files[0]]) if data.files else 0
        return [{key: data[key][i] for key in data.files}
                for i in range(count)]


def main(argv=None):
    """What TF 1.15 delegates to TF 2 (see run_in_tf2)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    commands = parser.add_subparsers(dest="command")
    convert = commands.add_parser("convert", help="int8 conversion")
    convert.add_argument("saved_model_dir")
    convert.add_argument("output_path")
    convert.add_argument("representative_npz",
                         help="{input name: int array [N, S]}")
    convert.add_argument("--int8_outputs", action="store_true")
    summary = commands.add_parser("summary",
                                  help="model_summary as one JSON line")
    summary.add_argument("model_path")
    run = commands.add_parser("run", help="run_tflite, .npz in and out")
    run.add_argument("model_path")
    run.add_argument("inputs_npz")
    run.add_argument("outputs_npz")
    run.add_argument("--check_outputs", default=None,
                     help="comma-separated output names: check_lite_model "
                     "first and print its output shapes as one JSON line")
    run.add_argument("--max_seq_length", type=int)
    run.add_argument("--flag", default="--lite_model_path")
    args = parser.parse_args(argv)
    if args.command == "convert":
        tf.logging.set_verbosity(tf.logging.INFO)
        convert_to_tflite(args.saved_model_dir, args.output_path, "int8",
                          representative_features=rows_of(
                              args.representative_npz),
                          int8_outputs=args.int8_outputs)
    elif args.command == "summary":
        print(json.dumps(model_summary(args.model_path,
                                       with_violations=True)))
    elif args.command == "run" and args.check_outputs:
        shapes, outputs = run_checked(args.model_path,
                                      rows_of(args.inputs_npz),
                                      args.check_outputs.split(","),
                                      args.max_seq_length, args.flag)
        np.savez(args.outputs_npz, **outputs)
        print(json.dumps(shapes))
    elif args.command == "run":
        np.savez(args.outputs_npz,
                 **run_tflite(args.model_path, rows_of(args.inputs_npz)))
    else:
        parser.error("a command is required")


if __name__ == "__main__":
    main()
