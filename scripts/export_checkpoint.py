# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Writes a release folder: the model's variables only, config and vocab.

A pretraining checkpoint carries much more than the model: the teacher
(`teacher/...`), two Adam moments per trainable variable (`<var>/adam_m`,
`<var>/adam_v`), `global_step` and whatever else the distillation kept.
This tool keeps exactly the variables that the graph for the config creates
(`bert/...`, `cls/predictions/...`) plus the fine-tuned task heads when
present (`output_weights`/`output_bias` of run_classifier.py,
`cls/squad/output_weights`/`output_bias` of run_squad.py,
`cls/ner/output_weights`/`output_bias` of run_ner.py), checks their
shapes, and writes

    OUT/model.ckpt.index, OUT/model.ckpt.data-*, OUT/checkpoint,
    OUT/bert_config.json, OUT/vocab.txt

Usage:
    python scripts/export_checkpoint.py --input output/pretrain \\
        --bert_config_file config/student_base_f2.json \\
        --vocab_file chinese_vocab.txt \\
        --output_dir release/mobilebert_base_f2

`--input` is a checkpoint prefix, a `.index`/`.data-*` file, or a directory
(its newest checkpoint). A directory in the published layout (one
checkpoint such as `mobilebert.ckpt*`, one config `*.json`, `vocab.txt`)
needs neither `--bert_config_file` nor `--vocab_file`.
"""

import collections
import json
import os
import sys

from absl import app
from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pretrain import checkpoints
from pretrain import file_io
from pretrain import model_folder
from pretrain import modeling
from pretrain import tokenization

RELEASE_CHECKPOINT = "model.ckpt"
RELEASE_CONFIG = "bert_config.json"
RELEASE_VOCAB = model_folder.VOCAB_NAME
MLM_HEAD_PREFIX = "cls/predictions/"
CLASSIFIER_HEAD = ("output_weights", "output_bias")
SQUAD_HEAD = ("cls/squad/output_weights", "cls/squad/output_bias")
NER_HEAD = ("cls/ner/output_weights", "cls/ner/output_bias")
# A fine-tuned tagger's tags, saved beside its checkpoints by run_ner.py.
LABEL_LIST = "label_list.txt"

# Groups of dropped variables, in the order they are reported.
DROP_TEACHER = "teacher (teacher/...)"
DROP_OPTIMIZER = "optimizer slots (adam_m / adam_v)"
DROP_STEP = "global_step"
DROP_OTHER = "not in the model graph (distillation-only and others)"
DROP_GROUPS = (DROP_TEACHER, DROP_OPTIMIZER, DROP_STEP, DROP_OTHER)

ReleaseInputs = collections.namedtuple(
    "ReleaseInputs", ["checkpoint", "bert_config_file", "vocab_file"])
Selection = collections.namedtuple("Selection",
                                   ["kept", "dropped", "heads"])


def build_model_graph(bert_config):
    """Builds, in the current graph, what a release folder holds: the
    encoder and the masked-LM head of `bert_config` (a
    modeling.BertConfig)."""
    input_ids = tf.placeholder(tf.int32, [1, 2])  # [B, S]
    positions = tf.placeholder(tf.int32, [1, 1])  # [B, P]
    model = modeling.BertModel(bert_config,
                               is_training=False,
                               input_ids=input_ids)
    modeling.masked_lm_logits(bert_config, model.get_sequence_output(),
                              model.get_embedding_table(), positions)


def model_variable_shapes(bert_config):
    """Names and shapes of the variables the config's graph creates.

    Builds, without running it, the encoder and the masked-LM head in a
    fresh graph (cheap even for the large configs: nothing is allocated).

    Args:
      bert_config: modeling.BertConfig.

    Returns:
      OrderedDict {variable name: shape list}.
    """
    with tf.Graph().as_default():
        build_model_graph(bert_config)
        return collections.OrderedDict(
            (modeling.variable_name(v), v.shape.as_list())
            for v in tf.global_variables())


def save_random_model(bert_config, prefix, state_file=True):
    """Saves a randomly initialised encoder and masked-LM head at `prefix`
    (a stand-in for released weights where none can be downloaded).

    Args:
      bert_config: modeling.BertConfig.
      prefix: checkpoint prefix to write.
      state_file: also write the `checkpoint` state file and the meta
        graph, as a training run does (False: only the variables, as a
        published model folder holds them).
    """
    with tf.Graph().as_default():
        build_model_graph(bert_config)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().save(sess, prefix, write_meta_graph=state_file,
                                  write_state=state_file)


def task_head_shapes(ckpt_shapes, hidden_size):
    """Fine-tuned task heads found in a checkpoint, with their shapes checked.

    Args:
      ckpt_shapes: {name: shape} of the checkpoint.
      hidden_size: the config's hidden_size.

    Returns:
      OrderedDict {head name ("classifier" | "squad" | "ner"): {variable:
      shape}}.

    Raises:
      ValueError: a head is incomplete or its shapes do not fit the config.
    """
    heads = collections.OrderedDict()
    for head, (weights, bias) in (("classifier", CLASSIFIER_HEAD),
                                  ("squad", SQUAD_HEAD),
                                  ("ner", NER_HEAD)):
        present = [n for n in (weights, bias) if n in ckpt_shapes]
        if not present:
            continue
        if len(present) == 1:
            raise ValueError("%s head: the checkpoint has %s but not %s" %
                             (head, present[0],
                              bias if present[0] == weights else weights))
        weights_shape = list(ckpt_shapes[weights])
        bias_shape = list(ckpt_shapes[bias])
        num_outputs = 2 if head == "squad" else weights_shape[0]
        if (weights_shape != [num_outputs, hidden_size] or
                bias_shape != [num_outputs]):
            raise ValueError(
                "%s head: expected %s [%s, %d] and %s [%s], got %s and %s" %
                (head, weights, num_outputs, hidden_size, bias, num_outputs,
                 weights_shape, bias_shape))
        heads[head] = collections.OrderedDict([(weights, weights_shape),
                                               (bias, bias_shape)])
    return heads


def drop_group(name):
    """The report group of a variable that is not exported."""
    if name.startswith(checkpoints.TEACHER_PREFIX):
        return DROP_TEACHER
    if name.endswith("/adam_m") or name.endswith("/adam_v"):
        return DROP_OPTIMIZER
    if name == "global_step":
        return DROP_STEP
    return DROP_OTHER


def listed_problems(headline, sections):
    """An error message: `headline`, then each non-empty section's items.

    Args:
      headline: the first line.
      sections: (title, items) pairs; a section reads "Title (N):" and
        one indented line per item.
    """
    lines = [headline]
    for title, items in sections:
        if items:
            lines.append("%s (%d):" % (title, len(items)))
            lines.extend("  " + item for item in items)
    return "\n".join(lines)


def select_model_variables(ckpt_shapes, bert_config, checkpoint=""):
    """Splits checkpoint variables into the model's and the rest.

    Every encoder variable of the config's graph must be present with the
    graph's shape. The masked-LM head (`cls/predictions/...`) is all or
    nothing: fine-tuned checkpoints do not carry it.

    Args:
      ckpt_shapes: {name: shape} of the checkpoint.
      bert_config: modeling.BertConfig.
      checkpoint: checkpoint path, for error messages.

    Returns:
      Selection(kept: OrderedDict {name: shape} in graph order, heads last;
      dropped: OrderedDict {group: [names]}; heads: list of head names
      among "mlm", "classifier", "squad", "ner").

    Raises:
      ValueError: listing every missing or mis-shaped variable.
    """
    graph_shapes = model_variable_shapes(bert_config)
    has_mlm = any(n.startswith(MLM_HEAD_PREFIX) for n in ckpt_shapes)
    missing, mismatched = [], []
    kept = collections.OrderedDict()
    for name, shape in graph_shapes.items():
        if name.startswith(MLM_HEAD_PREFIX) and not has_mlm:
            continue
        if name not in ckpt_shapes:
            missing.append(name)
        elif list(ckpt_shapes[name]) != shape:
            mismatched.append("%s: config %s, checkpoint %s" %
                              (name, shape, list(ckpt_shapes[name])))
        else:
            kept[name] = shape
    if missing or mismatched:
        raise ValueError(listed_problems(
            "%s does not hold the model of this config." % checkpoint,
            [("Missing", missing), ("Shape mismatches", mismatched)]))

    heads = ["mlm"] if has_mlm else []
    for head, shapes in task_head_shapes(ckpt_shapes,
                                         bert_config.hidden_size).items():
        heads.append(head)
        kept.update(shapes)

    dropped = collections.OrderedDict((g, []) for g in DROP_GROUPS)
    for name in sorted(ckpt_shapes):
        if name not in kept:
            dropped[drop_group(name)].append(name)
    return Selection(kept, dropped, heads)


def find_release_inputs(input_path, bert_config_file=None, vocab_file=None):
    """Resolves the checkpoint, config and vocabulary of an export/convert.

    Args:
      input_path: checkpoint prefix, `.index`/`.data-*` file or directory.
      bert_config_file: explicit config, or None to look next to the
        checkpoint.
      vocab_file: explicit vocabulary, or None to look next to the
        checkpoint.

    Returns:
      ReleaseInputs(checkpoint prefix, config path, vocab path).

    Raises:
      ValueError: something cannot be found; the message names the flag.
    """
    checkpoint = checkpoints.resolve_checkpoint(input_path)
    directory = (input_path if tf.io.gfile.isdir(input_path) else
                 os.path.dirname(checkpoint))
    bert_config_file = (bert_config_file or
                        model_folder.find_config_file(directory))
    vocab_file = vocab_file or model_folder.find_vocab_file(directory)
    return ReleaseInputs(checkpoint, bert_config_file, vocab_file)


def check_vocab_size(vocab_file, bert_config, bert_config_file):
    """Raises ValueError unless the vocabulary fits the config."""
    vocab_size = len(tokenization.load_vocab(vocab_file))
    if vocab_size != bert_config.vocab_size:
        raise ValueError(
            "%s has %d tokens but %s says vocab_size %d" %
            (vocab_file, vocab_size, bert_config_file, bert_config.vocab_size))


def checkpoint_files_size(prefix):
    """Bytes taken by the files of a checkpoint (`prefix.*`)."""
    return sum(
        tf.io.gfile.stat(f).length for f in tf.io.gfile.glob(prefix + ".*"))


def write_checkpoint(reader, names, output_prefix):
    """Saves the variables `names` read from `reader` under the same names.

    Variables are loaded one at a time through feeds, so the graph stays
    small whatever the model size.

    Args:
      reader: tf.train.NewCheckpointReader of the source checkpoint.
      names: variable names to copy.
      output_prefix: prefix of the new checkpoint.
    """
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    with tf.Graph().as_default():
        variables = [
            tf.get_variable(name,
                            shape=shapes[name],
                            dtype=dtypes[name],
                            initializer=tf.zeros_initializer(),
                            use_resource=False) for name in names
        ]
        saver = tf.train.Saver(variables)
        with tf.Session() as session:
            for name, variable in zip(names, variables):
                variable.load(reader.get_tensor(name), session)
            saver.save(session, output_prefix, write_meta_graph=False)


def copy_file(source, destination):
    """Copies bytes (not permissions: sources may be read-only)."""
    with tf.io.gfile.GFile(source, "rb") as reader:
        data = reader.read()
    with tf.io.gfile.GFile(destination, "wb") as writer:
        writer.write(data)


def format_size(num_bytes):
    """Bytes in MB with one decimal (1 MB = 10^6 bytes)."""
    return "%.1f MB" % (num_bytes / 1e6)


def dropped_report(dropped, ckpt_shapes):
    """Lines listing what was dropped, grouped, with counts and names."""
    lines = []
    for group, names in dropped.items():
        if not names:
            continue
        params = sum(int(np.prod(ckpt_shapes[n])) for n in names)
        lines.append("Dropped %s: %d variables, %d values" %
                     (group, len(names), params))
        lines.extend("    " + n for n in names)
    if not lines:
        lines.append("Dropped nothing: the checkpoint held only the model.")
    return lines


def export_release(inputs, output_dir):
    """Writes the release folder and returns a summary dict.

    Args:
      inputs: ReleaseInputs.
      output_dir: destination folder (created).

    Returns:
      dict with `checkpoint` (new prefix), `kept` (names), `dropped`
      ({group: names}), `heads`, `size_before`, `size_after` (bytes),
      `report` (printable lines).
    """
    bert_config = modeling.BertConfig.from_json_file(inputs.bert_config_file)
    check_vocab_size(inputs.vocab_file, bert_config, inputs.bert_config_file)
    reader = tf.train.NewCheckpointReader(inputs.checkpoint)
    ckpt_shapes = reader.get_variable_to_shape_map()
    selection = select_model_variables(ckpt_shapes, bert_config,
                                       inputs.checkpoint)

    tf.io.gfile.makedirs(output_dir)
    output_prefix = os.path.join(output_dir, RELEASE_CHECKPOINT)
    write_checkpoint(reader, list(selection.kept), output_prefix)
    copy_file(inputs.bert_config_file,
              os.path.join(output_dir, RELEASE_CONFIG))
    copy_file(inputs.vocab_file, os.path.join(output_dir, RELEASE_VOCAB))
    label_list = os.path.join(os.path.dirname(inputs.checkpoint), LABEL_LIST)
    if "ner" in selection.heads and tf.io.gfile.exists(label_list):
        copy_file(label_list, os.path.join(output_dir, LABEL_LIST))

    size_before = checkpoint_files_size(inputs.checkpoint)
    size_after = checkpoint_files_size(output_prefix)
    kept_params = sum(int(np.prod(s)) for s in selection.kept.values())
    report = ["Read %s (%d variables)" % (inputs.checkpoint, len(ckpt_shapes))]
    report += dropped_report(selection.dropped, ckpt_shapes)
    report += [
        "Kept %d variables, %d parameters; heads: %s" %
        (len(selection.kept), kept_params, ", ".join(selection.heads) or
         "none (encoder only)"),
        "Size before: %s (%s.*)" % (format_size(size_before),
                                    inputs.checkpoint),
        "Size after:  %s (%s.*)" % (format_size(size_after), output_prefix),
        "Wrote %s, %s, %s" % (output_prefix, RELEASE_CONFIG, RELEASE_VOCAB),
    ]
    return {
        "checkpoint": output_prefix,
        "kept": list(selection.kept),
        "dropped": selection.dropped,
        "heads": selection.heads,
        "size_before": size_before,
        "size_after": size_after,
        "report": report,
    }


def define_flags():
    """Command-line flags of this tool."""
    flags.DEFINE_string(
        "input", None, "Checkpoint prefix, .index file, or a directory "
        "(newest checkpoint; or the published layout with its own config "
        "and vocab.txt).")
    flags.DEFINE_string(
        "bert_config_file", None,
        "Model config JSON. Default: bert_config.json or the only *.json "
        "next to the checkpoint.")
    flags.DEFINE_string(
        "vocab_file", None,
        "Vocabulary. Default: vocab.txt next to the checkpoint.")
    flags.DEFINE_string("output_dir", None, "Release folder to write.")
    flags.mark_flags_as_required(["input", "output_dir"])


def main(_):
    flags_obj = flags.FLAGS
    inputs = find_release_inputs(flags_obj.input, flags_obj.bert_config_file,
                                 flags_obj.vocab_file)
    summary = export_release(inputs, flags_obj.output_dir)
    print("\n".join(summary["report"]))
    print(json.dumps({
        "size_before": summary["size_before"],
        "size_after": summary["size_after"],
        "kept": len(summary["kept"]),
        "dropped": {g: len(n) for g, n in summary["dropped"].items()},
    }))


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
