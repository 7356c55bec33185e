# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Measures the ONNX Runtime int8 choices: accuracy and latency of each.

Every variant (dynamic or static QDQ quantization, per-tensor or
per-channel weights, which ops are quantized, what stays in float, ONNX
Runtime's graph optimization level and its transformer optimizer, the
export's own rewrite: fused attention, folded NoNorm) is
  * scored on a fine-tuned classifier's dev set (accuracy, label agreement
    with the float ONNX model, size), the static ones calibrated on
    --calibration_examples of its training features, and
  * timed on an encoder config with random weights (batch 1 x 128, the
    minimum of --iterations calls taken in turns, 1 and 2 threads).

Usage (modern stack; a classifier fine-tuned and exported with
run_classifier.py --export_dir, its output dir holding train/dev.tf_record):
  .venv-tf2/bin/python scripts/onnx_int8_choices.py \\
      --classifier_dir /tmp/csc --export_dir /tmp/csc/export \\
      --latency_config student_base_f2 --json choices.json
"""

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

# pylint: disable=wrong-import-position
from finetune import classifier_data
from finetune import finetune_util
from finetune import onnx_export
from scripts import benchmark_onnx

# name -> quantize() arguments (None: the float model).
VARIANTS = (
    ("float", None),
    ("float, basic graph optimizations", {"optimization": "basic"}),
    ("float, transformer optimizer (bert)", {"transformer_optimizer": True}),
    ("dynamic, per-tensor, MatMul+Gather", {"method": "dynamic"}),
    ("dynamic, per-channel, MatMul+Gather", {"method": "dynamic",
                                            "per_channel": True}),
    ("dynamic, per-tensor, MatMul only (embeddings float)",
     {"method": "dynamic", "op_types": ("MatMul",)}),
    ("dynamic, first and last layer float",
     {"method": "dynamic", "edge_layers_float": True}),
    ("static QDQ, per-tensor, MatMul+Gather", {"method": "static"}),
    ("static QDQ, per-channel, MatMul+Gather", {"method": "static",
                                               "per_channel": True}),
    ("static QDQ, per-channel, all ops (softmax/adds too)",
     {"method": "static", "per_channel": True, "op_types": ()}),
    # The export's graph rewrite (onnx_export.runtime_graph_copy).
    ("dynamic, fused attention and folded NoNorm, per-tensor",
     {"method": "dynamic", "rewrite": True}),
    ("dynamic, fused attention and folded NoNorm, per-channel (default)",
     {"method": "dynamic", "rewrite": True, "per_channel": True}),
)


def edge_layer_nodes(model_path):
    """MatMul nodes of the first and last encoder layers and the head."""
    import onnx  # pylint: disable=import-outside-toplevel
    model = onnx.load(model_path, load_external_data=False)
    layers = sorted({int(n.name.split("layer_")[1].split("/")[0])
                     for n in model.graph.node if "layer_" in n.name})
    edges = ["layer_%d/" % layers[0], "layer_%d/" % layers[-1],
             "classifier", "output_weights", "pooler"] if layers else []
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and
            any(edge in n.name for edge in edges)]


def build_variant(float_path, options, output_path, calibration):
    """The variant's model file and session options."""
    options = dict(options or {})
    optimization = options.pop("optimization", "all")
    if options.pop("transformer_optimizer", False):
        # pylint: disable=import-outside-toplevel
        from onnxruntime.transformers import optimizer
        optimized = optimizer.optimize_model(float_path, model_type="bert",
                                             num_heads=0, hidden_size=0)
        optimized.save_model_to_file(output_path)
        return output_path, optimization
    if not options:
        return float_path, optimization
    exclude = (edge_layer_nodes(float_path)
               if options.pop("edge_layers_float", False) else ())
    op_types = options.pop("op_types", onnx_export.DEFAULT_OP_TYPES)
    if not op_types:
        op_types = ("MatMul", "Gather", "Add", "Mul", "Softmax", "Relu",
                    "Transpose", "Reshape")
    onnx_export.quantize(float_path, output_path, options.pop("method"),
                         calibration, options.pop("per_channel", False),
                         exclude, op_types,
                         rewrite=options.pop("rewrite", False))
    return output_path, optimization


def score(model_path, optimization, dev, reference):
    """Accuracy and agreement of a classifier variant on dev."""
    sess = onnx_export.session(model_path, optimization=optimization)
    probabilities = []
    for start in range(0, len(dev), 64):
        batch = dev[start:start + 64]
        feed = {name: np.stack([f[name] for f in batch]).astype(np.int32)
                for name in ("input_ids", "input_mask", "segment_ids")}
        probabilities.append(sess.run(["probabilities"], feed)[0])
    probabilities = np.concatenate(probabilities)
    labels = np.array([f["label_ids"] for f in dev])
    predicted = np.argmax(probabilities, -1)
    result = {"accuracy": float(np.mean(predicted == labels)),
              "size_bytes": os.path.getsize(model_path)}
    if reference is not None:
        result["agreement"] = float(np.mean(
            predicted == np.argmax(reference, -1)))
        result["max_probability_difference"] = float(
            np.max(np.abs(probabilities - reference)))
    return result, probabilities


def accuracy_rows(args, work):
    """Each variant scored on the classifier's dev set."""
    dev = classifier_data.read_features(
        os.path.join(args.classifier_dir, "dev.tf_record"), args.seq_length)
    train = classifier_data.read_features(
        os.path.join(args.classifier_dir, "train.tf_record"),
        args.seq_length)
    calibration = finetune_util.representative_sample(
        train, args.calibration_examples, 12345)
    frozen = sorted(glob.glob(os.path.join(args.export_dir, "frozen", "*")))
    float_path = onnx_export.convert(frozen[-1],
                                     os.path.join(work, "model.onnx"))
    rows, reference = [], None
    for index, (name, options) in enumerate(VARIANTS):
        path, optimization = build_variant(
            float_path, options, os.path.join(work, "v%d.onnx" % index),
            calibration)
        result, probabilities = score(path, optimization, dev, reference)
        if reference is None:
            reference = probabilities
        result["variant"] = name
        rows.append(result)
        print(json.dumps(result), flush=True)
    return rows


def latency_rows(args, work):
    """Each variant timed on a random-weight encoder, 1 and 2 threads."""
    float_path, calibration = benchmark_onnx.encoder_onnx(
        args.latency_config, work)
    runners = {}
    for index, (name, options) in enumerate(VARIANTS):
        path, optimization = build_variant(
            float_path, options, os.path.join(work, "l%d.onnx" % index),
            calibration)
        for threads in (1, 2):
            runners[(name, threads)] = benchmark_onnx.onnx_runner(
                path, threads, benchmark_onnx.batch_of_one(calibration[0]),
                optimization)
    timed = benchmark_onnx.benchmark_serving.time_in_blocks(
        runners, args.iterations)
    rows = [{"variant": name, "threads": threads,
             "config": args.latency_config, **stats}
            for (name, threads), stats in timed.items()]
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classifier_dir")
    parser.add_argument("--export_dir")
    parser.add_argument("--parts", default="accuracy,latency",
                        help="comma list of accuracy (needs "
                        "--classifier_dir and --export_dir), latency")
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--calibration_examples", type=int, default=300)
    parser.add_argument("--latency_config", default="student_base_f2")
    parser.add_argument("--iterations", type=int, default=25)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="onnx_int8_choices_")
    try:
        results = {}
        if "accuracy" in args.parts.split(","):
            if not (args.classifier_dir and args.export_dir):
                parser.error("the accuracy part needs --classifier_dir and "
                             "--export_dir")
            results["accuracy"] = accuracy_rows(args, work)
        if "latency" in args.parts.split(","):
            results["latency"] = latency_rows(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
