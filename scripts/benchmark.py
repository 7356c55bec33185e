# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Speed and memory benchmark on the current machine (not a test).

Prints four tables:
  1. each published config: parameters, inference latency at batch 1 x 128
     and throughput at batch 32 x 128, with `use_einsum` on and off;
  1b. each published config exported to float TFLite: batch-1 latency;
  2. one distillation training step, student_base_f2 with the full-size
     roberta_wwm_ext teacher, batch 8 x 128: seconds/step, examples/sec and
     peak resident memory (measured in a fresh subprocess);
  3. preprocessing throughput for CMRC 2018 dev and ChnSentiCorp train.

Usage:
  .venv/bin/python scripts/benchmark.py [--iterations 5] [--sections all]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
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

from pretrain import modeling

PUBLISHED = ("student_base_f2", "student_base_f4", "student_large_f2",
             "student_large_f4", "roberta_wwm_ext", "roberta_wwm_large_ext")
SEQ_LENGTH = 128


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


def inference_row(name, use_einsum, iterations, throughput_batch):
    """Times the encoder of one config at batch 1 and `throughput_batch`."""
    config = load_config(name)
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, [None, SEQ_LENGTH])
        model = modeling.BertModel(config, False, ids, use_einsum=use_einsum)
        params = modeling.count_parameters(tf.trainable_variables())
        output = model.get_sequence_output()
        rng = np.random.RandomState(0)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            single = {ids: rng.randint(0, config.vocab_size, (1, SEQ_LENGTH))}
            batch = {
                ids: rng.randint(0, config.vocab_size,
                                 (throughput_batch, SEQ_LENGTH))
            }
            latency = time_runs(sess, output, single, iterations)
            batch_time = time_runs(sess, output, batch,
                                   max(1, iterations // 2))
    return {
        "config": name,
        "use_einsum": use_einsum,
        "params": params,
        "latency_ms": latency * 1000.0,
        "throughput": throughput_batch / batch_time,
    }


def print_inference_table(rows, throughput_batch):
    """Prints table 1 and the speed-up of each student over the teacher."""
    print("\n## Inference (encoder, sequence length %d)\n" % SEQ_LENGTH)
    print("| config | params (encoder) | use_einsum | latency b=1 (ms) | "
          "throughput b=%d (ex/s) |" % throughput_batch)
    print("|---|---:|---|---:|---:|")
    for r in rows:
        print("| %s | %s | %s | %.1f | %.1f |" %
              (r["config"], "{:,}".format(r["params"]), r["use_einsum"],
               r["latency_ms"], r["throughput"]))
    best = {}
    for r in rows:
        best[r["config"]] = min(best.get(r["config"], 1e30), r["latency_ms"])
    if "roberta_wwm_ext" in best:
        print("\nLatency speed-up over roberta_wwm_ext (best of einsum "
              "on/off):")
        for name in PUBLISHED[:4]:
            if name in best:
                print("  %s: %.2fx" %
                      (name, best["roberta_wwm_ext"] / best[name]))


def tflite_latency_row(name, iterations):
    """Batch-1 x 128 latency of the encoder exported to a float TFLite model.

    The graph is exported the way run_classifier exports (reshape+matmul,
    export_util's converter); the TF 1.15 interpreter runs one thread.
    """
    from finetune import export_util
    config = load_config(name)
    work = tempfile.mkdtemp(prefix="benchmark_tflite_")
    try:
        with tf.Graph().as_default():
            ids = tf.placeholder(tf.int32, [None, SEQ_LENGTH],
                                 name="input_ids")
            model = modeling.BertModel(config, False, ids, use_einsum=False)
            output = tf.identity(model.get_sequence_output(),
                                 name="sequence_output")
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                tf.saved_model.simple_save(sess, os.path.join(work, "saved"),
                                           {"input_ids": ids},
                                           {"sequence_output": output})
        path = export_util.convert_to_tflite(os.path.join(work, "saved"),
                                             os.path.join(work, "m.tflite"))
        interpreter = tf.lite.Interpreter(model_path=path)
        interpreter.allocate_tensors()
        interpreter.set_tensor(
            interpreter.get_input_details()[0]["index"],
            np.random.RandomState(0).randint(
                0, config.vocab_size, (1, SEQ_LENGTH)).astype(np.int32))
        interpreter.invoke()
        times = []
        for _ in range(iterations):
            start = time.time()
            interpreter.invoke()
            times.append(time.time() - start)
        size_mb = os.path.getsize(path) / 1e6
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"config": name, "latency_ms": float(np.median(times)) * 1000.0,
            "size_mb": size_mb}


def print_tflite_table(rows):
    """Prints the TFLite latency table and the speed-ups over the teacher."""
    print("\n## TFLite (float, batch 1 x %d, one interpreter thread)\n" %
          SEQ_LENGTH)
    print("| config | model size (MB) | latency (ms) |")
    print("|---|---:|---:|")
    for r in rows:
        print("| %s | %.1f | %.1f |" %
              (r["config"], r["size_mb"], r["latency_ms"]))
    latency = {r["config"]: r["latency_ms"] for r in rows}
    if "roberta_wwm_ext" in latency:
        print("\nTFLite latency speed-up over roberta_wwm_ext:")
        for name in PUBLISHED[:4]:
            if name in latency:
                print("  %s: %.2fx" %
                      (name, latency["roberta_wwm_ext"] / latency[name]))


def distill_step_stats(iterations, batch_size=8, max_predictions=20):
    """One stage-3 distillation step at full size, built by run_pretraining.

    Uses run_pretraining's own graph code (student + `teacher/` models, the
    soft-target loss and AdamW) with the published recipe's ratio 0.5.
    """
    from absl import flags
    from pretrain import estimator_util
    from pretrain import pretraining_stages
    from pretrain import run_pretraining
    run_pretraining.define_flags()
    flags.FLAGS([
        "benchmark", "--distill_ground_truth_ratio=0.5",
        "--learning_rate=1e-4", "--num_warmup_steps=10"
    ])
    optimizer = run_pretraining.settings_from_flags(
        run_pretraining.OptimizerSettings, flags.FLAGS)
    distill = run_pretraining.distill_settings_from_flags(flags.FLAGS)
    options = estimator_util.run_options_from_flags(flags.FLAGS)
    student_config = load_config("student_base_f2")
    teacher_config = load_config("roberta_wwm_ext")
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
    rng = np.random.RandomState(0)
    shape = (batch_size, max_predictions)
    with tf.Graph().as_default():
        features = {
            "input_ids": tf.constant(rng.randint(
                0, 21128, (batch_size, SEQ_LENGTH)).astype(np.int32)),
            "input_mask": tf.ones([batch_size, SEQ_LENGTH], tf.int32),
            "segment_ids": tf.zeros([batch_size, SEQ_LENGTH], tf.int32),
            "masked_lm_positions": tf.constant(
                rng.randint(1, SEQ_LENGTH, shape).astype(np.int32)),
            "masked_lm_ids": tf.constant(
                rng.randint(0, 21128, shape).astype(np.int32)),
            "masked_lm_weights": tf.ones(shape),
        }
        models = run_pretraining.build_models(
            stage, features, True, student_config, teacher_config,
            distill.temperature, use_one_hot_embeddings=False)
        terms = run_pretraining.soft_target_distillation_loss(
            models.student_logits, models.teacher_logits, features,
            distill.ground_truth_ratio)
        train_op, _ = run_pretraining.soft_target_distillation_train_op(
            terms["total_loss"], stage.schedule_steps, optimizer, options)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            seconds = time_runs(sess, train_op, None, iterations)
    return {
        "seconds_per_step": seconds,
        "examples_per_sec": batch_size / seconds,
        "peak_rss_gb": peak_rss_kb() / 1024.0 / 1024.0,
        "batch_size": batch_size,
    }


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


def print_distill_table(stats):
    """Prints table 2."""
    print("\n## Distillation training step (student_base_f2 + full "
          "roberta_wwm_ext teacher, batch %d x %d)\n" %
          (stats["batch_size"], SEQ_LENGTH))
    print("| seconds/step | examples/sec | peak resident memory (GB) |")
    print("|---:|---:|---:|")
    print("| %.2f | %.2f | %.2f |" %
          (stats["seconds_per_step"], stats["examples_per_sec"],
           stats["peak_rss_gb"]))


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
    label_map = {l: i for i, l in enumerate(processor.get_labels())}
    converted = [classifier_data.convert_single_example(e, label_map, 256,
                                                        tokenizer)
                 for e in examples]
    rows.append({"name": "ChnSentiCorp train (len 256)",
                 "examples": len(examples), "features": len(converted),
                 "seconds": time.time() - start})
    return rows


def print_preprocessing_table(rows):
    """Prints table 3."""
    print("\n## Preprocessing (text → features)\n")
    print("| data set | examples | features | seconds | examples/sec |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %d | %d | %.2f | %.1f |" %
              (r["name"], r["examples"], r["features"], r["seconds"],
               r["examples"] / r["seconds"]))


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
    parser.add_argument("--iterations", type=int, default=5,
                        help="timed runs per measurement (median reported)")
    parser.add_argument("--throughput_batch", type=int, default=32)
    parser.add_argument("--configs", default=",".join(PUBLISHED),
                        help="comma list of configs for the inference table")
    parser.add_argument("--sections",
                        default="inference,tflite,distill,preprocess",
                        help="comma list of inference, tflite, distill, "
                        "preprocess")
    parser.add_argument("--shared_data",
                        default=os.path.join(REPO, os.pardir, "shared",
                                             "data"),
                        help="folder with cmrc2018/ and chnsenticorp/")
    parser.add_argument("--distill_step_json", action="store_true",
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_distill_subprocess(iterations):
    """Runs the distillation step in a fresh process for a clean peak RSS."""
    out = subprocess.check_output([
        sys.executable,
        os.path.abspath(__file__), "--distill_step_json", "--iterations",
        str(iterations)
    ])
    return json.loads(out.decode("utf-8").strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    tf.logging.set_verbosity(tf.logging.ERROR)
    if args.distill_step_json:
        print(json.dumps(distill_step_stats(args.iterations)))
        return
    sections = args.sections.split(",")
    print("# Benchmark on %s" % machine_description())
    if "inference" in sections:
        rows = []
        for name in args.configs.split(","):
            for use_einsum in (True, False):
                rows.append(
                    inference_row(name, use_einsum, args.iterations,
                                  args.throughput_batch))
                sys.stderr.write("done %s einsum=%s\n" % (name, use_einsum))
        print_inference_table(rows, args.throughput_batch)
    if "tflite" in sections:
        print_tflite_table([
            tflite_latency_row(name, max(5, args.iterations))
            for name in args.configs.split(",")
        ])
    if "distill" in sections:
        print_distill_table(run_distill_subprocess(max(2, args.iterations //
                                                       2)))
    if "preprocess" in sections:
        print_preprocessing_table(preprocessing_rows(args.shared_data))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
