# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The benchmark's training sections: a full-size distillation step,
training steps/sec of each stack, and full-size training per precision on
a GPU (scripts/gpu_check.sh).
"""

import functools
import platform
import resource
import subprocess
import sys

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import modeling
from scripts import benchmark_serving
from scripts.benchmark_report import SEQ_LENGTH


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
    student_config = benchmark_serving.load_config(student_name)
    teacher_config = benchmark_serving.load_config(teacher_name)
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
    config = benchmark_serving.load_config(name)
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
            seconds = benchmark_serving.time_runs(sess, train_op, None,
                                                  iterations)
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
