# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The benchmark's onnx section: ONNX Runtime beside the TF frozen graph.

For each config (random weights, as the inference section): the frozen
serving SavedModel in TF at its best batch-1 setting (as many row groups as
cores, one intra-op thread per op, grappler's remapper off), the same with
oneDNN's bfloat16 rewrite where the CPU has it, and the frozen graph
converted to ONNX (finetune.onnx_export) run by ONNX Runtime in float32 and
int8 (DEFAULT_INT8_METHOD, the export's rewritten graph) on 1 and 2
threads; all timed in one process at batch 1 x 128 (the float32 runtimes
and ONNX Runtime int8 also with half of the tokens padding), in turns of ten
calls after an untimed one (benchmark_serving.time_in_blocks: called back
to back, one runtime's spinning threads slowed the next one down), minimum
and median of the calls. Needs the modern stack (tf2onnx, ONNX Runtime);
scripts/benchmark.py --sections onnx runs it there.
"""

import gc
import os
import shutil
import sys
import tempfile

if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from finetune import bf16_serving
from finetune import onnx_export
from scripts import benchmark
from scripts import benchmark_report
from scripts import benchmark_serving

CALIBRATION_EXAMPLES = 16
ORT_THREADS = (1, 2)
SEQ_LENGTH = benchmark_report.SEQ_LENGTH
PADDED_TOKENS = SEQ_LENGTH // 2


def encoder_onnx(name, work, row_groups=1):
    """A config's random-weight encoder as float ONNX (from its frozen copy).

    Returns:
      (model.onnx path, [feature dicts of one example each, [128] arrays]).
    """
    config = benchmark_serving.load_config(name)
    graphs, _ = benchmark_serving.export_serving_graphs(
        config, os.path.join(work, "%s_g%d" % (name, row_groups)),
        row_groups=row_groups)
    path = onnx_export.convert(graphs["frozen"],
                               os.path.join(work, "%s.onnx" % name))
    inputs = benchmark_serving.serving_inputs(CALIBRATION_EXAMPLES,
                                              config.vocab_size)
    examples = [{key: value[i] for key, value in inputs.items()}
                for i in range(CALIBRATION_EXAMPLES)]
    return path, examples


def batch_of_one(example):
    """{input: [128]} to the feed of a batch of one, {input: [1, 128]}."""
    return {key: value[None] for key, value in example.items()}


def padded_feed(feed, real_tokens):
    """`feed` ({input: [1, 128]}) with only its first `real_tokens` tokens
    real, the rest padding (id 0, mask 0), as a short text is served."""
    padded = {key: value.copy() for key, value in feed.items()}
    for key in ("input_ids", "input_mask", "segment_ids"):
        padded[key][:, real_tokens:] = 0
    return padded


def onnx_runner(path, threads, feed, optimization="all"):
    """A function of no arguments running an ONNX Runtime session once on
    `feed` ({input: [1, 128]})."""
    sess = onnx_export.session(path, threads, optimization)
    names = [value.name for value in sess.get_outputs()]
    return lambda: sess.run(names, feed)


def tf_runner(frozen_dir, threads, row_groups, feed, bf16=False):
    """A function running the frozen SavedModel in TF once (remapper off)."""
    config = benchmark_serving.thread_config(threads, row_groups)
    config.graph_options.rewrite_options.remapping = (
        rewriter_config_pb2.RewriterConfig.OFF)
    if bf16:
        config = bf16_serving.session_config(config)
    graph = tf.Graph()
    sess = tf.Session(graph=graph, config=config)
    meta = tf.saved_model.loader.load(
        sess, [tf.saved_model.tag_constants.SERVING], frozen_dir)
    signature = meta.signature_def["serving_default"]
    fetch = signature.outputs["sequence_output"].name
    tensors = {signature.inputs[key].name: value
               for key, value in feed.items()}
    return lambda: sess.run(fetch, tensors)


def tf_settings():
    """(label, threads, row groups, bf16) of the TF rows."""
    cores = os.cpu_count()
    settings = [("TF frozen fp32, %d row groups" % cores, cores, cores,
                 False)]
    try:
        bf16_serving.check_support()
        settings.append(("TF frozen bf16, %d row groups" % cores, cores,
                         cores, True))
    except ValueError as error:
        tf.logging.warning("no bf16 row: %s", error)
    return settings


def config_runners(name, work):
    """{(config, runtime label, threads, real tokens): runner} and model
    sizes of one config.

    Every runtime is timed on a full sequence; the float32 ones and ONNX
    Runtime int8 also on one half padding (PADDED_TOKENS real tokens).
    """
    runners, sizes = {}, {}
    float_path, examples = encoder_onnx(name, work)
    int8_path = onnx_export.quantize(
        float_path, float_path.replace(".onnx", "_int8.onnx"),
        onnx_export.DEFAULT_INT8_METHOD, examples)
    full = batch_of_one(examples[0])
    feeds = {SEQ_LENGTH: full,
             PADDED_TOKENS: padded_feed(full, PADDED_TOKENS)}
    for label, path in (("ORT fp32", float_path), ("ORT int8", int8_path)):
        sizes[(name, label)] = os.path.getsize(path)
        for threads in ORT_THREADS:
            for tokens, feed in feeds.items():
                runners[(name, label, threads, tokens)] = onnx_runner(
                    path, threads, feed)
    frozen = {}
    for label, threads, groups, bf16 in tf_settings():
        if groups not in frozen:
            frozen[groups] = benchmark_serving.export_serving_graphs(
                benchmark_serving.load_config(name),
                os.path.join(work, "%s_tf_g%d" % (name, groups)),
                row_groups=groups)[0]["frozen"]
        for tokens, feed in feeds.items():
            if tokens == SEQ_LENGTH or not bf16:
                runners[(name, label, threads, tokens)] = tf_runner(
                    frozen[groups], threads, groups, feed, bf16)
    return runners, sizes


def onnx_rows(names, iterations):
    """Batch-1 latency rows of every config and runtime, one run.

    The runtimes of one config are timed side by side (in turns); the
    configs one after the other, each one's models freed before the next
    is built (the teacher's conversion alone takes several GB).
    """
    cores = os.cpu_count()
    benchmark_serving.pin_thread_pools(cores, cores)
    rows = []
    for name in names:
        work = tempfile.mkdtemp(prefix="benchmark_onnx_")
        try:
            runners, sizes = config_runners(name, work)
            timed = benchmark_serving.time_in_blocks(runners, iterations)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        del runners
        gc.collect()
        for (config, label, threads, tokens), stats in sorted(
                timed.items()):
            row = {"config": config, "runtime": label, "threads": threads,
                   "batch": 1, "real_tokens": tokens,
                   "iterations": iterations,
                   "int8_method": onnx_export.DEFAULT_INT8_METHOD}
            if (config, label) in sizes:
                row["size_mb"] = sizes[(config, label)] / 1e6
            row.update(stats)
            rows.append(row)
        sys.stderr.write("onnx section: %s timed\n" % name)
    return rows


def main():
    """Runs the section alone (modern stack): prints the table."""
    import argparse  # pylint: disable=import-outside-toplevel
    import json  # pylint: disable=import-outside-toplevel
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default=",".join(
        benchmark_report.RATIO_CONFIGS))
    parser.add_argument("--iterations", type=int, default=25)
    parser.add_argument("--json")
    args = parser.parse_args()
    tf.logging.set_verbosity(tf.logging.ERROR)
    rows = onnx_rows(args.configs.split(","), args.iterations)
    print("# %s" % benchmark.machine_description())
    print("\n".join(benchmark_report.onnx_table(rows)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    np.random.seed(0)
    main()
