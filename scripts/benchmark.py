# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Speed and memory benchmark on the current machine (not a test).

Sections (--sections, comma list):
  inference    each config (--configs; the teacher and base students by
               default) exported as a SavedModel and as its frozen copy
               (export_util.write_frozen_saved_model), each loaded into a
               session with XLA JIT off and on, the frozen one also with
               grappler's remapper off (SESSION_SETTINGS); weights are
               random, biases and norm parameters included
               (initialize_like_trained): latency at batch 1 x 128
               with one thread and with every core, throughput at batch
               32 x 128 with every core, on every stack whose environment
               exists (.venv: TF 1.15, .venv-tf2: TF 2.15; each stack and
               thread count in its own process); then the frozen graphs
               with as many row groups as cores (--row_groups), one
               intra-op thread per op and one inter-op thread per group;
  tflite       the same encoders as float TFLite, batch 1, one thread, on
               every stack;
  pytorch      student_base_f2 as our SavedModels against Hugging Face's
               MobileBertModel on the same converted weights, in .venv-tf2,
               with the same number of threads (one, and every core; with
               every core also our frozen graph with row groups, as the
               inference section serves it);
  distill      one full-size distillation training step (seconds, memory);
  preprocess   preprocessing throughput for CMRC 2018 dev, ChnSentiCorp,
               and pretraining-data creation (whole-word masking) in
               characters/sec and per CPU second, with 1 and 2 workers;
               then, on every stack, today's pretraining-data code and
               that of --preprocess_baseline (the code before the speed
               work) in turn on the same files: characters per CPU second
               of each, and their ratio;
  train_speed  training steps/sec of tiny configs on each stack;
  gpu          full-size training per precision (scripts/gpu_check.sh);
  onnx         teacher and base students in ONNX Runtime float32 and int8
               (1 and 2 threads) beside the TF frozen graph at its best
               setting and its bfloat16 rewrite, in one .venv-tf2 process
               (scripts/benchmark_onnx.py).
Then every speed ratio side by side with the level aimed at: the
inference ones at each thread count and with each model at its fastest
setting, and the pretraining-data one.
Timings of one process are taken round-robin over its sessions, and ratios
use the minimum of the runs: on a shared machine the least disturbed.
--json writes all results; --markdown writes the results page (every
table, see scripts/benchmark_report.py) and --plot the PNG beside it (per
model, the best batch-1 latency of each runtime; --plot_from redraws it
from a --json file).

Usage:
  .venv-tf2/bin/python scripts/benchmark.py [--iterations 20] \
      [--sections inference,tflite,pytorch] [--json docs/benchmark.json] \
      [--markdown docs/benchmark.md --plot docs/benchmark.png]
"""

import argparse
import functools
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from pretrain import estimator_util
from pretrain import modeling
from pretrain import serving_graph
from scripts import benchmark_report
from scripts.benchmark_report import RATIO_CONFIGS

PUBLISHED = ("student_base_f2", "student_base_f4", "student_large_f2",
             "student_large_f4", "roberta_wwm_ext", "roberta_wwm_large_ext")
SEQ_LENGTH = 128
# The pretraining-data code before the speed work: the preprocess section's
# ratio is today's characters per CPU second over this revision's.
PREPROCESS_BASELINE = "d74c10e"


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
    from finetune import export_util
    saved = os.path.join(directory, "saved_model")
    params = export_encoder(config, saved, checkpoint, row_groups)
    frozen = export_util.write_frozen_saved_model(
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
    return {key: {"median_ms": 1000.0 * float(np.median(t)),
                  "min_ms": 1000.0 * float(np.min(t))}
            for key, t in times.items()}


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

    The graph is the one serving_rows exports, converted by export_util
    (as run_classifier converts); the interpreter runs one thread.
    """
    from finetune import export_util
    work = tempfile.mkdtemp(prefix="benchmark_tflite_")
    try:
        runners, sizes = {}, {}
        for name in names:
            config = load_config(name)
            saved = os.path.join(work, name)
            export_encoder(config, saved)
            path = export_util.convert_to_tflite(
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


def pretraining_features(batch_size, vocab_size, max_predictions=20):
    """A constant batch of pretraining features (random ids)."""
    rng = np.random.RandomState(0)
    shape = (batch_size, max_predictions)
    return {
        "input_ids": tf.constant(rng.randint(
            0, vocab_size, (batch_size, SEQ_LENGTH)).astype(np.int32)),
        "input_mask": tf.ones([batch_size, SEQ_LENGTH], tf.int32),
        "segment_ids": tf.zeros([batch_size, SEQ_LENGTH], tf.int32),
        "masked_lm_positions": tf.constant(
            rng.randint(1, SEQ_LENGTH, shape).astype(np.int32)),
        "masked_lm_ids": tf.constant(
            rng.randint(0, vocab_size, shape).astype(np.int32)),
        "masked_lm_weights": tf.ones(shape),
    }


def distillation_train_op(student_name, teacher_name, batch_size, options):
    """run_pretraining's soft-target distillation step (ratio 0.5, AdamW).

    Returns:
      (train_op, total loss tensor).
    """
    from pretrain import pretraining_stages
    from pretrain import run_pretraining
    student_config = load_config(student_name)
    teacher_config = load_config(teacher_name)
    stage = pretraining_stages.Stage(name=pretraining_stages.MAIN,
                                     model_dir=None,
                                     input_files=None,
                                     max_seq_length=SEQ_LENGTH,
                                     batch_size=batch_size,
                                     max_steps=1000,
                                     schedule_steps=1000,
                                     layer_wise=False,
                                     with_teacher=True,
                                     init=None)
    optimizer = run_pretraining.OptimizerSettings(optimizer="adamw",
                                                  learning_rate=1e-4,
                                                  weight_decay_rate=0.01,
                                                  num_warmup_steps=10)
    features = pretraining_features(batch_size, student_config.vocab_size)
    models = run_pretraining.build_models(stage,
                                          features,
                                          True,
                                          student_config,
                                          teacher_config,
                                          temperature=1.0,
                                          use_one_hot_embeddings=False)
    terms = run_pretraining.soft_target_distillation_loss(
        models.student_logits, models.teacher_logits, features,
        ground_truth_ratio=0.5)
    train_op, _ = run_pretraining.soft_target_distillation_train_op(
        terms["total_loss"], stage.schedule_steps, optimizer, options)
    return train_op, terms["total_loss"]


def fine_tuning_train_op(name, batch_size, options):
    """A classification fine-tuning step (AdamW, 2 labels) of one config.

    Returns:
      (train_op, loss tensor).
    """
    from pretrain import optimization
    config = load_config(name)
    features = pretraining_features(batch_size, config.vocab_size)
    model = modeling.BertModel(config,
                               True,
                               features["input_ids"],
                               features["input_mask"],
                               features["segment_ids"])
    logits = modeling.classifier_logits(model.get_pooled_output(), 2,
                                        dropout_prob=0.1)
    labels = tf.zeros([batch_size], tf.int32)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                       logits=logits))
    train_op, _ = optimization.create_optimizer(
        loss, 6e-5, 1000, 100, use_tpu=False,
        dynamic_loss_scale=options.precision == "fp16")
    return train_op, loss


def train_step_stats(build, iterations, options):
    """Seconds per step of the train op `build()` makes, and its loss.

    Args:
      build: function returning (train_op, loss) in the current graph.
      iterations: timed steps (median reported, after one warm-up step).
      options: RunOptions (precision, XLA) for the session.

    Returns:
      {"seconds_per_step", "steps_per_sec", "loss"}.
    """
    with tf.Graph().as_default():
        train_op, loss = build()
        config = estimator_util.session_config(options)
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            seconds = time_runs(sess, train_op, None, iterations)
            loss_value = float(sess.run(loss))
    return {
        "seconds_per_step": seconds,
        "steps_per_sec": 1.0 / seconds,
        "loss": loss_value,
    }


def distill_step_stats(iterations, batch_size=8):
    """One distillation step at full size: base-f2 + roberta_wwm_ext."""
    options = estimator_util.single_device_options()
    stats = train_step_stats(
        lambda: distillation_train_op("student_base_f2", "roberta_wwm_ext",
                                      batch_size, options),
        iterations, options)
    stats.update(examples_per_sec=batch_size * stats["steps_per_sec"],
                 peak_rss_gb=peak_rss_kb() / 1024.0 / 1024.0,
                 batch_size=batch_size)
    return stats


# The training-speed section: the tiny configs the tests train, at the
# fine-tuning batch of the published scripts' CPU runs.
SPEED_BATCH = 32


def train_speed_stats(iterations):
    """Steps/sec of a fine-tuning and a distillation step (tiny configs)."""
    options = estimator_util.single_device_options()
    return {
        "stack": "TensorFlow %s, Python %s" %
                 (tf.__version__, platform.python_version()),
        "fine_tuning": train_step_stats(
            lambda: fine_tuning_train_op("tiny_student_f2", SPEED_BATCH,
                                         options), iterations, options),
        "distillation": train_step_stats(
            lambda: distillation_train_op("tiny_student_f2", "tiny_teacher",
                                          SPEED_BATCH, options),
            iterations, options),
    }


# The GPU section (scripts/gpu_check.sh): full-size steps per precision.
GPU_DISTILL_BATCH = 32
GPU_FINETUNE_BATCH = 64
GPU_SETTINGS = (("fp32", False), ("fp16", False), ("fp16", True),
                ("bf16", False))


def gpu_rows(iterations):
    """Distillation and fine-tuning throughput at full size per setting.

    A setting this TensorFlow refuses (bf16 on a GPU) is reported with the
    reason instead of numbers.
    """
    rows = []
    for precision, use_xla in GPU_SETTINGS:
        options = estimator_util.single_device_options(precision=precision,
                                                       use_xla=use_xla)
        row = {"precision": precision, "use_xla": use_xla}
        try:
            row["distillation"] = train_step_stats(
                functools.partial(distillation_train_op, "student_base_f2",
                                  "roberta_wwm_ext", GPU_DISTILL_BATCH,
                                  options), iterations, options)
            row["fine_tuning"] = train_step_stats(
                functools.partial(fine_tuning_train_op, "student_base_f2",
                                  GPU_FINETUNE_BATCH, options),
                iterations, options)
        except ValueError as e:
            row["refused"] = str(e)
        rows.append(row)
        sys.stderr.write("done %s xla=%s\n" % (precision, use_xla))
    return rows


def print_gpu_table(rows):
    """Prints the GPU table: examples/sec and whether the loss is finite."""
    print("\n## Full-size training on %s (student_base_f2; distillation "
          "from roberta_wwm_ext at batch %d, fine-tuning at batch %d; "
          "length %d)\n" % (gpu_name(), GPU_DISTILL_BATCH,
                            GPU_FINETUNE_BATCH, SEQ_LENGTH))
    print("| precision | XLA | distillation examples/sec | loss finite | "
          "fine-tuning examples/sec | loss finite |")
    print("|---|---|---:|---|---:|---|")
    for row in rows:
        if "refused" in row:
            print("| %s | %s | refused: %s | | | |" %
                  (row["precision"], row["use_xla"], row["refused"]))
            continue
        distill, tune = row["distillation"], row["fine_tuning"]
        print("| %s | %s | %.1f | %s | %.1f | %s |" %
              (row["precision"], row["use_xla"],
               GPU_DISTILL_BATCH * distill["steps_per_sec"],
               np.isfinite(distill["loss"]),
               GPU_FINETUNE_BATCH * tune["steps_per_sec"],
               np.isfinite(tune["loss"])))


def gpu_name():
    """The first GPU's name, or 'no GPU'."""
    try:
        out = subprocess.check_output(["nvidia-smi", "-L"])
        return out.decode("utf-8").splitlines()[0].split("(")[0].strip()
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "no GPU"


def stack_pythons():
    """{stack: interpreter} of the environments that exist here."""
    found = {}
    for stack, venv in (("tf1", ".venv"), ("tf2", ".venv-tf2")):
        python = os.path.join(REPO, venv, "bin", "python")
        if os.path.exists(python):
            found[stack] = python
    return found


def peak_rss_kb():
    """This process's peak resident memory in kB.

    VmHWM belongs to the current address space, so unlike ru_maxrss it does
    not carry over the parent's peak through fork + exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except IOError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def preprocessing_rows(shared_data):
    """Examples/sec of text → features on the two real data sets.

    Times the project's own converters: run_squad's reader and windowing
    (max length 512, stride 128, as published) on CMRC 2018 dev, and
    run_classifier's conversion (max length 256) on ChnSentiCorp train.
    """
    from finetune import classifier_data
    from finetune import squad_data
    from pretrain import tokenization
    tokenizer = tokenization.FullTokenizer(
        os.path.join(shared_data, "vocab", "chinese_vocab.txt"), True)
    rows = []

    start = time.time()
    examples, _ = squad_data.read_squad_examples(
        os.path.join(shared_data, "cmrc2018", "cmrc2018_dev.json"), tokenizer,
        is_training=False)
    features = []
    squad_data.convert_examples_to_features(examples, tokenizer, 512, 128, 64,
                                            False, features.append)
    rows.append({"name": "CMRC 2018 dev (len 512, stride 128)",
                 "examples": len(examples), "features": len(features),
                 "seconds": time.time() - start})

    start = time.time()
    processor = classifier_data.get_processor("chnsenticorp")
    examples = processor.get_examples(
        os.path.join(shared_data, "chnsenticorp"), "train")
    label_map = {label: i for i, label in enumerate(processor.get_labels())}
    converted = [classifier_data.convert_single_example(e, label_map, 256,
                                                        tokenizer)
                 for e in examples]
    rows.append({"name": "ChnSentiCorp train (len 256)",
                 "examples": len(examples), "features": len(converted),
                 "seconds": time.time() - start})
    return rows


def write_pretraining_corpus(shared_data, workdir, num_files=4,
                             max_characters=300000):
    """Writes the pretraining-data benchmark's text files into `workdir`.

    The corpus is the start of the demo's real pretraining text (CMRC 2018
    contexts and ChnSentiCorp reviews, scripts/demo_prepare_real.py), cut
    into `num_files` files of about `max_characters / num_files`
    characters.

    Returns:
        (paths of the files, number of characters in them).
    """
    from scripts import demo_prepare_real
    documents = [demo_prepare_real.split_sentences(text) for text in
                 demo_prepare_real.cmrc_contexts(os.path.join(
                     shared_data, "cmrc2018", "cmrc2018_dev.json"))]
    documents += [demo_prepare_real.split_sentences(text) for text in
                  demo_prepare_real.review_texts(os.path.join(
                      shared_data, "chnsenticorp", "train.tsv"))]
    files = [[] for _ in range(num_files)]
    size = 0
    for document in (d for d in documents if d):
        files[min(size * num_files // max_characters, num_files - 1)].append(
            document)
        size += sum(len(sentence) + 1 for sentence in document) + 1
        if size >= max_characters:
            break
    inputs = []
    for index, file_documents in enumerate(files):
        path = os.path.join(workdir, "part-%d.txt" % index)
        demo_prepare_real.write_corpus(file_documents, path)
        inputs.append(path)
    num_characters = sum(len(io.open(path, encoding="utf-8").read())
                         for path in inputs)
    return inputs, num_characters


def pretraining_data_rows(shared_data, inputs, num_characters, workdir):
    """Characters/sec of create_pretraining_data with whole-word masking.

    The tool runs on the files `inputs` (write_pretraining_corpus) with its
    defaults (max length 128, dupe factor 10), with 1 and with 2 worker
    processes. CPU seconds include the workers', so characters per CPU
    second is the rate per core.
    """
    from pretrain import create_pretraining_data
    from pretrain import pretraining_text
    from pretrain import tokenization
    tokenizer = tokenization.FullTokenizer(
        os.path.join(shared_data, "vocab", "chinese_vocab.txt"), True)
    pretraining_text.word_segmenter()  # Loaded once, not timed.
    rows = []
    for num_workers in (1, 2):
        cpu_start = _cpu_seconds()
        start = time.time()
        create_pretraining_data.build_records(
            inputs, [os.path.join(workdir, "out-%d.tfrecord" % num_workers)],
            tokenizer, do_whole_word_mask=True, num_workers=num_workers)
        rows.append({"workers": num_workers, "characters": num_characters,
                     "files": len(inputs), "seconds": time.time() - start,
                     "cpu_seconds": _cpu_seconds() - cpu_start})
    return rows


def export_revision(revision, directory):
    """Writes `revision`'s pretrain/ package into `directory` (git archive).

    Returns:
        `directory`, or None (with a message) where this checkout cannot
        give that revision (no git, or history without it).
    """
    try:
        archive = subprocess.check_output(
            ["git", "-C", REPO, "archive", "--format=tar", revision,
             "pretrain"], stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as error:
        reason = error.stderr.decode("utf-8", "replace").strip()
    except OSError as error:
        reason = str(error)
    else:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(directory)
        return directory
    sys.stderr.write(
        "Skipping the pretraining-data comparison: this checkout cannot give "
        "revision %s of pretrain/ (git archive: %s); it needs the "
        "repository's git history (--preprocess_baseline).\n" %
        (revision, reason))
    return None


def pretraining_data_comparison(args, inputs, num_characters, workdir):
    """Today's pretraining-data code against --preprocess_baseline's.

    On every installed stack, both code trees pack the same files
    (scripts/time_pretraining_data.py, one worker, whole-word masking) in
    turn, --preprocess_rounds times, so that the machine's drift falls on
    both alike; the CPU seconds of each are added up.

    Returns:
        One row per stack, or [] where the baseline is unavailable.
    """
    baseline = export_revision(args.preprocess_baseline,
                               os.path.join(workdir, "baseline"))
    if not baseline:
        return []
    pythons = stack_pythons()
    totals = {(stack, tree): {"cpu_seconds": 0.0, "records": 0}
              for stack in pythons for tree in ("baseline", "now")}
    for _ in range(args.preprocess_rounds):
        for stack, python in sorted(pythons.items()):
            for tree, root in (("baseline", baseline), ("now", REPO)):
                out = subprocess.check_output([
                    python,
                    os.path.join(REPO, "scripts", "time_pretraining_data.py"),
                    "--code_root", root, "--vocab_file",
                    os.path.join(args.shared_data, "vocab",
                                 "chinese_vocab.txt"),
                    "--input_file", ",".join(inputs), "--output_file",
                    os.path.join(workdir, "%s-%s.tfrecord" % (stack, tree))
                ], cwd=root)
                run = json.loads(out.decode("utf-8").strip().splitlines()[-1])
                totals[stack, tree]["cpu_seconds"] += run["cpu_seconds"]
                totals[stack, tree]["records"] = run["records"]
    return [{"stack": stack, "baseline": args.preprocess_baseline,
             "rounds": args.preprocess_rounds,
             "characters": num_characters,
             "baseline_cpu_seconds": totals[stack, "baseline"]["cpu_seconds"],
             "baseline_records": totals[stack, "baseline"]["records"],
             "cpu_seconds": totals[stack, "now"]["cpu_seconds"],
             "records": totals[stack, "now"]["records"]}
            for stack in sorted(pythons)]


def preprocess_results(args):
    """Results of the preprocess section (see the module docstring)."""
    results = {"preprocess": preprocessing_rows(args.shared_data)}
    workdir = tempfile.mkdtemp(prefix="benchmark_pretraining_data_")
    try:
        inputs, num_characters = write_pretraining_corpus(args.shared_data,
                                                          workdir)
        results["pretraining_data"] = pretraining_data_rows(
            args.shared_data, inputs, num_characters, workdir)
        if args.preprocess_baseline:
            results["pretraining_data_comparison"] = (
                pretraining_data_comparison(args, inputs, num_characters,
                                            workdir))
    finally:
        shutil.rmtree(workdir)
    return results


def _cpu_seconds():
    """User + system CPU seconds of this process and its ended children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def machine_description():
    """One line describing the CPU, cores and memory."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except IOError:
        pass
    mem_gb = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") /
              1024.0**3)
    return "%s, %d cores, %.0f GB RAM, TensorFlow %s, Python %s" % (
        cpu, os.cpu_count(), mem_gb, tf.__version__, platform.python_version())


def parse_args(argv):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20,
                        help="timed batch-1 runs per measurement (a quarter "
                        "of them at the throughput batch)")
    parser.add_argument("--throughput_batch", type=int, default=32,
                        help="batch of the throughput rows (timed with "
                        "every core)")
    parser.add_argument("--threads", default="1,%d" % os.cpu_count(),
                        help="comma list of thread counts for the "
                        "inference and pytorch sections (a worker's: one)")
    parser.add_argument("--row_groups",
                        default=str(os.cpu_count()) if os.cpu_count() > 1
                        else "",
                        help="comma list of row-group counts G for the "
                        "inference and pytorch sections: each a worker "
                        "serving frozen graphs with G row groups on one "
                        "intra-op and G inter-op threads ('' for none; a "
                        "worker's: one)")
    parser.add_argument("--configs", default=",".join(RATIO_CONFIGS),
                        help="comma list of configs for inference and "
                        "tflite (published: %s)" % ",".join(PUBLISHED))
    parser.add_argument("--sections",
                        default="inference,tflite,pytorch,distill,preprocess,"
                        "train_speed",
                        help="comma list of inference, tflite, pytorch, "
                        "distill, preprocess, train_speed, gpu (full-size "
                        "training per precision, for scripts/gpu_check.sh), "
                        "onnx (ONNX Runtime fp32/int8 and TF bf16 beside "
                        "TF fp32)")
    parser.add_argument("--shared_data",
                        default=os.environ.get("DATA_DIR") or os.path.join(
                            REPO, os.pardir, "shared", "data"),
                        help="folder with cmrc2018/, chnsenticorp/, vocab/ "
                             "[$DATA_DIR]")
    parser.add_argument("--preprocess_baseline", default=PREPROCESS_BASELINE,
                        help="git revision whose create_pretraining_data "
                        "the preprocess section times beside today's "
                        "(default: the code before the speed work; '' to "
                        "skip)")
    parser.add_argument("--preprocess_rounds", type=int, default=3,
                        help="runs of each code tree per stack in that "
                        "comparison, taken in turn")
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--markdown",
                        help="write the results page (tables, and the plot "
                             "of --plot) here, e.g. docs/benchmark.md")
    parser.add_argument("--plot", help="write the latency plot (PNG) here")
    parser.add_argument("--plot_from",
                        help="only redraw --plot from this --json file")
    parser.add_argument("--worker", choices=WORKERS,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.preprocess_rounds < 1:
        parser.error("--preprocess_rounds must be at least 1, got %d." %
                     args.preprocess_rounds)
    return args


# Sections that run in each stack's own interpreter; --worker NAME prints
# the section's results as one JSON line.
WORKERS = ("inference", "tflite", "pytorch", "distill", "train_speed",
           "onnx")
# Workers that run once per thread count (--threads).
THREADED_WORKERS = ("inference", "pytorch")


def worker_results(args):
    """Results of the section `args.worker` in this process."""
    names = args.configs.split(",")
    threads = int(args.threads)
    row_groups = int(args.row_groups or 1)
    if args.worker in THREADED_WORKERS:
        pin_thread_pools(threads, row_groups)
    if args.worker == "inference":
        return serving_rows(names, args.iterations,
                            args.throughput_batch or None, threads,
                            row_groups)
    if args.worker == "tflite":
        return tflite_rows(names, args.iterations)
    if args.worker == "pytorch":
        return pytorch_rows("student_base_f2", args.iterations,
                            args.throughput_batch or None, args.shared_data,
                            threads, row_groups)
    if args.worker == "distill":
        return distill_step_stats(args.iterations)
    if args.worker == "onnx":  # --- onnx section (scripts/benchmark_onnx.py)
        from scripts import benchmark_onnx
        return benchmark_onnx.onnx_rows(names, args.iterations)
    return train_speed_stats(args.iterations)


def json_from_subprocess(python, args, worker, iterations, threads=None,
                         row_groups=1):
    """Runs section `worker` in `python`; the JSON line it prints last.

    With `threads` the worker's pools have that many threads, and it times
    the throughput batch only when that is every core.  An inference worker
    with `row_groups` above 1 serves graphs with that many row groups.
    """
    threads = threads or os.cpu_count()
    env = dict(os.environ)
    if worker == "inference":
        env["TF_XLA_FLAGS"] = " ".join(
            filter(None, [env.get("TF_XLA_FLAGS"), XLA_CPU_FLAG]))
    throughput = args.throughput_batch if threads == os.cpu_count() else 0
    out = subprocess.check_output([
        python,
        os.path.abspath(__file__), "--worker", worker, "--iterations",
        str(iterations), "--configs", args.configs, "--throughput_batch",
        str(throughput), "--threads", str(threads), "--row_groups",
        str(row_groups), "--shared_data", args.shared_data
    ], env=env)
    return json.loads(out.decode("utf-8").strip().splitlines()[-1])


def thread_counts(args):
    """The distinct thread counts of --threads, in order."""
    return sorted({int(t) for t in args.threads.split(",")})


def row_group_counts(args):
    """The distinct row-group counts above 1 of --row_groups, in order."""
    return sorted({int(g) for g in args.row_groups.split(",") if g} - {1})


def worker_settings(args):
    """(threads, row groups) of each run of a threaded worker.

    One run per thread count of --threads, and one more per row-group count
    of --row_groups, on as many threads.
    """
    return ([(threads, 1) for threads in thread_counts(args)] +
            [(groups, groups) for groups in row_group_counts(args)])


def per_stack(args, worker, iterations):
    """{stack: results of `worker`} for each installed stack.

    A threaded worker runs once per worker_settings entry; the rows are
    joined.
    """
    results = {}
    for stack, python in sorted(stack_pythons().items()):
        if worker in THREADED_WORKERS:
            results[stack] = []
            for threads, groups in worker_settings(args):
                results[stack].extend(json_from_subprocess(
                    python, args, worker, iterations, threads, groups))
        else:
            results[stack] = json_from_subprocess(python, args, worker,
                                                  iterations)
        sys.stderr.write("done %s on %s\n" % (worker, stack))
    return results


def print_lines(lines):
    """Prints a table's lines after a blank line."""
    if lines:
        print("\n" + "\n".join(lines))


def main(argv=None):
    args = parse_args(argv)
    tf.logging.set_verbosity(tf.logging.ERROR)
    if args.worker:
        print(json.dumps(worker_results(args)))
        return
    if args.plot_from:
        with open(args.plot_from) as f:
            benchmark_report.plot_best_latency(json.load(f),
                                               args.plot or "latency.png")
        return
    sections = args.sections.split(",")
    batch = args.throughput_batch
    results = {"machine": machine_description(), "throughput_batch": batch,
               "command": " ".join(["python scripts/benchmark.py"] +
                                   list(argv if argv is not None
                                        else sys.argv[1:]))}
    print("# Benchmark on %s" % results["machine"])
    print("Stacks: %s" % ", ".join(
        "%s (%s)" % (k, v) for k, v in sorted(stack_pythons().items())))
    if "inference" in sections:
        results["serving"] = per_stack(args, "inference", args.iterations)
        print_lines(benchmark_report.serving_table(results["serving"], batch))
    if "tflite" in sections:
        results["tflite"] = per_stack(args, "tflite", args.iterations)
        print_lines(benchmark_report.tflite_table(results["tflite"]))
    if "pytorch" in sections and "tf2" in stack_pythons():
        results["pytorch"] = []
        for threads, groups in worker_settings(args):
            results["pytorch"].extend(json_from_subprocess(
                stack_pythons()["tf2"], args, "pytorch", args.iterations,
                threads, groups))
        print_lines(benchmark_report.pytorch_table(results["pytorch"]))
    if "distill" in sections:
        results["distill"] = json_from_subprocess(
            sys.executable, args, "distill", max(2, args.iterations // 8))
        print_lines(benchmark_report.distill_table(results["distill"]))
    if "train_speed" in sections:
        results["train_speed"] = per_stack(args, "train_speed",
                                           max(5, args.iterations // 4))
        print_lines(benchmark_report.train_speed_table(
            results["train_speed"], SPEED_BATCH))
    if "preprocess" in sections:
        results.update(preprocess_results(args))
        print_lines(benchmark_report.preprocessing_table(
            results["preprocess"]))
        print_lines(benchmark_report.pretraining_data_table(
            results["pretraining_data"]))
        print_lines(benchmark_report.pretraining_data_comparison_table(
            results.get("pretraining_data_comparison", [])))
    if "gpu" in sections:
        results["gpu"] = gpu_rows(args.iterations)
        print_gpu_table(results["gpu"])
    if "onnx" in sections and "tf2" in stack_pythons():
        # ONNX Runtime runs in the modern stack only.
        results["onnx"] = json_from_subprocess(
            stack_pythons()["tf2"], args, "onnx", args.iterations)
        print_lines(benchmark_report.onnx_table(results["onnx"]))
    results["ratios"] = benchmark_report.ratio_rows(results)
    if results["ratios"]:
        print_lines(benchmark_report.ratio_table(results["ratios"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    if args.markdown:
        benchmark_report.write_report(results, args.markdown, args.plot,
                                      results["command"])
        print("\nPage written to %s" % args.markdown)
    elif args.plot:
        benchmark_report.plot_best_latency(results, args.plot)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
