# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The stages of MobileBERT pretraining, how a run plans them, and runs them.

MobileBERT (Sun et al., 2020, "MobileBERT: a Compact Task-Agnostic BERT for
Resource-Limited Devices") first transfers the teacher's knowledge layer by
layer (progressive knowledge transfer), then pretrains the student with the
teacher's masked-LM predictions as soft targets (pre-training
distillation).  One run of `run_pretraining.py` has these stages, each run
only if its flags ask for it and its model_dir has not finished it:

  WARMUP  layer-wise knowledge transfer (`--layer_wise_warmup`) for
          `--num_distill_steps` steps in `output_dir/warmup`;
  FIRST   an optional first round of `--first_num_train_steps` steps on
          `--first_input_file` in `output_dir`;
  MAIN    pretraining distillation in `output_dir` until its global step is
          `--num_train_steps` (plain masked LM, without a teacher, when
          `--distill_ground_truth_ratio=1`);
  EVAL    masked-LM accuracy and loss of the newest checkpoint
          (`--do_eval`), written to `output_dir/eval_results.txt`.

Nothing here reads flags: `run_pretraining.main` builds a Recipe and a
DistillSettings from them and passes them in, with the functions that build
a stage's model_fn and input_fn.
"""

import collections
import contextlib
import os

import tensorflow.compat.v1 as tf

from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import modeling

# Stage names (they appear in the log lines "Stage <name>: ...").
WARMUP = "warmup"
FIRST = "first"
MAIN = "main"
EVAL = "eval"

# Where the layer-wise transfer stage keeps its checkpoints, below
# output_dir; and the file --do_eval writes its results to.
WARMUP_SUBDIR = "warmup"
EVAL_RESULTS_FILE = "eval_results.txt"

# The stage settings of one run (the flags of the same names): where the
# stages read and write, their sequence lengths, batch sizes and steps.
Recipe = collections.namedtuple("Recipe", [
    "output_dir", "input_file", "first_input_file", "init_checkpoint",
    "max_seq_length", "first_max_seq_length", "train_batch_size",
    "first_train_batch_size", "layer_wise_warmup", "num_distill_steps",
    "first_num_train_steps", "num_train_steps"
])

# How the student learns from the teacher:
#   factors: distill_util.DistillFactors, the weights of the layer-wise
#     transfer terms (--hidden/attention/beta/gamma_distill_factor);
#   ground_truth_ratio: weight r of the one-hot target in the soft-target
#     masked-LM loss (--distill_ground_truth_ratio; 1.0 = plain MLM);
#   temperature: multiplies the teacher's sequence output before its MLM
#     head (--distill_temperature).
DistillSettings = collections.namedtuple(
    "DistillSettings", ["factors", "ground_truth_ratio", "temperature"])

# One training stage or the evaluation.
#   name: WARMUP, FIRST, MAIN or EVAL.
#   model_dir, input_files, max_seq_length, batch_size: as used; batch_size
#     is the global batch of one update.
#   max_steps: the global step at which the stage is finished.
#   schedule_steps: length of the learning-rate schedule (and, layer-wise,
#     of the progressive transfer phases).
#   layer_wise: the layer-wise transfer loss instead of the soft-target MLM
#     loss.
#   with_teacher: build the teacher under `teacher/`.
#   init: checkpoints.InitPlan, or None.
Stage = collections.namedtuple("Stage", [
    "name", "model_dir", "input_files", "max_seq_length", "batch_size",
    "max_steps", "schedule_steps", "layer_wise", "with_teacher", "init"
])

# ---------------------------------------------------------------------------
# Checks of the recipe and of the models it pairs.
# ---------------------------------------------------------------------------


def teacher_in_distillation(distill):
    """Whether the soft-target stages (FIRST, MAIN) need the teacher."""
    return distill.ground_truth_ratio < 1.0


def needs_teacher(recipe, distill):
    """Whether any stage of the recipe builds the teacher."""
    return recipe.layer_wise_warmup or teacher_in_distillation(distill)


def check_recipe(recipe, distill):
    """Raises ValueError for stage settings that cannot run together."""
    if not 0.0 <= distill.ground_truth_ratio <= 1.0:
        raise ValueError("--distill_ground_truth_ratio: expected a value in "
                         "[0, 1], got %r" % distill.ground_truth_ratio)
    if recipe.first_num_train_steps > recipe.num_train_steps:
        raise ValueError("--first_num_train_steps (%d) exceeds "
                         "--num_train_steps (%d), which counts it" %
                         (recipe.first_num_train_steps,
                          recipe.num_train_steps))
    if recipe.first_num_train_steps > 0 and not recipe.first_input_file:
        raise ValueError("--first_input_file is required with "
                         "--first_num_train_steps > 0")


def load_configs(student_config_file, teacher_config_file, recipe, distill):
    """Reads and cross-checks the student and (if needed) teacher configs.

    Args:
      student_config_file: --bert_config_file.
      teacher_config_file: --bert_teacher_config_file (may be None when no
        stage needs the teacher).
      recipe: Recipe.
      distill: DistillSettings.

    Returns:
      (student BertConfig, teacher BertConfig or None).

    Raises:
      ValueError: naming the flag or config field that cannot work.
    """
    student = modeling.BertConfig.from_json_file(student_config_file)
    teacher = None
    if needs_teacher(recipe, distill):
        if not teacher_config_file:
            raise ValueError(
                "--bert_teacher_config_file is required with "
                "--layer_wise_warmup or --distill_ground_truth_ratio < 1")
        teacher = modeling.BertConfig.from_json_file(teacher_config_file)
    for flag_name, length in sequence_lengths(recipe):
        for config_file, config in ((student_config_file, student),
                                    (teacher_config_file, teacher)):
            if config is None:
                continue
            try:
                config.check_seq_length(length)
            except ValueError as e:
                raise ValueError("--%s vs %s: %s" %
                                 (flag_name, config_file, e))
    if teacher is not None:
        pair = "student %s, teacher %s" % (student_config_file,
                                           teacher_config_file)
        check_teacher_fits(student, teacher, recipe, distill, pair)
    return student, teacher


def sequence_lengths(recipe):
    """(flag name, sequence length) of every stage the recipe trains."""
    lengths = [("max_seq_length", recipe.max_seq_length)]
    if recipe.first_num_train_steps > 0:
        lengths.append(("first_max_seq_length", recipe.first_max_seq_length))
    return lengths


def check_teacher_fits(student, teacher, recipe, distill, pair):
    """Raises ValueError unless the teacher can teach this student.

    Soft targets need one vocabulary; layer-wise transfer pairs student
    layer l with teacher layer l, so it also needs as many layers, the same
    hidden size and (with attention transfer) as many heads.

    Args:
      student: student BertConfig.
      teacher: teacher BertConfig.
      recipe: Recipe.
      distill: DistillSettings.
      pair: the two config files, for the messages.
    """
    if student.vocab_size != teacher.vocab_size:
        raise ValueError(
            "vocab_size: student %d != teacher %d (%s); soft targets need "
            "one vocabulary" % (student.vocab_size, teacher.vocab_size, pair))
    if not recipe.layer_wise_warmup:
        return
    if student.num_hidden_layers != teacher.num_hidden_layers:
        raise ValueError(
            "num_hidden_layers: layer-wise transfer pairs student layer l "
            "with teacher layer l, but the student has %d layers and the "
            "teacher %d (%s)" % (student.num_hidden_layers,
                                 teacher.num_hidden_layers, pair))
    if student.hidden_size != teacher.hidden_size:
        raise ValueError(
            "hidden_size: layer-wise transfer compares hidden states, but "
            "the student's hidden_size is %d and the teacher's %d (%s)" %
            (student.hidden_size, teacher.hidden_size, pair))
    if (distill.factors.attention and
            student.num_attention_heads != teacher.num_attention_heads):
        raise ValueError(
            "num_attention_heads: attention transfer compares heads one to "
            "one, but the student has %d and the teacher %d (%s); set "
            "--attention_distill_factor=0 or match the heads" %
            (student.num_attention_heads, teacher.num_attention_heads, pair))
    if not any(distill.factors):
        raise ValueError("--layer_wise_warmup needs at least one non-zero "
                         "*_distill_factor (all are 0)")
    if recipe.num_distill_steps % student.num_hidden_layers:
        tf.logging.warning(
            "num_distill_steps %d is not a multiple of %d layers: the last "
            "%d steps have no active layer", recipe.num_distill_steps,
            student.num_hidden_layers,
            recipe.num_distill_steps % student.num_hidden_layers)


def check_teacher_checkpoint(stages):
    """Raises ValueError unless every stage that starts a teacher has one.

    A stage that has not begun yet and restores its teacher from
    --init_checkpoint needs that checkpoint to exist; one that distils from
    a teacher needs some checkpoint to start the teacher from.
    """
    for stage in stages:
        if checkpoints.latest_step(stage.model_dir) > 0:
            continue
        if (stage.init is not None and stage.init.source ==
                checkpoints.InitSource.TEACHER_CHECKPOINT):
            checkpoints.resolve_checkpoint(stage.init.checkpoint)
        if stage.with_teacher and stage.init is None:
            raise ValueError(
                "stage %s distils from a teacher, so --init_checkpoint must "
                "name the teacher's checkpoint" % stage.name)


# ---------------------------------------------------------------------------
# Planning.
# ---------------------------------------------------------------------------


def input_files_from_flag(flag_name, value):
    """Expands a comma list of globs; an empty match names the flag.

    Raises:
      ValueError: "--<flag_name>: ..." when a pattern matches no file.
    """
    try:
        return estimator_util.expand_input_files(value)
    except ValueError as e:
        raise ValueError("--%s: %s" % (flag_name, e))


def plan_training_stages(recipe, distill):
    """The stages this run still has to train, in order.

    Once MAIN has begun (output_dir holds a checkpoint past step 0), WARMUP
    is not run again and nothing is initialised from --init_checkpoint.

    Args:
      recipe: Recipe.
      distill: DistillSettings.

    Returns:
      list of Stage.
    """
    main_step = checkpoints.latest_step(recipe.output_dir)
    with_teacher = teacher_in_distillation(distill)
    stages = []
    main_init = None
    if recipe.init_checkpoint and main_step == 0:
        main_init = checkpoints.InitPlan(
            recipe.init_checkpoint,
            checkpoints.InitSource.TEACHER_CHECKPOINT if with_teacher else
            checkpoints.InitSource.STUDENT_CHECKPOINT)
    if recipe.layer_wise_warmup:
        if main_step > 0:
            tf.logging.info("Stage main already began (step %d in %s): "
                            "stage warmup is not run again.", main_step,
                            recipe.output_dir)
        else:
            warmup = warmup_stage(recipe)
            stages.append(warmup)
            main_init = checkpoints.InitPlan(
                warmup.model_dir,
                checkpoints.InitSource.DISTILLATION_CHECKPOINT)
    if recipe.first_num_train_steps > 0:
        stages.append(first_stage(recipe, with_teacher, main_init))
    stages.append(main_stage(recipe, with_teacher, main_init))
    return stages


def warmup_stage(recipe):
    """WARMUP: layer-wise transfer with the teacher, from the teacher's
    checkpoint (when --init_checkpoint is given)."""
    init = None
    if recipe.init_checkpoint:
        init = checkpoints.InitPlan(recipe.init_checkpoint,
                                    checkpoints.InitSource.TEACHER_CHECKPOINT)
    return stage_on_input_file(
        recipe,
        name=WARMUP,
        model_dir=os.path.join(recipe.output_dir, WARMUP_SUBDIR),
        max_steps=recipe.num_distill_steps,
        schedule_steps=recipe.num_distill_steps,
        layer_wise=True,
        with_teacher=True,
        init=init)


def first_stage(recipe, with_teacher, init):
    """FIRST: soft-target distillation on --first_input_file; its steps
    count toward --num_train_steps (one schedule with MAIN)."""
    return Stage(name=FIRST,
                 model_dir=recipe.output_dir,
                 input_files=input_files_from_flag("first_input_file",
                                                   recipe.first_input_file),
                 max_seq_length=recipe.first_max_seq_length,
                 batch_size=(recipe.first_train_batch_size or
                             recipe.train_batch_size),
                 max_steps=recipe.first_num_train_steps,
                 schedule_steps=recipe.num_train_steps,
                 layer_wise=False,
                 with_teacher=with_teacher,
                 init=init)


def main_stage(recipe, with_teacher, init):
    """MAIN: soft-target distillation until step --num_train_steps."""
    return stage_on_input_file(recipe,
                               name=MAIN,
                               model_dir=recipe.output_dir,
                               max_steps=recipe.num_train_steps,
                               schedule_steps=recipe.num_train_steps,
                               layer_wise=False,
                               with_teacher=with_teacher,
                               init=init)


def eval_stage(recipe, with_teacher):
    """EVAL: from output_dir's newest checkpoint, the student (and the
    teacher it was distilled from, when `with_teacher`)."""
    return stage_on_input_file(recipe,
                               name=EVAL,
                               model_dir=recipe.output_dir,
                               max_steps=0,
                               schedule_steps=0,
                               layer_wise=False,
                               with_teacher=with_teacher,
                               init=None)


def checkpoint_has_teacher(checkpoint):
    """Whether `checkpoint` holds variables under the teacher scope."""
    return any(
        name.startswith(checkpoints.TEACHER_PREFIX)
        for name, _ in tf.train.list_variables(checkpoint))


def stage_on_input_file(recipe, **fields):
    """A Stage reading --input_file at --max_seq_length, batches of
    --train_batch_size; `fields` gives the other Stage fields."""
    return Stage(input_files=input_files_from_flag("input_file",
                                                   recipe.input_file),
                 max_seq_length=recipe.max_seq_length,
                 batch_size=recipe.train_batch_size,
                 **fields)


# ---------------------------------------------------------------------------
# Running.
#
# `build_model_fn(stage)` returns the stage's model_fn and
# `build_input_fn(stage, is_training)` its input_fn (checking the records
# first); run_pretraining passes them in.
# ---------------------------------------------------------------------------


def run_training_stages(recipe, distill, build_model_fn, build_input_fn,
                        options):
    """Plans the stages, checks their teacher checkpoint, trains each."""
    stages = plan_training_stages(recipe, distill)
    check_teacher_checkpoint(stages)
    for stage in stages:
        train_stage(stage, build_model_fn, build_input_fn, options)


def train_stage(stage, build_model_fn, build_input_fn, options):
    """Trains `stage` until its model_dir's global step is `max_steps`.

    A stage whose model_dir already reached `max_steps` is skipped (and the
    skip logged), so re-running a command resumes where it stopped.

    Args:
      stage: Stage.
      build_model_fn: function(stage) -> model_fn.
      build_input_fn: function(stage, is_training) -> input_fn.
      options: estimator_util.RunOptions.
    """
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
        "yes" if stage.with_teacher else "no", describe_init(stage.init))
    input_fn = build_input_fn(stage, is_training=True)
    estimator = estimator_util.make_estimator(build_model_fn(stage),
                                              stage.model_dir, options,
                                              stage.batch_size)
    with damaged_records_named(stage):
        estimator.train(input_fn=input_fn, max_steps=stage.max_steps)


@contextlib.contextmanager
def damaged_records_named(stage):
    """Turns a DataLossError of the input pipeline into a ValueError that
    names the damaged file, its flag and the last good record.

    Only the first record of each file is checked before training (reading
    every shard in full up front would take long on a real corpus); a file
    truncated later fails inside TensorFlow's reader, whose message names
    no file.  Then the stage's files are scanned to find it.
    """
    try:
        yield
    except tf.errors.DataLossError as error:
        flag = "first_input_file" if stage.name == FIRST else "input_file"
        tf.logging.info("Reading failed (%s); scanning the %d input files "
                        "for the damaged one.", error.message,
                        len(stage.input_files))
        for path in stage.input_files:
            good = complete_records(path)
            if good is not None:
                raise ValueError(
                    "%s (--%s): truncated or corrupt after its first %d "
                    "records; rewrite it" % (path, flag, good))
        raise


def complete_records(path):
    """None when every record of the TFRecord file `path` reads back,
    else the number of records before the damage."""
    count = 0
    try:
        for _ in tf.io.tf_record_iterator(path):
            count += 1
    except tf.errors.DataLossError:
        return count
    return None


def describe_init(plan):
    """`checkpoint (source)` of an InitPlan, or "none"."""
    if plan is None:
        return "none"
    return "%s (%s)" % (plan.checkpoint, plan.source.value)


def run_eval(recipe, distill, build_model_fn, build_input_fn, options,
             eval_batch_size, max_eval_steps):
    """Evaluates output_dir's newest checkpoint; writes EVAL_RESULTS_FILE.

    With a teacher in the distillation (r < 1) and in the checkpoint, the
    results hold the soft-target `distill_loss` (also the estimator's
    `loss`, as published) beside the hard-label `masked_lm_loss`.

    Args:
      recipe: Recipe.
      distill: DistillSettings.
      build_model_fn: function(stage) -> model_fn.
      build_input_fn: function(stage, is_training) -> input_fn.
      options: estimator_util.RunOptions.
      eval_batch_size: --eval_batch_size.
      max_eval_steps: --max_eval_steps, the batches evaluated.

    Returns:
      dict of masked_lm_accuracy, masked_lm_loss, loss, global_step (and
      distill_loss).

    Raises:
      ValueError: output_dir holds no checkpoint.
    """
    latest = tf.train.latest_checkpoint(recipe.output_dir)
    if latest is None:
        raise ValueError("--do_eval: %s holds no checkpoint to evaluate "
                         "(train first with --do_train)" % recipe.output_dir)
    with_teacher = teacher_in_distillation(distill)
    if with_teacher and not checkpoint_has_teacher(latest):
        tf.logging.warning(
            "--do_eval: %s holds no teacher variables: reporting the "
            "hard-label masked-LM loss only, no distill_loss.", latest)
        with_teacher = False
    stage = eval_stage(recipe, with_teacher)
    input_fn = build_input_fn(stage, is_training=False)
    estimator = estimator_util.make_estimator(build_model_fn(stage),
                                              stage.model_dir,
                                              options,
                                              stage.batch_size,
                                              eval_batch_size=eval_batch_size)
    with damaged_records_named(stage):
        result = estimator.evaluate(input_fn=input_fn, steps=max_eval_steps)
    write_eval_results(os.path.join(stage.model_dir, EVAL_RESULTS_FILE),
                       result)
    return result


def write_eval_results(path, result):
    """Logs `result` and writes it to `path` as sorted `key = value` lines."""
    with tf.io.gfile.GFile(path, "w") as writer:
        tf.logging.info("***** Eval results (%s) *****", path)
        for key in sorted(result):
            tf.logging.info("  %s = %s", key, result[key])
            writer.write("%s = %s\n" % (key, result[key]))
