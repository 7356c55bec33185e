# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""What the fine-tuning entry scripts share beyond pretrain/estimator_util.

run_classifier.py and run_squad.py fine-tune as Google's BERT does: AdamW
with linear warmup and decay over `--num_train_epochs` passes of the
training data. This module holds the pieces both need: their common flag
groups, the step schedule, the tokenizer and model config with their checks,
the training TPUEstimatorSpec and the training loop.
"""

import collections
import contextlib
import functools
import json
import os

from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf

from finetune import export_util
from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import file_io
from pretrain import modeling
from pretrain import optimization
from pretrain import quantization
from pretrain import serving_graph
from pretrain import tokenization


def define_schedule_flags(learning_rate, num_train_epochs):
    """--train_batch_size, --learning_rate, --num_train_epochs, warmup.

    Args:
      learning_rate: the script's default peak learning rate.
      num_train_epochs: the script's default number of epochs.
    """
    flags.DEFINE_integer("train_batch_size", 32,
                         "Training batch size (global: all replicas and "
                         "accumulated micro-batches together).")
    flags.DEFINE_float("learning_rate", learning_rate,
                       "Peak learning rate of AdamW.")
    flags.DEFINE_float("num_train_epochs", num_train_epochs,
                       "Passes over the training data.")
    flags.DEFINE_float("warmup_proportion", 0.1,
                       "Fraction of the steps spent in linear warmup.")


def define_export_flags(export_dir_help):
    """--export_dir, its quantization flags and --quantization_aware_training.

    Args:
      export_dir_help: what the script exports to --export_dir.
    """
    flags.DEFINE_string("export_dir", None, export_dir_help)
    flags.DEFINE_bool("use_post_quantization", False,
                      "With --export_dir, also write model_quant.tflite "
                      "(dynamic-range post-training quantization).")
    flags.DEFINE_enum(
        "export_quantization", None, ["int8"],
        "With --export_dir, also write model_int8.tflite: full-integer "
        "post-training quantization (int8 weights and activations) "
        "calibrated on --representative_examples training examples.")
    flags.DEFINE_integer(
        "representative_examples", 300,
        "Training examples (a seeded random sample) that calibrate the "
        "int8 model's activation ranges.")
    flags.DEFINE_bool(
        "int8_outputs", False,
        "int8 model outputs (with scale and zero point) instead of float "
        "ones; the inputs are token ids (int32) either way.")
    flags.DEFINE_string(
        "int8_converter_python", None,
        "Under TF 1.15, the TF 2 interpreter that converts to int8 (TF "
        "1.15's converter cannot); default .venv-tf2/bin/python.")
    flags.DEFINE_bool(
        "quantization_aware_training", False,
        "Fine-tune with fake-quantized weights and activations; with "
        "--export_dir the int8 model (model_int8.tflite) is converted from "
        "the fake-quantized graph with its learnt ranges.")
    flags.DEFINE_integer(
        "serving_row_groups", 1,
        "With --export_dir, build the SavedModel and its frozen copy with "
        "this many row groups (modeling.BertModel): served with one "
        "intra-op and this many inter-op threads, the groups run side by "
        "side, the fastest batch-1 setting on a multi-core CPU (use the "
        "number of cores a request gets). The TFLite models still come "
        "from a one-group graph (export_dir/lite).")


def export_quantizations(flag_values):
    """The TFLite models --export_dir gets: float, then the requested ones."""
    quantizations = ["float"]
    if flag_values.use_post_quantization:
        quantizations.append("dynamic")
    if (flag_values.export_quantization == "int8" or
            flag_values.quantization_aware_training):
        quantizations.append("int8")
    return tuple(quantizations)


def validate_export_flags(flag_values):
    """Raises ValueError for a quantization flag without its requirement."""
    for name in ("use_post_quantization", "export_quantization"):
        if flag_values[name].value and not flag_values.export_dir:
            raise ValueError("--%s needs --export_dir" % name)
    if flag_values.serving_row_groups != 1 and not flag_values.export_dir:
        raise ValueError("--serving_row_groups needs --export_dir")
    if not 1 <= flag_values.serving_row_groups <= (
            flag_values.max_seq_length):
        raise ValueError("--serving_row_groups must be between 1 and "
                         "--max_seq_length (%d), got %d" %
                         (flag_values.max_seq_length,
                          flag_values.serving_row_groups))
    if flag_values.representative_examples < 1:
        raise ValueError("--representative_examples must be positive, got "
                         "%d" % flag_values.representative_examples)


def encoder_model(bert_config, is_training, input_ids, input_mask,
                  segment_ids, use_one_hot_embeddings, use_einsum,
                  graph=None):
    """The encoder under a task head.

    Args:
      bert_config: modeling.BertConfig.
      is_training: bool (dropout).
      input_ids, input_mask, segment_ids: int32 [B, S].
      use_one_hot_embeddings: look words up by one-hot matmul (TPU).
      use_einsum: einsum or reshape+matmul (modeling's graph).
      graph: serving_graph.GraphOptions of an export, or None for the
        training and evaluation graph (modeling.BertModel).

    Returns:
      The model (modeling.BertModel or serving_graph.ServingModel).
    """
    if graph is None:
        return modeling.BertModel(
            config=bert_config,
            is_training=is_training,
            input_ids=input_ids,
            input_mask=input_mask,
            token_type_ids=segment_ids,
            use_one_hot_embeddings=use_one_hot_embeddings,
            use_einsum=use_einsum)
    return serving_graph.ServingModel(
        bert_config, input_ids, input_mask, segment_ids, options=graph,
        use_one_hot_embeddings=use_one_hot_embeddings)


def export_model_fns(build, row_groups=1, quantization_aware=False):
    """The PREDICT model_fns of an export, as export_newest_checkpoint takes.

    Every one is built as a serving graph (serving_graph.serving_options:
    matmul layers, as TFLite has no Einsum kernel, and the mask adder that
    int8 quantizes).

    Args:
      build: the script's model_fn_builder with the model's arguments
        bound; called with `graph` (and `fake_quantize`).
      row_groups: --serving_row_groups of the SavedModel; above 1 the TFLite
        models get a one-group model_fn of their own.
      quantization_aware: the int8 model comes from a fake-quantized graph.

    Returns:
      {"model_fn", "lite_model_fn", "int8_model_fn"}: the SavedModel's, the
      TFLite source's and the int8 source's model_fn (None: the
      SavedModel's).
    """
    one_group = serving_graph.serving_options()
    model_fns = {
        "model_fn": build(graph=serving_graph.serving_options(row_groups)),
        "lite_model_fn": None, "int8_model_fn": None}
    if row_groups > 1:
        model_fns["lite_model_fn"] = build(graph=one_group)
    if quantization_aware:
        model_fns["int8_model_fn"] = build(graph=one_group,
                                           fake_quantize=True)
    return model_fns


def export_newest(build, options, flag_values, quantizations,
                  representative_features=None):
    """SavedModel, frozen copy and TFLite model(s) of the newest checkpoint.

    Args:
      build: the script's model_fn_builder with the model's arguments
        bound, all but `options` (and the `graph` and `fake_quantize` that
        export_model_fns passes).
      options: estimator_util.RunOptions of the run; the export builds its
        graphs with export_util.export_run_options of them.
      flag_values: the script's flags: the checkpoints of --output_dir go
        to --export_dir at --max_seq_length, with the export flags of
        define_export_flags (--int8_outputs, --int8_converter_python,
        --quantization_aware_training: the int8 model is converted from the
        fake-quantized graph, --serving_row_groups: see export_model_fns).
      quantizations: export_quantizations(flag_values).
      representative_features: training feature dicts calibrating "int8".

    Returns:
      The paths of export_util.export_newest_checkpoint.
    """
    export_options = export_util.export_run_options(options)
    model_fns = export_model_fns(
        functools.partial(build, options=export_options),
        flag_values.serving_row_groups,
        flag_values.quantization_aware_training)
    return export_util.export_newest_checkpoint(
        model_dir=flag_values.output_dir, options=export_options,
        max_seq_length=flag_values.max_seq_length,
        export_dir=flag_values.export_dir, quantizations=quantizations,
        representative_features=representative_features,
        int8_outputs=flag_values.int8_outputs,
        converter_python=flag_values.int8_converter_python, **model_fns)


def representative_sample(features, count, seed):
    """`count` of the training features (all when fewer), seeded.

    Args:
      features: list of training feature dicts (or objects).
      count: sample size (--representative_examples).
      seed: sampling seed (None: 0).

    Returns:
      A list, in the order of `features`.
    """
    if len(features) <= count:
        return list(features)
    rng = np.random.RandomState(0 if seed is None else seed)
    picked = np.sort(rng.choice(len(features), count, replace=False))
    return [features[i] for i in picked]


def fake_quantization_scope(enabled, is_training):
    """quantization.fake_quantization(is_training), or a no-op context."""
    if enabled:
        return quantization.fake_quantization(is_training)
    return contextlib.nullcontext()


def define_output_flags():
    """--overwrite_output_dir."""
    flags.DEFINE_bool(
        "overwrite_output_dir", False,
        "With --do_train: empty --output_dir and train from the start, even "
        "when it holds a checkpoint from other training settings.")


# The training settings of a run, recorded in its output_dir.
SETTINGS_FILE = "train_settings.json"


def check_train_settings(output_dir, settings, overwrite):
    """Records a training run's settings in `output_dir`, or stops on a
    mismatch.

    A checkpoint in `output_dir` is resumed (and a finished one only
    re-evaluated) only when it was trained with the same settings. With
    `overwrite` the folder is emptied first and training starts over.

    Args:
      output_dir: the run's --output_dir (created, writable).
      settings: dict of JSON values: everything the trained model depends
        on (learning rate, epochs, batch, data and config digests, ...).
      overwrite: --overwrite_output_dir.

    Raises:
      ValueError: the recorded settings differ (listing each difference),
        or a checkpoint exists without a record.
    """
    path = os.path.join(output_dir, SETTINGS_FILE)
    if overwrite and tf.io.gfile.listdir(output_dir):
        tf.logging.info("--overwrite_output_dir: emptying %s", output_dir)
        tf.io.gfile.rmtree(output_dir)
        tf.io.gfile.makedirs(output_dir)
    settings = json.loads(json.dumps(settings))  # Tuples -> lists, as read.
    if tf.io.gfile.exists(path):
        recorded = file_io.load_json(path, what="training settings record")
        differences = [
            "%s: %r there, %r now" % (key, recorded.get(key),
                                      settings.get(key))
            for key in sorted(set(recorded) | set(settings))
            if recorded.get(key) != settings.get(key)
        ]
        if differences:
            raise ValueError(
                "%s (--output_dir): holds a run trained with other settings "
                "(%s); use another --output_dir, or pass "
                "--overwrite_output_dir to start over" %
                (output_dir, "; ".join(differences)))
        tf.logging.info("%s: same training settings; resuming", path)
        return
    if tf.train.latest_checkpoint(output_dir):
        raise ValueError(
            "%s (--output_dir): holds a checkpoint but no %s, so its "
            "training settings are unknown; use another --output_dir, or "
            "pass --overwrite_output_dir to start over" %
            (output_dir, SETTINGS_FILE))
    file_io.write_text_atomically(
        path, json.dumps(settings, indent=2, sort_keys=True) + "\n")


def train_settings(flag_values, data_file, **task_settings):
    """The settings check_train_settings records for a fine-tuning run.

    Args:
      flag_values: the script's FLAGS.
      data_file: the training data file (its content digest is recorded).
      **task_settings: the script's own settings (task, doc_stride, ...).
    """
    settings = {
        name: getattr(flag_values, name) for name in (
            "learning_rate", "num_train_epochs", "train_batch_size",
            "warmup_proportion", "max_seq_length", "rand_seed",
            "do_lower_case", "init_checkpoint",
            "gradient_accumulation_steps", "quantization_aware_training")
    }
    settings.update(
        data_sha256=file_io.file_digest(data_file),
        bert_config_sha256=file_io.file_digest(flag_values.bert_config_file),
        vocab_sha256=file_io.file_digest(flag_values.vocab_file),
        spm_model_sha256=file_io.file_digest(flag_values.spm_model_file))
    settings.update(task_settings)
    return settings


# What the optimizer of a training run needs besides the loss.
TrainSchedule = collections.namedtuple(
    "TrainSchedule",
    ["learning_rate", "num_train_steps", "num_warmup_steps",
     "train_batch_size"])


def train_schedule(num_examples,
                   train_batch_size,
                   num_train_epochs,
                   warmup_proportion,
                   learning_rate,
                   unit="examples"):
    """The schedule of `num_train_epochs` passes, logged.

    Args:
      num_examples: training examples (or windows) per epoch.
      train_batch_size: global batch of one update.
      num_train_epochs: passes over the examples (may be fractional).
      warmup_proportion: fraction of the updates spent in warmup.
      learning_rate: peak learning rate.
      unit: what `num_examples` counts, for the messages.

    Returns:
      TrainSchedule.

    Raises:
      ValueError: the schedule has no step.
    """
    num_train_steps = int(num_examples / train_batch_size * num_train_epochs)
    if num_train_steps < 1:
        raise ValueError(
            "--num_train_epochs %g over %d %s at --train_batch_size %d "
            "gives no training step" %
            (num_train_epochs, num_examples, unit, train_batch_size))
    num_warmup_steps = int(num_train_steps * warmup_proportion)
    tf.logging.info(
        "***** Training: %d %s, batch size %d, %d steps (%d warmup) *****",
        num_examples, unit, train_batch_size, num_train_steps,
        num_warmup_steps)
    return TrainSchedule(learning_rate, num_train_steps, num_warmup_steps,
                         train_batch_size)


def make_tokenizer(vocab_file, spm_model_file, do_lower_case,
                   init_checkpoint):
    """The FullTokenizer, after checking the casing against the checkpoint.

    Args:
      vocab_file: WordPiece vocabulary (ignored with `spm_model_file`).
      spm_model_file: SentencePiece model, or None.
      do_lower_case: lower-case the input text.
      init_checkpoint: the checkpoint fine-tuning starts from, or None.

    Raises:
      ValueError: `do_lower_case` contradicts a well-known checkpoint.
    """
    tokenization.validate_case_matches_checkpoint(do_lower_case,
                                                  init_checkpoint)
    return tokenization.FullTokenizer(vocab_file=vocab_file,
                                      do_lower_case=do_lower_case,
                                      spm_model_file=spm_model_file)


def load_bert_config(bert_config_file, max_seq_length, tokenizer):
    """The model config, checked against the sequence length and vocabulary.

    Raises:
      ValueError: `max_seq_length` exceeds the position table, or the
        vocabulary has more entries than the embedding table.
    """
    bert_config = modeling.BertConfig.from_json_file(bert_config_file,
                                                     "bert_config_file")
    bert_config.check_seq_length(max_seq_length)
    if len(tokenizer.vocab) > bert_config.vocab_size:
        raise ValueError(
            "vocab_file: %d entries, more than the config's vocab_size %d "
            "(%s)" % (len(tokenizer.vocab), bert_config.vocab_size,
                      bert_config_file))
    return bert_config


def train_spec(loss, schedule, options, scaffold_fn):
    """The TRAIN TPUEstimatorSpec: an AdamW update plus progress logging.

    Args:
      loss: scalar training loss.
      schedule: TrainSchedule.
      options: estimator_util.RunOptions (TPU, gradient accumulation,
        precision, --log_every_steps).
      scaffold_fn: restores the initial checkpoint (or None).

    Returns:
      tf.estimator.tpu.TPUEstimatorSpec.

    Raises:
      ValueError: no schedule (the model_fn was built for prediction).
    """
    if schedule is None:
        raise ValueError("This model_fn was built without a TrainSchedule "
                         "and cannot train.")
    train_op, learning_rate = optimization.create_optimizer(
        loss,
        schedule.learning_rate,
        schedule.num_train_steps,
        schedule.num_warmup_steps,
        use_tpu=options.use_tpu,
        accumulation_steps=options.gradient_accumulation_steps,
        dynamic_loss_scale=(options.precision == "fp16"))
    hooks = []
    if not options.use_tpu:
        # Tensors inside a TPU loop cannot be fetched by a host hook; on TPU
        # the estimator logs the loss once per loop instead.
        hooks.append(
            estimator_util.ProgressHook(
                {
                    "loss": loss,
                    "learning_rate": learning_rate
                },
                batch_size=schedule.train_batch_size,
                every_n_steps=options.log_every_steps))
    return tf.estimator.tpu.TPUEstimatorSpec(
        mode=tf.estimator.ModeKeys.TRAIN,
        loss=loss,
        train_op=train_op,
        training_hooks=hooks,
        scaffold_fn=scaffold_fn)


def train(estimator, input_fn_builder, train_file, max_seq_length, schedule,
          seed, options=None):
    """Fine-tunes on a feature file until the schedule's last update.

    A run resumed from a checkpoint in the estimator's model_dir with a
    `seed` skips the examples the finished steps consumed, so its input
    order continues the uninterrupted run's (one input pipeline, also
    shared by the workers of a multi_worker run; not on TPU, where every
    host reads its own). Dropout masks
    restart their random sequence at the resumed step, so a resumed run is
    close to, not identical with, an uninterrupted one.

    Args:
      estimator: from estimator_util.make_estimator.
      input_fn_builder: the task data module's input_fn_builder
        (classifier_data or squad_data).
      train_file: TRAIN feature file the data module wrote.
      max_seq_length: the features' sequence length.
      schedule: TrainSchedule.
      seed: shuffle seed.
      options: estimator_util.RunOptions (None: one input pipeline).
    """
    skip_records = 0
    # With multi_worker every worker reads the one stream and keeps its
    # share of it (see pretrain/multi_worker.py): one pipeline too.
    single_pipeline = options is None or not options.use_tpu
    step = checkpoints.latest_step(estimator.model_dir)
    if step and seed is not None and single_pipeline:
        skip_records = min(step, schedule.num_train_steps) * (
            schedule.train_batch_size)
        tf.logging.info("Resuming at step %d: skipping the %d training "
                        "examples it consumed", step, skip_records)
    input_fn = input_fn_builder(train_file,
                                max_seq_length,
                                is_training=True,
                                drop_remainder=True,
                                seed=seed,
                                skip_records=skip_records)
    estimator.train(input_fn=input_fn, max_steps=schedule.num_train_steps)
