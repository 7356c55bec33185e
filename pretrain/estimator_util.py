# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Pieces every entry point shares: TPU flags, input file lists, record
decoding, metrics, RunConfig and progress logging."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import time

from absl import flags
import tensorflow.compat.v1 as tf


def define_tpu_flags():
    """Defines the TPU flags BERT's scripts take (CPU/GPU when off)."""
    flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
    flags.DEFINE_string("tpu_name", None, "Cloud TPU name or grpc address.")
    flags.DEFINE_string("tpu_zone", None, "GCE zone of the Cloud TPU.")
    flags.DEFINE_string("gcp_project", None, "GCP project of the Cloud TPU.")
    flags.DEFINE_string("master", None, "TensorFlow master URL.")
    flags.DEFINE_integer("num_tpu_cores", 8, "TPU cores (with --use_tpu).")
    flags.DEFINE_integer("iterations_per_loop", 1000,
                         "Steps per TPU loop (estimator call).")


def split_comma_list(value):
    """Returns the non-empty, stripped items of a comma-separated string."""
    return [item.strip() for item in value.split(",") if item.strip()]


def expand_input_files(input_patterns):
    """Expands a comma list of files and glob patterns into file paths.

    Matches of each pattern are sorted, so the order does not depend on the
    file system. A file matched twice is read once (and the repeat logged).

    Args:
        input_patterns: Comma-separated paths and/or glob patterns.

    Returns:
        The list of matching files.

    Raises:
        ValueError: If there is no pattern or a pattern matches no file.
    """
    patterns = split_comma_list(input_patterns or "")
    if not patterns:
        raise ValueError("No input file given: pass --input_file as a comma "
                         "list of files and/or glob patterns.")
    input_files = []
    for pattern in patterns:
        try:
            matches = sorted(tf.io.gfile.glob(pattern))
        except tf.errors.NotFoundError:  # The pattern's directory is missing.
            matches = []
        if not matches:
            raise ValueError("Input pattern %r matched no files." % pattern)
        for path in matches:
            if path in input_files:
                tf.logging.warning("Input file %s is matched more than once; "
                                   "reading it once.", path)
            else:
                input_files.append(path)
    return input_files


def decode_record(record, name_to_features):
    """Parses one tf.Example; int64 features become int32 (TPUs need it)."""
    example = tf.io.parse_single_example(record, name_to_features)
    for name in list(example):
        if example[name].dtype == tf.int64:
            example[name] = tf.cast(example[name], tf.int32)
    return example


def accuracy_and_loss_metrics(prefix, label_ids, logits, per_example_loss,
                              weights):
    """Weighted accuracy of argmax(logits) and weighted mean loss.

    Args:
      prefix: metric names are `<prefix>_accuracy` and `<prefix>_loss`.
      label_ids: int32 [M] labels.
      logits: [M, C].
      per_example_loss: [M].
      weights: [M]; 0 drops an entry (padding).

    Returns:
      {name: tf.metrics (value, update_op)} for an eval metric_fn.
    """
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return {
        prefix + "_accuracy":
            tf.metrics.accuracy(labels=label_ids,
                                predictions=predictions,
                                weights=weights),
        prefix + "_loss":
            tf.metrics.mean(values=per_example_loss, weights=weights),
    }


def make_run_config(flags_obj,
                    model_dir,
                    save_checkpoints_steps,
                    keep_checkpoint_max=5,
                    tf_random_seed=None,
                    iterations_per_loop=None):
    """A TPU RunConfig that falls back to CPU/GPU when --use_tpu is off."""
    cluster = None
    if flags_obj.use_tpu and flags_obj.tpu_name:
        cluster = tf.distribute.cluster_resolver.TPUClusterResolver(
            flags_obj.tpu_name,
            zone=flags_obj.tpu_zone,
            project=flags_obj.gcp_project)
    per_host = tf.estimator.tpu.InputPipelineConfig.PER_HOST_V2
    loops = iterations_per_loop or flags_obj.iterations_per_loop
    return tf.estimator.tpu.RunConfig(
        cluster=cluster,
        master=flags_obj.master,
        model_dir=model_dir,
        save_checkpoints_steps=save_checkpoints_steps,
        keep_checkpoint_max=keep_checkpoint_max,
        tf_random_seed=tf_random_seed,
        log_step_count_steps=loops,
        tpu_config=tf.estimator.tpu.TPUConfig(
            iterations_per_loop=loops,
            num_shards=flags_obj.num_tpu_cores,
            per_host_input_for_training=per_host))


class ProgressHook(tf.train.SessionRunHook):
    """Logs step, the given scalars and examples/sec every N steps."""

    def __init__(self, tensors, batch_size, every_n_steps=10):
        """Args: tensors {label: scalar tensor}; batch_size per step."""
        self._tensors = dict(tensors)
        self._batch_size = batch_size
        self._every = max(1, every_n_steps)
        self._last = None

    def begin(self):
        self._step = tf.train.get_or_create_global_step()

    def before_run(self, run_context):
        return tf.train.SessionRunArgs([self._step, self._tensors])

    def after_run(self, run_context, run_values):
        step, values = run_values.results
        now = time.time()
        if self._last is None:
            self._last = (step, now)
            return
        if step - self._last[0] < self._every:
            return
        steps = step - self._last[0]
        rate = steps * self._batch_size / max(now - self._last[1], 1e-9)
        parts = " ".join("%s=%.5g" % (k, v) for k, v in sorted(values.items()))
        tf.logging.info("step %d %s examples/sec=%.1f", step, parts, rate)
        self._last = (step, now)
