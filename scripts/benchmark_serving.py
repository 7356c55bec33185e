# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The benchmark's latency sections: serving graphs, TFLite and PyTorch.

The encoders are exported as a fine-tuned model is (SavedModel and its
frozen copy, random weights shaped like a trained model's) and timed in
sessions of given thread counts and row groups, round-robin; TFLite float
models in the interpreter; Hugging Face MobileBertModel on the same
converted weights in PyTorch. Run inside benchmark.py's worker processes.
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from pretrain import estimator_util
from pretrain import modeling
from pretrain import serving_graph
from scripts.benchmark_report import SEQ_LENGTH

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stack_pythons():
    """{stack: interpreter} of the environments that exist here."""
    found = {}
    for stack, venv in (("tf1", ".venv"), ("tf2", ".venv-tf2")):
        python = os.path.join(REPO, venv, "bin", "python")
        if os.path.exists(python):
            found[stack] = python
    return found


def load_config(name):
    """Reads config/<name>.json."""
    return modeling.BertConfig.from_json_file(
        os.path.join(REPO, "config", name + ".json"))


def time_runs(sess, fetch, feed, iterations):
    """Median seconds of `iterations` runs after one warm-up run."""
    sess.run(fetch, feed)
    times = []
    for _ in range(iterations):
        start = time.time()
        sess.run(fetch, feed)
        times.append(time.time() - start)
    return float(np.median(times))


# The serving benchmark: what a user runs.  Each config is exported as the
# SavedModel a fine-tuned model is served from (random weights, the
# einsum-free export graph, int32 [None, 128] inputs input_ids, input_mask,
# segment_ids) and as its frozen copy, and each is loaded into a session
# with and without XLA JIT.  The thread count is the process's (see
# pin_thread_pools): each runs in its own worker.  All sessions of one
# worker are timed round-robin, so that load from other processes on a
# shared machine falls on every config alike.
FEATURES = ("input_ids", "input_mask", "segment_ids")


# (graph, XLA, remapper) of each timed session.  Grappler's remapper fuses a
# MatMul with its BiasAdd, activation and residual Add into one kernel; on
# TF 2.15's oneDNN build that fused kernel is slower than the plain MatMul
# and separate adds at these widths, so the frozen graph is also timed with
# the remapper off (a session option, like XLA).
SESSION_SETTINGS = (("saved_model", False, True), ("saved_model", True, True),
                    ("frozen", False, True), ("frozen", True, True),
                    ("frozen", False, False))


# XLA auto-clustering on CPU needs this flag besides the session's JIT
# level; without it a JIT session runs the plain graph.
XLA_CPU_FLAG = "--tf_xla_cpu_global_jit"


def serving_inputs(batch_size, vocab_size, seed=0):
    """{feature name: int32 [batch_size, 128]}: random ids, no padding."""
    ids = np.random.RandomState(seed).randint(
        0, vocab_size, (batch_size, SEQ_LENGTH)).astype(np.int32)
    return {"input_ids": ids, "input_mask": np.ones_like(ids),
            "segment_ids": np.zeros_like(ids)}


def export_encoder(config, export_dir, checkpoint=None, row_groups=1):
    """Writes the encoder's SavedModel (output `sequence_output`).

    Weights come from `checkpoint` when given, random otherwise; the graph
    is an export's (serving_graph.ServingModel) with `row_groups` row
    groups.

    Returns:
      The number of encoder parameters.
    """
    with tf.Graph().as_default():
        features = {
            name: tf.placeholder(tf.int32, [None, SEQ_LENGTH], name=name)
            for name in FEATURES
        }
        model = serving_graph.ServingModel(
            config, features["input_ids"], features["input_mask"],
            features["segment_ids"],
            options=serving_graph.serving_options(row_groups))
        output = tf.identity(model.get_sequence_output(),
                             name="sequence_output")
        params = modeling.count_parameters(tf.trainable_variables())
        with tf.Session() as sess:
            if checkpoint:
                tf.train.Saver().restore(sess, checkpoint)
            else:
                initialize_like_trained(sess)
            tf.saved_model.simple_save(sess, export_dir, features,
                                       {"sequence_output": output})
    return params


def export_serving_graphs(config, directory, checkpoint=None, row_groups=1):
    """The SavedModel and its frozen copy under `directory`.

    Returns:
      ({graph name: SavedModel directory}, number of encoder parameters).
    """
    from finetune import graph_rewrites
    saved = os.path.join(directory, "saved_model")
    params = export_encoder(config, saved, checkpoint, row_groups)
    frozen = graph_rewrites.write_frozen_saved_model(
        saved, os.path.join(directory, "frozen"))
    return {"saved_model": saved, "frozen": frozen}, params


def thread_config(threads, row_groups=1):
    """ConfigProto of `threads` inter-op threads.

    Each op gets as many intra-op threads, or one when the graph has row
    groups: its groups then run side by side, one op per thread.
    """
    return tf.ConfigProto(
        intra_op_parallelism_threads=1 if row_groups > 1 else threads,
        inter_op_parallelism_threads=threads)


def pin_thread_pools(threads, row_groups=1):
    """Sizes this process's thread pools: call before any other session.

    TensorFlow creates its global pools (and the CPU device's) with the
    first session's options and keeps them for the process.
    """
    tf.Session(config=thread_config(threads, row_groups)).close()


class ServingSession(object):
    """A SavedModel loaded into its own session, ready to be timed."""

    def __init__(self, export_dir, use_xla, threads, row_groups=1,
                 remapper=True):
        self.graph = tf.Graph()
        config = estimator_util.session_config(
            estimator_util.single_device_options(use_xla=use_xla))
        config.MergeFrom(thread_config(threads, row_groups))
        if not remapper:
            config.graph_options.rewrite_options.remapping = (
                rewriter_config_pb2.RewriterConfig.OFF)
        self.session = tf.Session(graph=self.graph, config=config)
        meta = tf.saved_model.loader.load(
            self.session, [tf.saved_model.tag_constants.SERVING], export_dir)
        signature = meta.signature_def["serving_default"]
        self.inputs = {k: self.graph.get_tensor_by_name(v.name)
                       for k, v in signature.inputs.items()}
        self.output = self.graph.get_tensor_by_name(
            signature.outputs["sequence_output"].name)

    def run(self, inputs):
        """Sequence output [B, 128, H] of `inputs` ({feature: array})."""
        return self.session.run(
            self.output, {self.inputs[k]: v for k, v in inputs.items()})


def time_round_robin(runners, iterations):
    """Times each callable `iterations` times, interleaved.

    Args:
      runners: {key: function of no arguments}; each is called once first
        as a warm-up (XLA compiles there).

    Returns:
      {key: {"median_ms", "min_ms"}} of the wall-clock times.
    """
    for run in runners.values():
        run()
    times = {key: [] for key in runners}
    for _ in range(iterations):
        for key, run in runners.items():
            start = time.time()
            run()
            times[key].append(time.time() - start)
    return latency_stats(times)


def latency_stats(times):
    """{key: [seconds]} to {key: {"median_ms", "min_ms"}}."""
    return {key: {"median_ms": 1000.0 * float(np.median(t)),
                  "min_ms": 1000.0 * float(np.min(t))}
            for key, t in times.items()}


def time_in_blocks(runners, iterations, block=10):
    """Times each callable `iterations` times, in turns of `block` calls.

    Like time_round_robin, but each turn first makes one untimed call, so
    that the thread pools of the runner before (ONNX Runtime's workers spin
    after a call) are idle by the time a runner's calls are timed.

    Returns:
      {key: {"median_ms", "min_ms"}} of the wall-clock times.
    """
    times = {key: [] for key in runners}
    while any(len(t) < iterations for t in times.values()):
        for key, run in runners.items():
            run()
            for _ in range(min(block, iterations - len(times[key]))):
                start = time.time()
                run()
                times[key].append(time.time() - start)
    return latency_stats(times)


def timed_batches(iterations, throughput_batch):
    """(batch, runs) pairs: batch 1, then the throughput batch if any.

    The throughput batch gets a quarter of the runs (at least 2).
    """
    batches = [(1, iterations)]
    if throughput_batch:
        batches.append((throughput_batch, max(2, iterations // 4)))
    return batches


def session_settings(row_groups):
    """The SESSION_SETTINGS timed for graphs of `row_groups` row groups:
    with several, only the frozen graph's (the faster one to serve)."""
    return [setting for setting in SESSION_SETTINGS
            if row_groups == 1 or setting[0] == "frozen"]


def serving_rows(names, iterations, throughput_batch, threads, row_groups=1):
    """Latency (batch 1) and throughput of each config and session setting.

    Args:
      threads: this process's thread count (see pin_thread_pools).
      throughput_batch: the batch of the throughput rows; None for none.
      row_groups: the graphs' row groups; with several only the frozen
        graph is timed (the faster one to serve).
    """
    work = tempfile.mkdtemp(prefix="benchmark_serving_")
    try:
        sessions, params, vocab = {}, {}, {}
        for name in names:
            config = load_config(name)
            graphs, params[name] = export_serving_graphs(
                config, os.path.join(work, name), row_groups=row_groups)
            vocab[name] = config.vocab_size
            for graph, use_xla, remapper in session_settings(row_groups):
                sessions[(name, graph, use_xla, remapper)] = ServingSession(
                    graphs[graph], use_xla, threads, row_groups, remapper)
        rows = []
        for batch, runs in timed_batches(iterations, throughput_batch):
            timed = time_round_robin(
                {key: functools.partial(
                    session.run, serving_inputs(batch, vocab[key[0]]))
                 for key, session in sessions.items()}, runs)
            for (name, graph, use_xla, remapper), stats in sorted(
                    timed.items()):
                row = {"config": name, "graph": graph, "use_xla": use_xla,
                       "remapper": remapper,
                       "threads": threads, "row_groups": row_groups,
                       "batch": batch,
                       "params": params[name], "iterations": runs}
                row.update(stats)
                row["examples_per_sec"] = 1000.0 * batch / stats["median_ms"]
                rows.append(row)
        for session in sessions.values():
            session.session.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def tflite_rows(names, iterations):
    """Batch-1 latency of each config exported to float TFLite.

    The graph is the one serving_rows exports, converted by tflite_util
    (as run_classifier converts); the interpreter runs one thread.
    """
    from finetune import tflite_util
    work = tempfile.mkdtemp(prefix="benchmark_tflite_")
    try:
        runners, sizes = {}, {}
        for name in names:
            config = load_config(name)
            saved = os.path.join(work, name)
            export_encoder(config, saved)
            path = tflite_util.convert_to_tflite(
                saved, os.path.join(work, name + ".tflite"))
            sizes[name] = os.path.getsize(path) / 1e6
            runners[name] = tflite_runner(path,
                                          serving_inputs(1, config.vocab_size))
        timed = time_round_robin(runners, iterations)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = []
    for name in names:
        row = {"config": name, "size_mb": sizes[name], "batch": 1}
        row.update(timed[name])
        rows.append(row)
    return rows


def tflite_runner(path, inputs):
    """A function that invokes a one-thread interpreter of `path` on inputs."""
    try:
        interpreter = tf.lite.Interpreter(model_path=path, num_threads=1)
    except TypeError:  # TF 1.15's interpreter has no num_threads: one thread.
        interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        name = detail["name"].split(":")[0]
        interpreter.set_tensor(detail["index"], inputs[name])
    return interpreter.invoke


def pytorch_rows(name, iterations, throughput_batch, shared_data, threads,
                 row_groups=1):
    """Our SavedModels against Hugging Face's model on the same weights.

    One random checkpoint of `name` is exported as our SavedModel and its
    frozen copy, and converted by scripts/convert_to_pytorch.py.  Our
    sessions run in this process, PyTorch in `verify_pytorch.py time` (a
    process without TensorFlow, whose thread pools would compete with
    PyTorch's), both with `threads` threads and on the same inputs; the two
    alternate twice and each keeps its best run.  Ours is timed without XLA,
    the frozen graph also with the remapper off (SESSION_SETTINGS).  The
    outputs are compared too.

    Args:
      throughput_batch: the batch of the throughput rows; None for none.
      row_groups: our graphs' row groups; with several only the frozen
        graph is timed, on one intra-op and `threads` inter-op threads (see
        thread_config), as the inference section serves it.
    """
    from scripts import convert_to_pytorch
    config = load_config(name)
    work = tempfile.mkdtemp(prefix="benchmark_pytorch_")
    try:
        release = os.path.join(work, "release")
        checkpoint = random_checkpoint(config, release)
        shutil.copy(os.path.join(REPO, "config", name + ".json"),
                    os.path.join(release, "bert_config.json"))
        shutil.copy(os.path.join(shared_data, "vocab", "chinese_vocab.txt"),
                    os.path.join(release, "vocab.txt"))
        converted = os.path.join(work, "pytorch")
        convert_to_pytorch.convert_release(release, converted)
        graphs, _ = export_serving_graphs(config, os.path.join(work, "tf"),
                                          checkpoint, row_groups)
        ours = {"tf_" + graph + ("" if remapper else "_remapper_off"):
                ServingSession(graphs[graph], False, threads, row_groups,
                               remapper)
                for graph, use_xla, remapper in session_settings(row_groups)
                if not use_xla}
        rows = []
        for batch, runs in timed_batches(iterations, throughput_batch):
            inputs = serving_inputs(batch, config.vocab_size)
            times = {runtime: [] for runtime in ["pytorch"] + sorted(ours)}
            for _ in range(2):
                for runtime, session in sorted(ours.items()):
                    stats = time_round_robin(
                        {0: functools.partial(session.run, inputs)}, runs)
                    times[runtime].append(stats[0])
                report, torch_output = time_pytorch(converted, inputs, runs,
                                                    work, threads)
                times["pytorch"].append({
                    "median_ms": float(np.median(report["times_ms"])),
                    "min_ms": float(np.min(report["times_ms"]))})
            difference = float(np.max(np.abs(
                torch_output - ours["tf_frozen"].run(inputs))))
            for runtime, stats in sorted(times.items()):
                row = {"config": name, "runtime": runtime, "batch": batch,
                       "threads": report["threads"],
                       "row_groups": 1 if runtime == "pytorch" else row_groups,
                       "max_abs_difference": difference,
                       "torch": report["torch"],
                       "transformers": report["transformers"],
                       "min_ms": min(s["min_ms"] for s in stats),
                       "median_ms": float(np.median(
                           [s["median_ms"] for s in stats]))}
                rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def time_pytorch(model_dir, inputs, iterations, work, threads):
    """`verify_pytorch.py time` on `inputs`: (its report, its output)."""
    inputs_path = os.path.join(work, "inputs.npz")
    np.savez(inputs_path, **{
        "input/input_ids": inputs["input_ids"],
        "input/input_mask": inputs["input_mask"],
        "input/token_type_ids": inputs["segment_ids"]})
    report_path = os.path.join(work, "times.json")
    output_path = os.path.join(work, "output.npy")
    subprocess.check_call([
        sys.executable, os.path.join(REPO, "scripts", "verify_pytorch.py"),
        "time", "--model_dir", model_dir, "--inputs", inputs_path,
        "--iterations", str(iterations), "--threads", str(threads),
        "--output", output_path, "--report_json", report_path])
    with open(report_path) as f:
        return json.load(f), np.load(output_path)


# Initialized biases and norm offsets are zeros and norm scales ones; a
# frozen graph's optimizer removes those `+ 0` and `* 1` operations, which a
# trained model's graph keeps.  Timed weights are drawn around those values.
AFFINE_LEAVES = ("bias", "beta", "gamma")


AFFINE_SPREAD = 0.05


def initialize_like_trained(sess, seed=0):
    """Random values for every variable of the session's graph.

    Kernels and tables get their initializers' random values; biases,
    offsets (`beta`) and scales (`gamma`) get small random deviations from
    their initial zeros and ones, so that no operation of the graph is an
    identity the graph optimizer could drop, as in a trained model.
    """
    sess.run(tf.global_variables_initializer())
    rng = np.random.RandomState(seed)
    for variable in tf.global_variables():
        leaf = variable.op.name.split("/")[-1]
        if leaf in AFFINE_LEAVES:
            shape = variable.shape.as_list()
            value = AFFINE_SPREAD * rng.standard_normal(shape)
            variable.load((value + (leaf == "gamma")).astype(np.float32),
                          sess)


def random_checkpoint(config, directory):
    """Saves the encoder of `config` with random weights; its prefix."""
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, [None, SEQ_LENGTH])
        modeling.BertModel(config, False, ids)
        with tf.Session() as sess:
            initialize_like_trained(sess)
            tf.io.gfile.makedirs(directory)
            return tf.train.Saver().save(
                sess, os.path.join(directory, "model.ckpt"))
