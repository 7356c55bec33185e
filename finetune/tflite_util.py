# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""TFLite models: conversion, inspection and running.

  convert_to_tflite(saved_model_dir, output_path, quantization="float",
                    representative_features=None, int8_outputs=False,
                    converter_python=None) -> str
      Converts a SavedModel's serving signature to a TFLite flatbuffer
      (batch size 1): "float"; "dynamic" (int8 weights, float activations);
      "int8" (full-integer post-training quantization calibrated on
      `representative_features`; int8 outputs with `int8_outputs`).
  run_tflite(model_path, feature_dicts) -> {output name: np.ndarray}
      Runs a model on each feature dict one example at a time and stacks
      each output along axis 0 (int8 outputs dequantized).
  run_checked(model_path, feature_dicts, output_names, max_seq_length,
              flag) -> (shapes, outputs)
      check_lite_model (the task's outputs and sequence length, else a
      ValueError naming `flag`), then run_tflite.
  model_summary(model_path) -> {"inputs", "outputs", "tensors",
                                 "violations"}

TF 1.15's converter cannot quantize the embedding lookups and its
interpreter lacks the newer int8 kernels, so under TF 1.15 the int8
conversion and every use of an int8 model run in the modern stack's
environment (`python -m finetune.tflite_util convert|summary|run`, see
run_in_tf2) on the same files.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow.compat.v1 as tf

from finetune import graph_rewrites
from pretrain import file_io


QUANTIZATIONS = ("float", "dynamic", "int8")


# The published file names, by quantization.
TFLITE_NAMES = {
    "float": "model_float.tflite",
    "dynamic": "model_quant.tflite",
    "int8": "model_int8.tflite",
}


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


def convert_to_tflite(saved_model_dir,
                      output_path,
                      quantization="float",
                      representative_features=None,
                      int8_outputs=False,
                      converter_python=None):
    """Converts a SavedModel's serving signature to a TFLite model.

    The variables are frozen, the graph is adjusted around a defect of the
    TF 1.15 converter (`graph_rewrites.guard_constant_operands`) and the
    batch dimension is fixed to 1 by the converter.

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
    graph_def, input_names, output_names = graph_rewrites.freeze_saved_model(
        saved_model_dir)
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
      graph_def, input_names, output_names: from
        graph_rewrites.freeze_saved_model.
      quantization: see convert_to_tflite.
      representative: for "int8", {input name: int array [N, S]}.
      int8_outputs: see convert_to_tflite.

    Returns:
      The flatbuffer (bytes).

    Raises:
      ValueError: the converter cannot quantize the graph to int8.
    """
    graph_def = graph_rewrites.keep_learnt_ranges(
        graph_rewrites.guard_constant_operands(graph_def))
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


def run_in_tf2(args, python, what, module="finetune.tflite_util"):
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
    return check_summary(summary, model_path, output_names, max_seq_length,
                         flag)


def check_summary(summary, model_path, output_names, max_seq_length, flag,
                  feature_names=None):
    """Checks a model's inputs and outputs against the task's (TFLite and
    ONNX alike).

    Args:
      summary: {"inputs": [{"name", "shape"}], "outputs": [...]}.
      model_path, flag: the file and the flag that named it, for messages.
      output_names: outputs the task's models have.
      max_seq_length: the task's sequence length.
      feature_names: the task's feature names (None: not checked).

    Returns:
      {output name: output shape} of the model.

    Raises:
      ValueError: outputs of another task, another sequence length, or an
        input the features lack.
    """
    outputs = {d["name"]: d["shape"] for d in summary["outputs"]}
    missing = [name for name in output_names if name not in outputs]
    if missing:
        raise ValueError(
            "%s %s: a model of another task: it has the outputs %s, this "
            "task needs %s" % (flag, model_path, ", ".join(sorted(outputs)),
                               ", ".join(output_names)))
    for detail in summary["inputs"]:
        if feature_names is not None and detail["name"] not in feature_names:
            raise ValueError(
                "%s %s: the model has an input %r the task's features lack "
                "(features: %s)" % (flag, model_path, detail["name"],
                                    ", ".join(sorted(feature_names))))
        if detail["shape"][-1] != max_seq_length:
            raise ValueError(
                "%s %s: input %s has length %d, --max_seq_length is %d" %
                (flag, model_path, detail["name"], detail["shape"][-1],
                 max_seq_length))
    return outputs


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
