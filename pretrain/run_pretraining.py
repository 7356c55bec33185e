# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""MobileBERT pretraining: layer-wise transfer, then distillation (DESIGN §6).

One invocation runs, in order and each only if needed:

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
stages that are finished.

Example (tiny):
  python pretrain/run_pretraining.py --bert_config_file=student.json \\
    --bert_teacher_config_file=teacher.json --init_checkpoint=teacher/ \\
    --input_file='data/*.tfrecord' --output_dir=out --do_train --do_eval \\
    --layer_wise_warmup --num_distill_steps=100 --num_train_steps=200 \\
    --hidden_distill_factor=100 --attention_distill_factor=1 \\
    --beta_distill_factor=5000 --gamma_distill_factor=5 \\
    --distill_ground_truth_ratio=0.5
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
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
from pretrain import modeling
from pretrain import optimization

FLAGS = flags.FLAGS

WARMUP_SUBDIR = "warmup"
SUMMARY_SUBDIR = "my_summary"
EVAL_RESULTS_FILE = "eval_results.txt"


def define_flags():
    """Defines the flags of DESIGN §6 plus the TPU flags."""
    flags.DEFINE_string("bert_config_file", None,
                        "Student (or plain BERT) model config JSON.")
    flags.DEFINE_string("bert_teacher_config_file", None,
                        "Teacher model config JSON (needed for layer-wise "
                        "transfer or distill_ground_truth_ratio < 1).")
    flags.DEFINE_string("input_file", None,
                        "Comma list of TFRecord files / glob patterns.")
    flags.DEFINE_string("first_input_file", None,
                        "Input of the optional first round.")
    flags.DEFINE_string("output_dir", None,
                        "Checkpoints, summaries and eval results go here.")
    flags.DEFINE_string("init_checkpoint", None,
                        "Teacher checkpoint (with a teacher) or model "
                        "checkpoint (plain MLM); prefix, .index or dir.")
    flags.DEFINE_integer("max_seq_length", 128,
                         "Sequence length of the input records.")
    flags.DEFINE_integer("first_max_seq_length", 128,
                         "Sequence length of the first-round records.")
    flags.DEFINE_integer("max_predictions_per_seq", 20,
                         "Masked positions per sequence in the records.")
    flags.DEFINE_bool("do_train", False, "Run the training stages.")
    flags.DEFINE_bool("do_eval", False, "Evaluate masked-LM accuracy/loss.")
    flags.DEFINE_integer("train_batch_size", 32, "Training batch size.")
    flags.DEFINE_integer("first_train_batch_size", None,
                         "First-round batch size (default: "
                         "train_batch_size).")
    flags.DEFINE_integer("eval_batch_size", 8, "Evaluation batch size.")
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
    flags.DEFINE_integer("save_checkpoints_steps", 1000,
                         "Checkpoint every this many steps.")
    flags.DEFINE_integer("max_eval_steps", 100, "Evaluation batches.")
    flags.DEFINE_enum("optimizer", "adamw", ["adamw", "lamb"], "Optimizer.")
    flags.DEFINE_float("weight_decay_rate", 0.01, "Decoupled weight decay.")
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
    flags.DEFINE_bool("use_einsum", True,
                      "einsum (True) or reshape+matmul implementation.")
    flags.DEFINE_bool("use_summary", False,
                      "Write TensorBoard scalars to output_dir/my_summary.")
    flags.DEFINE_integer("rand_seed", None,
                         "Graph-level random seed (initialisers, dropout, "
                         "input shuffling): repeatable CPU runs.")
    estimator_util.define_tpu_flags()


# ---------------------------------------------------------------------------
# Input.
# ---------------------------------------------------------------------------


def record_features(max_seq_length, max_predictions_per_seq):
    """The parsing spec of the pretraining TFRecords (DESIGN §6)."""
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


def input_files_from_flag(flag_name, value):
    """Expands a comma list of globs; an empty match is a clear error."""
    try:
        return estimator_util.expand_input_files(value)
    except ValueError as e:
        raise ValueError("--%s: %s" % (flag_name, e))


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
    for raw in tf.io.tf_record_iterator(path):
        example = tf.train.Example.FromString(raw)
        feature = example.features.feature
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
        return
    raise ValueError("%s: contains no records" % path)


def input_fn_builder(input_files, max_seq_length, max_predictions_per_seq,
                     is_training, num_cpu_threads=4):
    """Returns a TPUEstimator input_fn over pretraining TFRecords.

    Training interleaves shuffled files, shuffles records and repeats;
    evaluation reads the files once, in order.  Batches always have the
    full batch size (TPU requirement).
    """
    features = record_features(max_seq_length, max_predictions_per_seq)

    def input_fn(params):
        batch_size = params["batch_size"]
        if is_training:
            files = tf.data.Dataset.from_tensor_slices(
                tf.constant(input_files))
            files = files.repeat().shuffle(buffer_size=len(input_files))
            cycle_length = min(num_cpu_threads, len(input_files))
            dataset = files.interleave(
                tf.data.TFRecordDataset,
                cycle_length=cycle_length,
                num_parallel_calls=cycle_length)
            dataset = dataset.shuffle(buffer_size=100)
        else:
            dataset = tf.data.TFRecordDataset(input_files)
        dataset = dataset.map(
            lambda record: estimator_util.decode_record(record, features),
            num_parallel_calls=num_cpu_threads)
        return dataset.batch(batch_size, drop_remainder=True).prefetch(1)

    return input_fn


# ---------------------------------------------------------------------------
# Model function.
# ---------------------------------------------------------------------------

# One training stage or the evaluation.
#   name: "warmup" (stage 1), "first" (stage 2), "main" (stage 3), "eval".
#   model_dir, batch_size, max_seq_length, input_files, max_steps: as used.
#   layer_wise: stage 1 loss instead of the soft-target MLM loss.
#   with_teacher: build the teacher under `teacher/`.
#   init: InitPlan or None.
Stage = collections.namedtuple("Stage", [
    "name", "model_dir", "input_files", "max_seq_length", "batch_size",
    "max_steps", "layer_wise", "with_teacher", "init"
])


def build_models(stage, features, is_training, student_config,
                 teacher_config, use_one_hot_embeddings):
    """Builds the student (and teacher) with their masked-LM heads.

    Returns:
      (student BertModel, student logits [M, V], teacher BertModel or None,
       teacher logits [M, V] or None).
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
            use_einsum=FLAGS.use_einsum)

    student = bert(student_config, is_training)
    student_logits = modeling.masked_lm_logits(
        student_config, student.get_sequence_output(),
        student.get_embedding_table(), positions)
    if not stage.with_teacher:
        return student, student_logits, None, None
    with tf.variable_scope(checkpoints.TEACHER_SCOPE):
        teacher = bert(teacher_config, False)
        teacher_logits = modeling.masked_lm_logits(
            teacher_config,
            FLAGS.distill_temperature * teacher.get_sequence_output(),
            teacher.get_embedding_table(), positions)
    return student, student_logits, teacher, tf.stop_gradient(teacher_logits)


def distill_factors():
    """The four *_distill_factor flags."""
    return distill_util.DistillFactors(
        hidden=FLAGS.hidden_distill_factor,
        attention=FLAGS.attention_distill_factor,
        beta=FLAGS.beta_distill_factor,
        gamma=FLAGS.gamma_distill_factor)


def layer_wise_train_op(student, teacher, global_step):
    """Stage-1 loss terms and train op (constant lr, LAMB multipliers).

    Args:
      student: student BertModel.
      teacher: teacher BertModel.
      global_step: this run's step value (gates and multipliers).

    Returns:
      (terms dict with "total_loss", train_op, learning_rate).
    """
    num_layers = len(student.get_all_attention_scores())
    gates = distill_util.progressive_gates(global_step,
                                           FLAGS.num_distill_steps,
                                           num_layers)
    terms = distill_util.layer_wise_loss(
        teacher.get_all_encoder_layers()[1:],
        student.get_all_encoder_layers()[1:],
        teacher.get_all_attention_scores(),
        student.get_all_attention_scores(), gates, distill_factors())
    multipliers = None
    if FLAGS.optimizer == "lamb":
        multipliers = distill_util.layer_wise_lr_multipliers(
            optimization.student_variables(), global_step,
            FLAGS.num_distill_steps, num_layers)
    train_op, learning_rate = optimization.create_optimizer(
        terms["total_loss"],
        FLAGS.learning_rate,
        FLAGS.num_distill_steps,
        0,
        FLAGS.use_tpu,
        optimizer_name=FLAGS.optimizer,
        weight_decay_rate=FLAGS.weight_decay_rate,
        end_lr_rate=1.0,
        lr_multipliers=multipliers)
    return terms, train_op, learning_rate


def distillation_train_op(student_logits, teacher_logits, features):
    """Stage-2/3 soft-target MLM loss terms and train op.

    Returns:
      (terms dict with "mlm_loss", "masked_lm_accuracy", "total_loss",
       train_op, learning_rate).
    """
    loss, _ = distill_util.soft_target_mlm_loss(
        student_logits, features["masked_lm_ids"],
        features["masked_lm_weights"], teacher_logits,
        FLAGS.distill_ground_truth_ratio)
    terms = collections.OrderedDict([
        ("mlm_loss", loss),
        ("masked_lm_accuracy",
         distill_util.masked_lm_accuracy(student_logits,
                                         features["masked_lm_ids"],
                                         features["masked_lm_weights"])),
        ("total_loss", loss),
    ])
    train_op, learning_rate = optimization.create_optimizer(
        loss,
        FLAGS.learning_rate,
        FLAGS.num_train_steps,
        FLAGS.num_warmup_steps,
        FLAGS.use_tpu,
        optimizer_name=FLAGS.optimizer,
        weight_decay_rate=FLAGS.weight_decay_rate)
    return terms, train_op, learning_rate


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


def eval_spec(student_logits, features, scaffold_fn):
    """Masked-LM accuracy and (hard-label) loss metrics."""
    loss, per_example = distill_util.soft_target_mlm_loss(
        student_logits, features["masked_lm_ids"],
        features["masked_lm_weights"])

    def metric_fn(per_example_loss, logits, label_ids, label_weights):
        return estimator_util.accuracy_and_loss_metrics(
            "masked_lm", tf.reshape(label_ids, [-1]), logits,
            per_example_loss, tf.reshape(label_weights, [-1]))

    metrics = (metric_fn, [
        per_example, student_logits, features["masked_lm_ids"],
        features["masked_lm_weights"]
    ])
    return tf.estimator.tpu.TPUEstimatorSpec(mode=tf.estimator.ModeKeys.EVAL,
                                             loss=loss,
                                             eval_metrics=metrics,
                                             scaffold_fn=scaffold_fn)


def model_fn_builder(stage, student_config, teacher_config):
    """Returns the TPUEstimator model_fn of `stage`."""

    # pylint: disable=unused-argument
    def model_fn(features, labels, mode, params):
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        student, student_logits, teacher, teacher_logits = build_models(
            stage, features, is_training, student_config, teacher_config,
            FLAGS.use_tpu)
        scaffold_fn = checkpoints.initialize_from_plan(stage.init, FLAGS.use_tpu)
        if not is_training:
            return eval_spec(student_logits, features, scaffold_fn)
        # One snapshot of the step for gates, multipliers and summaries;
        # the optimizer's increment waits for it.
        step = tf.train.get_or_create_global_step().read_value()
        with tf.control_dependencies([step]):
            if stage.layer_wise:
                terms, train_op, learning_rate = layer_wise_train_op(
                    student, teacher, step)
            else:
                terms, train_op, learning_rate = distillation_train_op(
                    student_logits, teacher_logits, features)
        logged = dict(terms, learning_rate=learning_rate)
        host_call = None
        if FLAGS.use_summary:
            summary_dir = os.path.join(
                FLAGS.output_dir, SUMMARY_SUBDIR,
                WARMUP_SUBDIR if stage.layer_wise else "main")
            host_call = summary_host_call(summary_dir, step, logged)
        hooks = []
        if not FLAGS.use_tpu:
            # On TPU the loss lives inside the TPU loop; TPUEstimator logs
            # steps/sec and examples/sec itself, the summaries the terms.
            hooks.append(
                estimator_util.ProgressHook(logged, stage.batch_size,
                                            FLAGS.iterations_per_loop))
        return tf.estimator.tpu.TPUEstimatorSpec(mode=mode,
                                                 loss=terms["total_loss"],
                                                 train_op=train_op,
                                                 host_call=host_call,
                                                 training_hooks=hooks,
                                                 scaffold_fn=scaffold_fn)

    return model_fn


# ---------------------------------------------------------------------------
# Stages.
# ---------------------------------------------------------------------------


def make_estimator(stage, student_config, teacher_config):
    """A TPUEstimator (CPU/GPU fallback) for one stage."""
    run_config = estimator_util.make_run_config(
        FLAGS, stage.model_dir, FLAGS.save_checkpoints_steps,
        tf_random_seed=FLAGS.rand_seed)
    return tf.estimator.tpu.TPUEstimator(
        use_tpu=FLAGS.use_tpu,
        model_fn=model_fn_builder(stage, student_config, teacher_config),
        config=run_config,
        train_batch_size=stage.batch_size,
        eval_batch_size=FLAGS.eval_batch_size)


def train_stage(stage, student_config, teacher_config):
    """Trains `stage` until its model_dir's global step is `max_steps`."""
    done = checkpoints.latest_step(stage.model_dir)
    if done >= stage.max_steps:
        tf.logging.info("Stage %s already finished (step %d >= %d in %s); "
                        "skipping it.", stage.name, done, stage.max_steps,
                        stage.model_dir)
        return
    tf.logging.info(
        "***** Stage %s: steps %d -> %d in %s, batch %d, length %d, "
        "teacher %s, init %s *****", stage.name, done, stage.max_steps,
        stage.model_dir, stage.batch_size, stage.max_seq_length,
        "yes" if stage.with_teacher else "no",
        "%s (%s)" % stage.init if stage.init else "none")
    check_first_record(stage.input_files[0], stage.max_seq_length,
                       FLAGS.max_predictions_per_seq)
    estimator = make_estimator(stage, student_config, teacher_config)
    estimator.train(input_fn=input_fn_builder(stage.input_files,
                                              stage.max_seq_length,
                                              FLAGS.max_predictions_per_seq,
                                              is_training=True),
                    max_steps=stage.max_steps)


def plan_training_stages():
    """The stages this invocation still has to run, in order.

    Returns:
      list of Stage.
    """
    output_dir = FLAGS.output_dir
    warmup_dir = os.path.join(output_dir, WARMUP_SUBDIR)
    main_step = checkpoints.latest_step(output_dir)
    teacher_main = FLAGS.distill_ground_truth_ratio < 1.0
    stages = []
    main_init = None
    if FLAGS.init_checkpoint and main_step == 0:
        main_init = checkpoints.InitPlan(FLAGS.init_checkpoint,
                             checkpoints.InitSource.TEACHER_CHECKPOINT if teacher_main
                             else checkpoints.InitSource.STUDENT_CHECKPOINT)
    if FLAGS.layer_wise_warmup:
        if main_step > 0:
            tf.logging.info("Stage main already began (step %d in %s): "
                            "stage warmup is not run again.", main_step,
                            output_dir)
        else:
            warmup_init = None
            if FLAGS.init_checkpoint:
                warmup_init = checkpoints.InitPlan(
                    FLAGS.init_checkpoint,
                    checkpoints.InitSource.TEACHER_CHECKPOINT)
            stages.append(
                Stage("warmup", warmup_dir,
                      input_files_from_flag("input_file", FLAGS.input_file),
                      FLAGS.max_seq_length, FLAGS.train_batch_size,
                      FLAGS.num_distill_steps, True, True, warmup_init))
            main_init = checkpoints.InitPlan(
                warmup_dir, checkpoints.InitSource.DISTILLATION_CHECKPOINT)
    if FLAGS.first_num_train_steps > 0:
        stages.append(
            Stage("first", output_dir,
                  input_files_from_flag("first_input_file",
                                        FLAGS.first_input_file),
                  FLAGS.first_max_seq_length, FLAGS.first_train_batch_size or
                  FLAGS.train_batch_size, FLAGS.first_num_train_steps, False,
                  teacher_main, main_init))
    stages.append(
        Stage("main", output_dir,
              input_files_from_flag("input_file", FLAGS.input_file),
              FLAGS.max_seq_length, FLAGS.train_batch_size,
              FLAGS.num_train_steps, False, teacher_main, main_init))
    return stages


def run_eval(student_config):
    """Evaluates the newest checkpoint in output_dir; writes the results."""
    if tf.train.latest_checkpoint(FLAGS.output_dir) is None:
        raise ValueError("--do_eval: %s holds no checkpoint to evaluate "
                         "(train first with --do_train)" % FLAGS.output_dir)
    input_files = input_files_from_flag("input_file", FLAGS.input_file)
    check_first_record(input_files[0], FLAGS.max_seq_length,
                       FLAGS.max_predictions_per_seq)
    stage = Stage("eval", FLAGS.output_dir, input_files, FLAGS.max_seq_length,
                  FLAGS.train_batch_size, 0, False, False, None)
    estimator = make_estimator(stage, student_config, None)
    result = estimator.evaluate(input_fn=input_fn_builder(
        input_files, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq,
        is_training=False),
                                steps=FLAGS.max_eval_steps)
    path = os.path.join(FLAGS.output_dir, EVAL_RESULTS_FILE)
    with tf.io.gfile.GFile(path, "w") as writer:
        tf.logging.info("***** Eval results (%s) *****", path)
        for key in sorted(result):
            tf.logging.info("  %s = %s", key, result[key])
            writer.write("%s = %s\n" % (key, result[key]))
    return result


# ---------------------------------------------------------------------------
# Flag checks.
# ---------------------------------------------------------------------------


def load_configs():
    """Reads and cross-checks the student and (if needed) teacher configs.

    Returns:
      (student BertConfig, teacher BertConfig or None).

    Raises:
      ValueError: naming the flag or config field that cannot work.
    """
    student = modeling.BertConfig.from_json_file(FLAGS.bert_config_file)
    lengths = [("max_seq_length", FLAGS.max_seq_length)]
    if FLAGS.first_num_train_steps > 0:
        lengths.append(("first_max_seq_length", FLAGS.first_max_seq_length))
    needs_teacher = (FLAGS.layer_wise_warmup or
                     FLAGS.distill_ground_truth_ratio < 1.0)
    teacher = None
    if needs_teacher:
        if not FLAGS.bert_teacher_config_file:
            raise ValueError(
                "--bert_teacher_config_file is required with "
                "--layer_wise_warmup or --distill_ground_truth_ratio < 1")
        teacher = modeling.BertConfig.from_json_file(
            FLAGS.bert_teacher_config_file)
    for flag_name, length in lengths:
        for config_file, config in ((FLAGS.bert_config_file, student),
                                    (FLAGS.bert_teacher_config_file, teacher)):
            if config is None:
                continue
            try:
                config.check_seq_length(length)
            except ValueError as e:
                raise ValueError("--%s vs %s: %s" %
                                 (flag_name, config_file, e))
    if teacher is not None:
        check_teacher_fits(student, teacher)
    return student, teacher


def check_teacher_fits(student, teacher):
    """Raises unless the teacher can teach this student."""
    pairs = "student %s, teacher %s" % (FLAGS.bert_config_file,
                                        FLAGS.bert_teacher_config_file)
    if student.vocab_size != teacher.vocab_size:
        raise ValueError(
            "vocab_size: student %d != teacher %d (%s); soft targets need "
            "one vocabulary" % (student.vocab_size, teacher.vocab_size,
                                pairs))
    if not FLAGS.layer_wise_warmup:
        return
    if student.num_hidden_layers != teacher.num_hidden_layers:
        raise ValueError(
            "num_hidden_layers: layer-wise transfer pairs student layer l "
            "with teacher layer l, but the student has %d layers and the "
            "teacher %d (%s)" % (student.num_hidden_layers,
                                 teacher.num_hidden_layers, pairs))
    if student.hidden_size != teacher.hidden_size:
        raise ValueError(
            "hidden_size: layer-wise transfer compares hidden states, but "
            "the student's hidden_size is %d and the teacher's %d (%s)" %
            (student.hidden_size, teacher.hidden_size, pairs))
    if (FLAGS.attention_distill_factor and
            student.num_attention_heads != teacher.num_attention_heads):
        raise ValueError(
            "num_attention_heads: attention transfer compares heads one to "
            "one, but the student has %d and the teacher %d (%s); set "
            "--attention_distill_factor=0 or match the heads" %
            (student.num_attention_heads, teacher.num_attention_heads,
             pairs))
    if not any(distill_factors()):
        raise ValueError("--layer_wise_warmup needs at least one non-zero "
                         "*_distill_factor (all are 0)")
    if FLAGS.num_distill_steps % student.num_hidden_layers:
        tf.logging.warning(
            "num_distill_steps %d is not a multiple of %d layers: the last "
            "%d steps have no active layer", FLAGS.num_distill_steps,
            student.num_hidden_layers,
            FLAGS.num_distill_steps % student.num_hidden_layers)


def check_flags():
    """Raises ValueError for flag combinations that cannot run."""
    for name in ("bert_config_file", "output_dir", "input_file"):
        if not getattr(FLAGS, name):
            raise ValueError("--%s is required" % name)
    if not FLAGS.do_train and not FLAGS.do_eval:
        raise ValueError("at least one of --do_train or --do_eval is needed")
    if not 0.0 <= FLAGS.distill_ground_truth_ratio <= 1.0:
        raise ValueError("--distill_ground_truth_ratio: expected a value in "
                         "[0, 1], got %r" % FLAGS.distill_ground_truth_ratio)
    if FLAGS.first_num_train_steps > FLAGS.num_train_steps:
        raise ValueError("--first_num_train_steps (%d) exceeds "
                         "--num_train_steps (%d), which counts it" %
                         (FLAGS.first_num_train_steps, FLAGS.num_train_steps))
    if FLAGS.first_num_train_steps > 0 and not FLAGS.first_input_file:
        raise ValueError("--first_input_file is required with "
                         "--first_num_train_steps > 0")


def check_teacher_checkpoint(stages):
    """A stage that restores a teacher from init_checkpoint needs one."""
    for stage in stages:
        if (stage.init is not None and stage.init.source == checkpoints.InitSource.TEACHER_CHECKPOINT and
                checkpoints.latest_step(stage.model_dir) == 0):
            checkpoints.resolve_checkpoint(stage.init.checkpoint)
        if (stage.with_teacher and stage.init is None and
                checkpoints.latest_step(stage.model_dir) == 0):
            raise ValueError(
                "stage %s distils from a teacher, so --init_checkpoint must "
                "name the teacher's checkpoint" % stage.name)


def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)
    check_flags()
    student_config, teacher_config = load_configs()
    tf.io.gfile.makedirs(FLAGS.output_dir)
    if FLAGS.do_train:
        stages = plan_training_stages()
        check_teacher_checkpoint(stages)
        for stage in stages:
            train_stage(stage, student_config, teacher_config)
    if FLAGS.do_eval:
        run_eval(student_config)


if __name__ == "__main__":
    define_flags()
    app.run(main)
