# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""MobileBERT pretraining: layer-wise transfer, then distillation.

The recipe of MobileBERT (Sun et al., 2020, "MobileBERT: a Compact
Task-Agnostic BERT for Resource-Limited Devices"), with a BERT-style
teacher.  One invocation runs, in order and each only if needed:

1. layer-wise knowledge transfer (`--layer_wise_warmup`) for
   `num_distill_steps` steps into `output_dir/warmup`;
2. an optional first round of `first_num_train_steps` steps on
   `first_input_file`;
3. pretraining distillation (soft-target masked LM) in `output_dir` until
   its global step reaches `num_train_steps`; with
   `distill_ground_truth_ratio=1.0` no teacher is built (plain MLM);

then `--do_eval` writes masked-LM accuracy and loss to
`output_dir/eval_results.txt`.  Re-running the same command after an
interruption resumes each stage from its newest checkpoint and skips the
stages that are finished (see pretraining_stages.py).

Example (tiny):
  python pretrain/run_pretraining.py --bert_config_file=student.json \\
    --bert_teacher_config_file=teacher.json --init_checkpoint=teacher/ \\
    --input_file='data/*.tfrecord' --output_dir=out --do_train --do_eval \\
    --layer_wise_warmup --num_distill_steps=100 --num_train_steps=200 \\
    --hidden_distill_factor=100 --attention_distill_factor=1 \\
    --beta_distill_factor=5000 --gamma_distill_factor=5 \\
    --distill_ground_truth_ratio=0.5
"""

import collections
import functools
import os
import sys

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf
import tensorflow.compat.v2 as tf2

from pretrain import checkpoints
from pretrain import distill_util
from pretrain import estimator_util
from pretrain import file_io
from pretrain import modeling
from pretrain import optimization
from pretrain import pretraining_stages as stages_lib

FLAGS = flags.FLAGS

SUMMARY_SUBDIR = "my_summary"

# The optimizer of every training stage (the flags of the same names);
# num_warmup_steps applies to the soft-target stages only.
OptimizerSettings = collections.namedtuple(
    "OptimizerSettings",
    ["optimizer", "learning_rate", "weight_decay_rate", "num_warmup_steps"])


def define_flags():
    """Defines this script's flags and the shared model, run, TPU and
    accelerator flag groups (see estimator_util)."""
    estimator_util.define_model_flags(
        init_checkpoint_help="Teacher checkpoint (with a teacher) or model "
        "checkpoint (plain MLM); prefix, .index or dir.")
    estimator_util.define_run_flags(keep_checkpoint_max=0, rand_seed=None)
    estimator_util.define_tpu_flags()
    estimator_util.define_accelerator_flags()
    # List the shared flags in --helpshort too.
    flags.adopt_module_key_flags(estimator_util)
    define_data_flags()
    define_schedule_flags()
    define_distillation_flags()


def define_data_flags():
    """Input files, record lengths, batch sizes and what to run."""
    flags.DEFINE_string("input_file", None,
                        "Comma list of TFRecord files / glob patterns.")
    flags.DEFINE_string("first_input_file", None,
                        "Input of the optional first round.")
    flags.DEFINE_integer("max_seq_length", 128,
                         "Sequence length of the input records.")
    flags.DEFINE_integer("first_max_seq_length", 128,
                         "Sequence length of the first-round records.")
    flags.DEFINE_integer("max_predictions_per_seq", 20,
                         "Masked positions per sequence in the records.")
    flags.DEFINE_bool("do_train", False, "Run the training stages.")
    flags.DEFINE_bool("do_eval", False, "Evaluate masked-LM accuracy/loss.")
    flags.DEFINE_integer("train_batch_size", 32,
                         "Training batch size (global: all replicas and "
                         "accumulated micro-batches together).")
    flags.DEFINE_integer("first_train_batch_size", None,
                         "First-round batch size (default: "
                         "train_batch_size).")
    flags.DEFINE_integer("eval_batch_size", 8, "Evaluation batch size.")
    flags.DEFINE_integer("max_eval_steps", 100, "Evaluation batches.")
    flags.DEFINE_bool("use_summary", False,
                      "Write TensorBoard scalars to output_dir/my_summary.")


def define_schedule_flags():
    """Steps, learning rate and optimizer."""
    flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate.")
    flags.DEFINE_integer("num_train_steps", 100000,
                         "Final global step of pretraining distillation "
                         "(first-round steps count toward it).")
    flags.DEFINE_integer("first_num_train_steps", 0,
                         "Steps of the optional first round.")
    flags.DEFINE_integer("num_warmup_steps", 10000,
                         "Learning-rate warmup steps (stages 2 and 3).")
    flags.DEFINE_integer("num_distill_steps", 100000,
                         "Steps of layer-wise knowledge transfer.")
    flags.DEFINE_enum("optimizer", "adamw", ["adamw", "lamb"], "Optimizer.")
    flags.DEFINE_float("weight_decay_rate", 0.01, "Decoupled weight decay.")


def define_distillation_flags():
    """The teacher and the weights of the distillation losses."""
    flags.DEFINE_string("bert_teacher_config_file", None,
                        "Teacher model config JSON (needed for layer-wise "
                        "transfer or distill_ground_truth_ratio < 1).")
    flags.DEFINE_bool("layer_wise_warmup", False,
                      "Run layer-wise knowledge transfer first.")
    flags.DEFINE_float("distill_temperature", 1.0,
                       "Multiplies the teacher's sequence output before its "
                       "MLM head.")
    flags.DEFINE_float("distill_ground_truth_ratio", 1.0,
                       "Weight r of the one-hot target; 1.0 = plain MLM.")
    flags.DEFINE_float("attention_distill_factor", 0.0,
                       "Weight of the attention transfer.")
    flags.DEFINE_float("hidden_distill_factor", 0.0,
                       "Weight of the feature-map transfer.")
    flags.DEFINE_float("gamma_distill_factor", 0.0,
                       "Weight of the variance transfer.")
    flags.DEFINE_float("beta_distill_factor", 0.0,
                       "Weight of the mean transfer.")


# ---------------------------------------------------------------------------
# Input.
# ---------------------------------------------------------------------------


def record_features(max_seq_length, max_predictions_per_seq):
    """The parsing spec of the records create_pretraining_data.py writes.

    Their `next_sentence_labels` feature is not read: no stage here has a
    next-sentence loss.
    """
    seq = tf.io.FixedLenFeature([max_seq_length], tf.int64)
    pred = tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64)
    return collections.OrderedDict([
        ("input_ids", seq),
        ("input_mask", seq),
        ("segment_ids", seq),
        ("masked_lm_positions", pred),
        ("masked_lm_ids", pred),
        ("masked_lm_weights",
         tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32)),
    ])


def check_first_record(path, max_seq_length, max_predictions_per_seq):
    """Fails early when the records were written with other lengths.

    Raises:
      ValueError: naming the file, the feature and the expected length.
    """
    expected = {
        name: spec.shape[0]
        for name, spec in record_features(max_seq_length,
                                          max_predictions_per_seq).items()
    }
    try:
        raw = next(tf.io.tf_record_iterator(path), None)
    except tf.errors.DataLossError as error:
        raise ValueError("%s: not a complete TFRecord file (%s)" %
                         (path, file_io.error_line(error)))
    if raw is None:
        raise ValueError("%s: contains no records" % path)
    feature = tf.train.Example.FromString(raw).features.feature
    for name, length in expected.items():
        if name not in feature:
            raise ValueError("%s: record 0 has no feature %r (expected "
                             "the features %s)" %
                             (path, name, sorted(expected)))
        values = (feature[name].float_list.value if name ==
                  "masked_lm_weights" else feature[name].int64_list.value)
        if len(values) != length:
            raise ValueError(
                "%s: record 0 feature %r has %d values, expected %d "
                "(check --max_seq_length / --max_predictions_per_seq)" %
                (path, name, len(values), length))


def input_fn_builder(input_files, max_seq_length, max_predictions_per_seq,
                     is_training, num_cpu_threads=4, seed=None):
    """Returns a TPUEstimator input_fn over pretraining TFRecords.

    Training interleaves shuffled files, shuffles records and repeats;
    evaluation reads the files once, in order.  Batches always have the
    full batch size (TPU requirement): params["batch_size"], the micro-batch
    of one replica that the estimator asks for.  `seed` (--rand_seed) fixes
    the shuffles' order whatever the rest of the graph: the workers of a
    multi-worker run, and one process, then read one stream.
    """
    features = record_features(max_seq_length, max_predictions_per_seq)

    def input_fn(params):
        batch_size = params["batch_size"]
        if is_training:
            files = tf.data.Dataset.from_tensor_slices(
                tf.constant(input_files))
            files = files.repeat().shuffle(buffer_size=len(input_files),
                                           seed=seed)
            cycle_length = min(num_cpu_threads, len(input_files))
            dataset = files.interleave(
                tf.data.TFRecordDataset,
                cycle_length=cycle_length,
                num_parallel_calls=cycle_length)
            dataset = dataset.shuffle(buffer_size=100, seed=seed)
        else:
            dataset = tf.data.TFRecordDataset(input_files)
        dataset = dataset.map(
            lambda record: estimator_util.decode_record(record, features),
            num_parallel_calls=num_cpu_threads)
        return dataset.batch(batch_size, drop_remainder=True).prefetch(1)

    return input_fn


def stage_input_fn(stage, is_training, max_predictions_per_seq, seed=None):
    """The input_fn of `stage`, once the first record of every input file
    has the right lengths (`seed`: see input_fn_builder).

    Raises:
      ValueError: see check_first_record.
    """
    for path in stage.input_files:
        check_first_record(path, stage.max_seq_length,
                           max_predictions_per_seq)
    return input_fn_builder(stage.input_files, stage.max_seq_length,
                            max_predictions_per_seq, is_training, seed=seed)


# ---------------------------------------------------------------------------
# Models.
# ---------------------------------------------------------------------------

# The graph of one stage: the student and its masked-LM logits [M, V], and
# (with a teacher) the teacher under `teacher/` and its logits, gradient
# stopped; teacher and teacher_logits are None without one.
PretrainingModels = collections.namedtuple(
    "PretrainingModels",
    ["student", "student_logits", "teacher", "teacher_logits"])


def build_models(stage, features, is_training, student_config,
                 teacher_config, temperature, use_one_hot_embeddings,
                 use_einsum=True):
    """Builds the student (and teacher) with their masked-LM heads.

    Args:
      stage: pretraining_stages.Stage (its with_teacher is read).
      features: the batch (see record_features).
      is_training: training mode.  Only plain MLM (no teacher) trains the
        student with dropout: whenever a teacher is built, the published
        recipe builds the student in inference mode too (deterministic
        forward pass); the teacher always is.
      student_config: student BertConfig.
      teacher_config: teacher BertConfig (None without a teacher).
      temperature: --distill_temperature, multiplies the teacher's sequence
        output before its MLM head.
      use_one_hot_embeddings: one-hot embedding lookups (TPU).
      use_einsum: --use_einsum.

    Returns:
      PretrainingModels.
    """
    positions = features["masked_lm_positions"]

    def bert(config, training):
        """A BertModel (scope `bert`) over the batch's features."""
        return modeling.BertModel(
            config=config,
            is_training=training,
            input_ids=features["input_ids"],
            input_mask=features["input_mask"],
            token_type_ids=features["segment_ids"],
            use_one_hot_embeddings=use_one_hot_embeddings,
            scope="bert",
            use_einsum=use_einsum)

    student = bert(student_config, is_training and not stage.with_teacher)
    student_logits = modeling.masked_lm_logits(
        student_config, student.get_sequence_output(),
        student.get_embedding_table(), positions)
    if not stage.with_teacher:
        return PretrainingModels(student, student_logits, None, None)
    with tf.variable_scope(checkpoints.TEACHER_SCOPE):
        teacher = bert(teacher_config, False)
        teacher_logits = modeling.masked_lm_logits(
            teacher_config, temperature * teacher.get_sequence_output(),
            teacher.get_embedding_table(), positions)
    return PretrainingModels(student, student_logits, teacher,
                             tf.stop_gradient(teacher_logits))


# ---------------------------------------------------------------------------
# Losses and the train ops that minimise them.  The losses themselves are in
# distill_util.py; they are computed in float32 (the logits and hidden
# states are float32, and the mixed-precision rewrite of --precision=fp16
# keeps softmax, log and reductions in float32).
# ---------------------------------------------------------------------------


def layer_wise_transfer_loss(student, teacher, global_step,
                             num_distill_steps, factors):
    """Stage-1 loss: MobileBERT's progressive layer-wise knowledge transfer.

    The feature-map, attention, mean and variance transfer terms, weighted
    by the *_distill_factor flags; in each of L equal phases of
    `num_distill_steps`, only layer l (phase l) is active.

    Args:
      student: student BertModel.
      teacher: teacher BertModel.
      global_step: this run's step value (gates the layers).
      num_distill_steps: --num_distill_steps.
      factors: distill_util.DistillFactors.

    Returns:
      OrderedDict of the non-zero terms and "total_loss".
    """
    num_layers = len(student.get_all_attention_scores())
    gates = distill_util.progressive_gates(global_step, num_distill_steps,
                                           num_layers)
    return distill_util.layer_wise_loss(teacher.get_all_encoder_layers()[1:],
                                        student.get_all_encoder_layers()[1:],
                                        teacher.get_all_attention_scores(),
                                        student.get_all_attention_scores(),
                                        gates, factors)


def layer_wise_transfer_train_op(total_loss, global_step, num_distill_steps,
                                 num_layers, optimizer, options):
    """Minimises the layer-wise transfer loss.

    A constant learning rate (no warmup, no decay) over `num_distill_steps`;
    with --optimizer=lamb, the per-layer learning-rate multipliers of the
    published code (only the active layer trains at full rate).

    Args:
      total_loss: the "total_loss" of layer_wise_transfer_loss.
      global_step: this run's step value (the multipliers).
      num_distill_steps: --num_distill_steps.
      num_layers: the student's layers.
      optimizer: OptimizerSettings.
      options: estimator_util.RunOptions.

    Returns:
      (train_op, learning_rate).
    """
    multipliers = None
    if optimizer.optimizer == "lamb":
        multipliers = distill_util.layer_wise_lr_multipliers(
            optimization.student_variables(), global_step, num_distill_steps,
            num_layers)
    return create_train_op(total_loss, optimizer, options,
                           num_train_steps=num_distill_steps,
                           num_warmup_steps=0,
                           end_lr_rate=1.0,
                           lr_multipliers=multipliers)


def soft_target_distillation_loss(student_logits, teacher_logits, features,
                                  ground_truth_ratio):
    """Stage-2/3 loss: MobileBERT's pre-training distillation.

    Masked-LM cross entropy against `(1 - r) * p_teacher + r * one_hot`,
    r = --distill_ground_truth_ratio (plain MLM without a teacher).

    Args:
      student_logits: [M, V].
      teacher_logits: [M, V], or None.
      features: the batch (masked_lm_ids, masked_lm_weights).
      ground_truth_ratio: r.

    Returns:
      OrderedDict, under the published tags: with a teacher
      "distill_loss" (the soft-target loss, minimised) and "mlm_loss" (the
      hard-label masked-LM loss, for monitoring); without one "mlm_loss"
      (minimised); then "masked_lm_accuracy" and "total_loss".
    """
    label_ids = features["masked_lm_ids"]
    label_weights = features["masked_lm_weights"]
    mlm_loss, _ = distill_util.soft_target_mlm_loss(student_logits, label_ids,
                                                    label_weights)
    terms = collections.OrderedDict()
    if teacher_logits is None:
        terms["mlm_loss"] = mlm_loss
    else:
        terms["distill_loss"], _ = distill_util.soft_target_mlm_loss(
            student_logits, label_ids, label_weights, teacher_logits,
            ground_truth_ratio)
        terms["mlm_loss"] = mlm_loss
    terms["masked_lm_accuracy"] = distill_util.masked_lm_accuracy(
        student_logits, label_ids, label_weights)
    terms["total_loss"] = terms.get("distill_loss", mlm_loss)
    return terms


def soft_target_distillation_train_op(total_loss, num_train_steps, optimizer,
                                      options):
    """Minimises the soft-target loss: linear warmup over num_warmup_steps,
    then linear decay until `num_train_steps`.

    Args:
      total_loss: the "total_loss" of soft_target_distillation_loss.
      num_train_steps: --num_train_steps (the first round counts toward it).
      optimizer: OptimizerSettings.
      options: estimator_util.RunOptions.

    Returns:
      (train_op, learning_rate).
    """
    return create_train_op(total_loss, optimizer, options,
                           num_train_steps=num_train_steps,
                           num_warmup_steps=optimizer.num_warmup_steps)


def create_train_op(loss, optimizer, options, num_train_steps,
                    num_warmup_steps, **schedule):
    """optimization.create_optimizer with the run's optimizer and
    accelerator settings (gradient accumulation, fp16 loss scaling).

    Args:
      loss: scalar loss.
      optimizer: OptimizerSettings.
      options: estimator_util.RunOptions.
      num_train_steps: length of the learning-rate schedule.
      num_warmup_steps: warmup steps of the schedule.
      **schedule: further create_optimizer arguments (end_lr_rate,
        lr_multipliers).

    Returns:
      (train_op, learning_rate).
    """
    return optimization.create_optimizer(
        loss,
        optimizer.learning_rate,
        num_train_steps,
        num_warmup_steps,
        options.use_tpu,
        optimizer_name=optimizer.optimizer,
        weight_decay_rate=optimizer.weight_decay_rate,
        accumulation_steps=options.gradient_accumulation_steps,
        dynamic_loss_scale=(options.precision == "fp16"),
        **schedule)


def stage_train_op(stage, models, features, global_step, optimizer, distill,
                   options):
    """The loss terms and train op of a training stage.

    Args:
      stage: pretraining_stages.Stage.
      models: PretrainingModels.
      features: the batch.
      global_step: this run's step value.
      optimizer: OptimizerSettings.
      distill: pretraining_stages.DistillSettings.
      options: estimator_util.RunOptions.

    Returns:
      (terms dict with "total_loss", train_op, learning_rate).
    """
    if stage.layer_wise:
        terms = layer_wise_transfer_loss(models.student, models.teacher,
                                         global_step, stage.schedule_steps,
                                         distill.factors)
        train_op, learning_rate = layer_wise_transfer_train_op(
            terms["total_loss"], global_step, stage.schedule_steps,
            len(models.student.get_all_attention_scores()), optimizer,
            options)
    else:
        terms = soft_target_distillation_loss(models.student_logits,
                                              models.teacher_logits, features,
                                              distill.ground_truth_ratio)
        train_op, learning_rate = soft_target_distillation_train_op(
            terms["total_loss"], stage.schedule_steps, optimizer, options)
    return terms, train_op, learning_rate


# ---------------------------------------------------------------------------
# Model function.
# ---------------------------------------------------------------------------


def summary_host_call(summary_dir, global_step, scalars):
    """A host_call writing `scalars` as TensorBoard summaries.

    Works on TPU (outfeed, values from every core averaged) and on CPU/GPU,
    where TPUEstimator runs the same function in the training graph.

    Args:
      summary_dir: event-file directory.
      global_step: the step these values belong to.
      scalars: {name: scalar tensor}.

    Returns:
      (host_call_fn, tensors) for TPUEstimatorSpec.
    """
    names = sorted(scalars)

    def host_call_fn(global_step, *values):
        step = global_step[0]
        writer = tf2.summary.create_file_writer(summary_dir)
        with writer.as_default(), tf2.summary.record_if(True):
            for name, value in zip(names, values):
                tf2.summary.scalar(name, tf.reduce_mean(value), step=step)
            return tf.summary.all_v2_summary_ops()

    tensors = [tf.reshape(global_step, [1])] + [
        tf.reshape(tf.cast(scalars[n], tf.float32), [1]) for n in names
    ]
    return host_call_fn, tensors


def eval_spec(models, features, ground_truth_ratio, scaffold_fn):
    """Masked-LM accuracy and loss of the student, and with a teacher the
    soft-target distillation loss.

    The estimator's `loss` is what training minimises: with a teacher the
    soft-target loss (the published `loss`), reported again as
    `distill_loss`; `masked_lm_loss` is always the hard-label loss.

    Args:
      models: PretrainingModels.
      features: the batch.
      ground_truth_ratio: --distill_ground_truth_ratio.
      scaffold_fn: from checkpoints.initialize_from_plan.

    Returns:
      TPUEstimatorSpec (EVAL).
    """
    label_ids = features["masked_lm_ids"]
    label_weights = features["masked_lm_weights"]
    loss, hard_per_example = distill_util.soft_target_mlm_loss(
        models.student_logits, label_ids, label_weights)
    soft_per_example = hard_per_example
    if models.teacher_logits is not None:
        loss, soft_per_example = distill_util.soft_target_mlm_loss(
            models.student_logits, label_ids, label_weights,
            models.teacher_logits, ground_truth_ratio)
    with_teacher = models.teacher_logits is not None

    def metric_fn(hard_loss, soft_loss, logits, label_ids, label_weights):
        weights = tf.reshape(label_weights, [-1])
        metrics = estimator_util.accuracy_and_loss_metrics(
            "masked_lm", tf.reshape(label_ids, [-1]), logits, hard_loss,
            weights)
        if with_teacher:
            metrics["distill_loss"] = tf.metrics.mean(values=soft_loss,
                                                      weights=weights)
        return metrics

    metrics = (metric_fn, [
        hard_per_example, soft_per_example, models.student_logits, label_ids,
        label_weights
    ])
    return tf.estimator.tpu.TPUEstimatorSpec(mode=tf.estimator.ModeKeys.EVAL,
                                             loss=loss,
                                             eval_metrics=metrics,
                                             scaffold_fn=scaffold_fn)


def model_fn_builder(stage,
                     student_config,
                     teacher_config,
                     optimizer,
                     distill,
                     options,
                     use_einsum=True,
                     summary_root=None):
    """Returns the TPUEstimator model_fn of `stage`.

    Args:
      stage: pretraining_stages.Stage.
      student_config: student BertConfig.
      teacher_config: teacher BertConfig (None without a teacher).
      optimizer: OptimizerSettings.
      distill: pretraining_stages.DistillSettings.
      options: estimator_util.RunOptions.
      use_einsum: --use_einsum.
      summary_root: write TensorBoard scalars below this directory (in
        `warmup/` for the layer-wise stage, `main/` for the others), or None.

    Returns:
      model_fn(features, labels, mode, params).
    """

    # pylint: disable=unused-argument
    def model_fn(features, labels, mode, params):
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        models = build_models(stage, features, is_training, student_config,
                              teacher_config, distill.temperature,
                              options.use_tpu, use_einsum)
        scaffold_fn = checkpoints.initialize_from_plan(stage.init,
                                                       options.use_tpu)
        if not is_training:
            return eval_spec(models, features, distill.ground_truth_ratio,
                             scaffold_fn)
        # One snapshot of the step for gates, multipliers and summaries;
        # the optimizer's increment waits for it.
        step = tf.train.get_or_create_global_step().read_value()
        with tf.control_dependencies([step]):
            terms, train_op, learning_rate = stage_train_op(
                stage, models, features, step, optimizer, distill, options)
        logged = dict(terms, learning_rate=learning_rate)
        host_call = None
        if summary_root:
            summary_dir = os.path.join(
                summary_root,
                stages_lib.WARMUP if stage.layer_wise else stages_lib.MAIN)
            host_call = summary_host_call(summary_dir, step, logged)
        hooks = []
        if not options.use_tpu:
            # On TPU the loss lives inside the TPU loop; TPUEstimator logs
            # steps/sec and examples/sec itself, the summaries the terms.
            hooks.append(
                estimator_util.ProgressHook(logged, stage.batch_size,
                                            options.log_every_steps))
        return tf.estimator.tpu.TPUEstimatorSpec(mode=mode,
                                                 loss=terms["total_loss"],
                                                 train_op=train_op,
                                                 host_call=host_call,
                                                 training_hooks=hooks,
                                                 scaffold_fn=scaffold_fn)

    return model_fn


# ---------------------------------------------------------------------------
# Main: the only reader of FLAGS.
# ---------------------------------------------------------------------------


def settings_from_flags(settings_class, flag_values):
    """A namedtuple whose fields are flags of the same names."""
    return settings_class(**{
        name: getattr(flag_values, name) for name in settings_class._fields
    })


def distill_settings_from_flags(flag_values):
    """DistillSettings from the distillation flags."""
    return stages_lib.DistillSettings(
        factors=distill_util.DistillFactors(
            hidden=flag_values.hidden_distill_factor,
            attention=flag_values.attention_distill_factor,
            beta=flag_values.beta_distill_factor,
            gamma=flag_values.gamma_distill_factor),
        ground_truth_ratio=flag_values.distill_ground_truth_ratio,
        temperature=flag_values.distill_temperature)


def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)
    estimator_util.require_flags(
        FLAGS, ["bert_config_file", "output_dir", "input_file"])
    if not FLAGS.do_train and not FLAGS.do_eval:
        raise ValueError("at least one of --do_train or --do_eval is needed")
    recipe = settings_from_flags(stages_lib.Recipe, FLAGS)
    distill = distill_settings_from_flags(FLAGS)
    stages_lib.check_recipe(recipe, distill)
    student_config, teacher_config = stages_lib.load_configs(
        FLAGS.bert_config_file, FLAGS.bert_teacher_config_file, recipe,
        distill)
    options = estimator_util.run_options_from_flags(FLAGS)
    build_model_fn = functools.partial(
        model_fn_builder,
        student_config=student_config,
        teacher_config=teacher_config,
        optimizer=settings_from_flags(OptimizerSettings, FLAGS),
        distill=distill,
        options=options,
        use_einsum=FLAGS.use_einsum,
        summary_root=(os.path.join(FLAGS.output_dir, SUMMARY_SUBDIR)
                      if FLAGS.use_summary else None))
    build_input_fn = functools.partial(
        stage_input_fn, max_predictions_per_seq=FLAGS.max_predictions_per_seq,
        seed=FLAGS.rand_seed)
    file_io.check_writable_dir(FLAGS.output_dir, "output_dir")
    if FLAGS.do_train:
        stages_lib.run_training_stages(recipe, distill, build_model_fn,
                                       build_input_fn, options)
    if FLAGS.do_eval and estimator_util.continues_after_training(options):
        stages_lib.run_eval(recipe, distill, build_model_fn, build_input_fn,
                            options, FLAGS.eval_batch_size,
                            FLAGS.max_eval_steps)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
