# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Everything about reading checkpoints into a graph.

From a path to restored variables, in the order a run uses them:

    resolve_checkpoint       prefix, `.index`/`.data-*` file or directory
    latest_step              global step of a model_dir's newest checkpoint
    match_checkpoint         graph variables -> checkpoint names, shapes
                             checked; three ready-made maps:
        plain_assignment         same name (the teacher excluded)
        teacher_assignment       X -> teacher/X (a plain BERT checkpoint)
        non_encoder_assignment   student embeddings + cls/predictions
    describe_mismatches,     readable reports of what does not fit
    check_shapes_fit
    restore_matches          apply maps (directly or in a TPU scaffold)
    restore_by_name          fine-tuning: same-name restore with checks
    InitPlan, InitSource,    pretraining: how one stage initialises the
    initialize_from_plan     variables its model_dir has no checkpoint for

A variable whose shape differs from the checkpoint's is never mapped: it is
reported by name with both shapes.
"""

import collections
import enum
import re

import tensorflow.compat.v1 as tf

from pretrain import modeling

# Variable scope of the teacher inside a distillation graph; its variables
# are restored from a plain BERT checkpoint as `X -> teacher/X`.
TEACHER_SCOPE = "teacher"
TEACHER_PREFIX = TEACHER_SCOPE + "/"

CheckpointMatch = collections.namedtuple("CheckpointMatch", [
    "assignment_map", "initialized_variable_names", "shape_mismatches",
    "missing"
])


def resolve_checkpoint(path):
    """Accepts a checkpoint prefix, a `.index`/`.data-*` file or a directory.

    Returns:
        The checkpoint prefix (e.g. `dir/model.ckpt-1000`).

    Raises:
        ValueError: when nothing checkpoint-like is found at `path`.
    """
    path = re.sub(r"\.(index|meta|data-\d+-of-\d+)$", "", path)
    if tf.io.gfile.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            candidates = tf.io.gfile.glob(path.rstrip("/") + "/*.index")
            if not candidates:
                raise ValueError("%s: directory holds no checkpoint" % path)
            latest = max(candidates, key=checkpoint_sort_key)[:-len(".index")]
        return latest
    if not tf.io.gfile.exists(path + ".index"):
        raise ValueError("%s: no checkpoint found (expected %s.index)" %
                         (path, path))
    return path


def checkpoint_sort_key(path):
    """Orders checkpoint files by their step suffix (`-1000` after `-200`)."""
    match = re.search(r"-(\d+)\.index$", path)
    return (int(match.group(1)) if match else -1, path)


def latest_step(model_dir):
    """Global step of the newest checkpoint in `model_dir` (0 if none)."""
    latest = tf.train.latest_checkpoint(model_dir)
    if latest is None:
        return 0
    return int(tf.train.load_variable(latest, "global_step"))


def match_checkpoint(tvars, init_checkpoint, to_checkpoint_name):
    """Maps graph variables to checkpoint variables with the same shape.

    Args:
        tvars: graph variables to consider.
        init_checkpoint: checkpoint path (see resolve_checkpoint).
        to_checkpoint_name: function graph name → checkpoint name, or None to
            skip the variable.

    Returns:
        CheckpointMatch: `assignment_map` {checkpoint name: graph name} for
        `tf.train.init_from_checkpoint`, `initialized_variable_names` (graph
        names, also with ":0"), `shape_mismatches` as (graph name, graph shape,
        checkpoint shape), `missing` graph names absent from the checkpoint.
    """
    ckpt_shapes = dict(
        tf.train.list_variables(resolve_checkpoint(init_checkpoint)))
    assignment_map = collections.OrderedDict()
    initialized = {}
    mismatches = []
    missing = []
    for var in tvars:
        name = modeling.variable_name(var)
        ckpt_name = to_checkpoint_name(name)
        if ckpt_name is None:
            continue
        if ckpt_name not in ckpt_shapes:
            missing.append(name)
            continue
        graph_shape = var.shape.as_list()
        if list(ckpt_shapes[ckpt_name]) != graph_shape:
            mismatches.append(
                (name, graph_shape, list(ckpt_shapes[ckpt_name])))
            continue
        assignment_map[ckpt_name] = name
        initialized[name] = 1
        initialized[name + ":0"] = 1
    return CheckpointMatch(assignment_map, initialized, mismatches, missing)


def plain_assignment(tvars, init_checkpoint, exclude_prefix=TEACHER_PREFIX):
    """Same-name map for every variable not under `exclude_prefix`."""

    def to_checkpoint_name(name):
        return None if exclude_prefix and name.startswith(
            exclude_prefix) else name

    return match_checkpoint(tvars, init_checkpoint, to_checkpoint_name)


def teacher_assignment(tvars, init_checkpoint, prefix=TEACHER_PREFIX):
    """Map `X → teacher/X` from a plain BERT checkpoint to the teacher."""

    def to_checkpoint_name(name):
        return name[len(prefix):] if name.startswith(prefix) else None

    return match_checkpoint(tvars, init_checkpoint, to_checkpoint_name)


def non_encoder_assignment(tvars, init_checkpoint, prefix=TEACHER_PREFIX):
    """Student variables outside `bert/encoder` copied from a teacher ckpt.

    These are the word/position/token-type embeddings and `cls/predictions`,
    which a student of the teacher's hidden size can share; variables whose
    name is absent or whose shape differs are reported, not mapped.
    """

    def to_checkpoint_name(name):
        if name.startswith(prefix) or name.startswith("bert/encoder/"):
            return None
        return name

    return match_checkpoint(tvars, init_checkpoint, to_checkpoint_name)


def describe_mismatches(match):
    """Human-readable lines for shape mismatches in a CheckpointMatch."""
    return [
        "%s: graph shape %s, checkpoint shape %s" % m
        for m in match.shape_mismatches
    ]


def check_shapes_fit(match, init_checkpoint):
    """Raises ValueError listing every variable whose shape differs."""
    if match.shape_mismatches:
        raise ValueError(
            "init_checkpoint %s does not fit this model's config:\n  %s" %
            (init_checkpoint, "\n  ".join(describe_mismatches(match))))


def restore_matches(init_checkpoint, matches, use_tpu, tvars):
    """Restores the variables of one or more CheckpointMatch and logs them.

    Args:
      init_checkpoint: checkpoint path.
      matches: list of CheckpointMatch.
      use_tpu: wrap the restore in a scaffold function (TPUEstimator).
      tvars: variables to log.

    Returns:
      scaffold_fn or None.
    """
    path = resolve_checkpoint(init_checkpoint)
    initialized = {}
    for match in matches:
        initialized.update(match.initialized_variable_names)

    def apply_maps():
        for match in matches:
            tf.train.init_from_checkpoint(path, dict(match.assignment_map))

    def tpu_scaffold():
        apply_maps()
        return tf.train.Scaffold()

    if use_tpu:
        scaffold_fn = tpu_scaffold
    else:
        apply_maps()
        scaffold_fn = None
    log_variables(tvars, initialized)
    return scaffold_fn


def restore_by_name(init_checkpoint, use_tpu, tvars=None):
    """Initialises graph variables of the same name from `init_checkpoint`.

    This is how fine-tuning starts from a pretrained model. Variables absent
    from the checkpoint (a new task head) keep their initial values and are
    logged; a variable whose shape differs is an error that lists every such
    name.

    Args:
      init_checkpoint: checkpoint prefix, `.index` file or directory; None
        or "" to train from scratch.
      use_tpu: return a scaffold function for TPUEstimator.
      tvars: variables to restore (default: all trainable ones).

    Returns:
      scaffold_fn or None.

    Raises:
      ValueError: the checkpoint disagrees with the graph, or shares no
        variable with it.
    """
    tvars = tvars or tf.trainable_variables()
    if not init_checkpoint:
        log_variables(tvars, {})
        return None
    match = plain_assignment(tvars, init_checkpoint)
    check_shapes_fit(match, init_checkpoint)
    if not match.assignment_map:
        raise ValueError(
            "init_checkpoint %s shares no variable with the model (missing "
            "e.g. %s)" % (init_checkpoint, ", ".join(match.missing[:5])))
    return restore_matches(init_checkpoint, [match], use_tpu, tvars)


def log_variables(tvars, initialized):
    """Logs each variable, its shape and whether a checkpoint fills it."""
    tf.logging.info("**** Trainable Variables ****")
    for var in tvars:
        note = ", *INIT_FROM_CKPT*" if var.name in initialized else ""
        tf.logging.info("  name = %s, shape = %s%s", var.name, var.shape,
                        note)


class InitSource(enum.Enum):
    """What a pretraining stage's `init_checkpoint` holds."""
    # A plain BERT checkpoint of the teacher: teacher X <- X, and the
    # student's non-encoder variables (embeddings, MLM head) <- same name.
    TEACHER_CHECKPOINT = "teacher checkpoint"
    # The stage-1 (layer-wise transfer) checkpoint: every variable, student
    # and teacher, <- same name.
    DISTILLATION_CHECKPOINT = "distillation checkpoint"
    # Plain MLM (no teacher in the graph): the student <- same name.
    STUDENT_CHECKPOINT = "student checkpoint"


# How one stage initialises the variables its model_dir has no checkpoint
# for: `checkpoint` (a path) read as `source` (an InitSource).
InitPlan = collections.namedtuple("InitPlan", ["checkpoint", "source"])


def check_teacher_match(match, checkpoint):
    """Raises when a teacher variable cannot be restored from `checkpoint`."""
    teacher_missing = [name for name in match.missing
                       if name.startswith(TEACHER_PREFIX)]
    teacher_mismatch = [
        m for m in match.shape_mismatches if m[0].startswith(TEACHER_PREFIX)
    ]
    if teacher_missing or teacher_mismatch:
        lines = ["missing: %s" % n for n in teacher_missing]
        lines += describe_mismatches(
            match._replace(shape_mismatches=teacher_mismatch))
        raise ValueError(
            "checkpoint %s cannot provide %d teacher variable(s) (is "
            "--bert_teacher_config_file the checkpoint's config?):\n  %s" %
            (checkpoint, len(lines), "\n  ".join(lines)))


def report_student_match(match, checkpoint):
    """Logs student variables the checkpoint leaves at their initial value."""
    for line in describe_mismatches(match):
        tf.logging.warning("Not restored from %s (shape differs) %s",
                           checkpoint, line)
    for name in match.missing:
        if not name.startswith(TEACHER_PREFIX):
            tf.logging.info("Not in %s, trained from scratch: %s", checkpoint,
                            name)


def initialize_from_plan(plan, use_tpu):
    """Sets up restoring the graph's variables according to an InitPlan.

    Args:
      plan: InitPlan, or None to start every variable from its initializer.
      use_tpu: return a scaffold function for TPUEstimator.

    Returns:
      scaffold_fn (TPU) or None.

    Raises:
      ValueError: a teacher variable cannot be restored, or (distillation
        checkpoint) a variable's shape differs.
    """
    tvars = tf.trainable_variables()
    if plan is None:
        log_variables(tvars, {})
        return None
    if plan.source == InitSource.STUDENT_CHECKPOINT:
        return restore_by_name(plan.checkpoint, use_tpu, tvars)
    if plan.source == InitSource.TEACHER_CHECKPOINT:
        teacher = teacher_assignment(tvars, plan.checkpoint)
        check_teacher_match(teacher, plan.checkpoint)
        student = non_encoder_assignment(tvars, plan.checkpoint)
        report_student_match(student, plan.checkpoint)
        matches = [teacher, student]
    else:
        match = plain_assignment(tvars, plan.checkpoint, exclude_prefix=None)
        check_teacher_match(match, plan.checkpoint)
        check_shapes_fit(match, plan.checkpoint)
        report_student_match(match, plan.checkpoint)
        matches = [match]
    return restore_matches(plan.checkpoint, matches, use_tpu, tvars)
