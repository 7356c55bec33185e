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
  3. preprocessing throughput for CMRC 2018 dev and ChnSentiCorp train;
  3b. pretraining-data creation (whole-word masking) in characters/sec and
     characters per CPU second, with 1 and 2 worker processes;
  4. training steps/sec of a fine-tuning and a distillation step on each
     stack whose environment exists (.venv: TF 1.15, .venv-tf2: TF 2.15),
     and the modern stack's ratio to the reference stack.

Runs on either stack and names it in the first line.

Usage:
  .venv/bin/python scripts/benchmark.py [--iterations 5] [--sections all]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import argparse
import io
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

from pretrain import estimator_util
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
                lambda: distillation_train_op(  # pylint: disable=cell-var-from-loop
                    "student_base_f2", "roberta_wwm_ext", GPU_DISTILL_BATCH,
                    options), iterations, options)
            row["fine_tuning"] = train_step_stats(
                lambda: fine_tuning_train_op(  # pylint: disable=cell-var-from-loop
                    "student_base_f2", GPU_FINETUNE_BATCH, options),
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


def print_train_speed_table(rows):
    """Prints the per-stack training-speed table and the tf2/tf1 ratio."""
    print("\n## Training steps/sec per stack (tiny_student_f2, teacher "
          "tiny_teacher, batch %d x %d)\n" % (SPEED_BATCH, SEQ_LENGTH))
    print("| stack | fine-tuning steps/sec | distillation steps/sec |")
    print("|---|---:|---:|")
    for stack in sorted(rows):
        row = rows[stack]
        print("| %s (%s) | %.2f | %.2f |" %
              (stack, row["stack"], row["fine_tuning"]["steps_per_sec"],
               row["distillation"]["steps_per_sec"]))
    if "tf1" in rows and "tf2" in rows:
        for part in ("fine_tuning", "distillation"):
            print("\n%s: modern stack at %.2fx the reference stack's "
                  "steps/sec" % (part.replace("_", "-"),
                                 rows["tf2"][part]["steps_per_sec"] /
                                 rows["tf1"][part]["steps_per_sec"]))


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


def pretraining_data_rows(shared_data, num_files=4, max_characters=300000):
    """Characters/sec of create_pretraining_data with whole-word masking.

    The corpus is the start of the demo's real pretraining text (CMRC 2018
    contexts and ChnSentiCorp reviews, scripts/demo_prepare_real.py), cut
    into `num_files` files of about `max_characters / num_files`
    characters; the tool runs with its defaults (max length 128, dupe
    factor 10), with 1 and with 2 worker processes. CPU seconds include the
    workers', so characters per CPU second is the rate per core.
    """
    from pretrain import create_pretraining_data
    from pretrain import tokenization
    from scripts import demo_prepare_real
    tokenizer = tokenization.FullTokenizer(
        os.path.join(shared_data, "vocab", "chinese_vocab.txt"), True)
    documents = [demo_prepare_real.split_sentences(text) for text in
                 demo_prepare_real.cmrc_contexts(os.path.join(
                     shared_data, "cmrc2018", "cmrc2018_dev.json"))]
    documents += [demo_prepare_real.split_sentences(text) for text in
                  demo_prepare_real.review_texts(os.path.join(
                      shared_data, "chnsenticorp", "train.tsv"))]
    workdir = tempfile.mkdtemp(prefix="benchmark_pretraining_data_")
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
    create_pretraining_data._word_segmenter()  # Loaded once, not timed.
    rows = []
    for num_workers in (1, 2):
        cpu_start = _cpu_seconds()
        start = time.time()
        create_pretraining_data.build_records(
            inputs, [os.path.join(workdir, "out-%d.tfrecord" % num_workers)],
            tokenizer, do_whole_word_mask=True, num_workers=num_workers)
        rows.append({"workers": num_workers, "characters": num_characters,
                     "files": num_files, "seconds": time.time() - start,
                     "cpu_seconds": _cpu_seconds() - cpu_start})
    shutil.rmtree(workdir)
    return rows


def _cpu_seconds():
    """User + system CPU seconds of this process and its ended children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def print_pretraining_data_table(rows):
    """Prints table 3b."""
    print("\n## Pretraining data (create_pretraining_data.py, whole-word "
          "masking, max length 128, dupe factor 10)\n")
    print("| workers | files | characters | seconds | characters/sec | "
          "CPU seconds | characters/CPU second | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %d | %d | %d | %.2f | %.0f | %.2f | %.0f | %.2f |" %
              (r["workers"], r["files"], r["characters"], r["seconds"],
               r["characters"] / r["seconds"], r["cpu_seconds"],
               r["characters"] / r["cpu_seconds"],
               rows[0]["seconds"] / r["seconds"]))


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
                        default="inference,tflite,distill,preprocess,"
                        "train_speed",
                        help="comma list of inference, tflite, distill, "
                        "preprocess, train_speed, gpu (full-size training "
                        "per precision, for scripts/gpu_check.sh)")
    parser.add_argument("--shared_data",
                        default=os.path.join(REPO, os.pardir, "shared",
                                             "data"),
                        help="folder with cmrc2018/ and chnsenticorp/")
    parser.add_argument("--distill_step_json", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--train_speed_json", action="store_true",
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def json_from_subprocess(python, flag, iterations):
    """Runs this script with `flag` in a fresh process; its last JSON line."""
    out = subprocess.check_output([
        python,
        os.path.abspath(__file__), flag, "--iterations",
        str(iterations)
    ])
    return json.loads(out.decode("utf-8").strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    tf.logging.set_verbosity(tf.logging.ERROR)
    if args.distill_step_json:
        print(json.dumps(distill_step_stats(args.iterations)))
        return
    if args.train_speed_json:
        print(json.dumps(train_speed_stats(args.iterations)))
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
        print_distill_table(
            json_from_subprocess(sys.executable, "--distill_step_json",
                                 max(2, args.iterations // 2)))
    if "train_speed" in sections:
        # Each stack in its own environment, one after the other.
        print_train_speed_table({
            stack: json_from_subprocess(python, "--train_speed_json",
                                        max(5, args.iterations))
            for stack, python in stack_pythons().items()
        })
    if "preprocess" in sections:
        print_preprocessing_table(preprocessing_rows(args.shared_data))
        print_pretraining_data_table(pretraining_data_rows(args.shared_data))
    if "gpu" in sections:
        print_gpu_table(gpu_rows(args.iterations))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
