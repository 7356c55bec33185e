# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The files of a model folder as users download it.

A released MobileBERT folder holds `mobilebert.ckpt.*`, `vocab.txt` and one
config JSON named after the model (`student_base_f2.json`); a teacher folder
(RoBERTa-wwm-ext) holds `bert_model.ckpt.*`, `bert_config.json` and
`vocab.txt`; our own exports hold `model.ckpt.*` (with a `checkpoint` file),
`bert_config.json` and `vocab.txt`.  All of them are accepted as they are:
one checkpoint, one `*.json`, `vocab.txt`.  Anything else (two configs, two
checkpoints without a `checkpoint` state file, none) is an error naming the
folder and what it holds.

Run as a script, it prints the paths as shell assignments for the run
scripts (scripts/model_folder.sh, sourced by finetune/common.sh and
pretrain/run.pretrain.sh), only those of the parts named:

    python pretrain/model_folder.py FOLDER [config] [vocab] [checkpoint]
    BERT_CONFIG='FOLDER/student_base_f2.json'
    VOCAB='FOLDER/vocab.txt'
    INIT_CKPT='FOLDER/mobilebert.ckpt'

and on failure one line on stderr, exit status 2.
"""

import collections
import os
import re
import sys

import tensorflow.compat.v1 as tf

VOCAB_NAME = "vocab.txt"


def folder_files(folder, pattern):
    """Sorted paths in `folder` matching the glob `pattern`."""
    return sorted(tf.io.gfile.glob(os.path.join(folder, pattern)))


def describe(paths):
    """`a, b, c` of the base names, or `none`."""
    return ", ".join(os.path.basename(p) for p in paths) or "none"


def find_config_file(folder):
    """The one config `*.json` of `folder`.

    Raises:
      ValueError: none or several.
    """
    configs = folder_files(folder, "*.json")
    if len(configs) != 1:
        raise ValueError(
            "%s: expected one model config *.json, found %s; pass the config "
            "explicitly (BERT_CONFIG= / --bert_config_file)" %
            (folder, describe(configs) if configs else "none"))
    return configs[0]


def find_vocab_file(folder):
    """`folder/vocab.txt`.

    Raises:
      ValueError: it is missing.
    """
    path = os.path.join(folder, VOCAB_NAME)
    if not tf.io.gfile.exists(path):
        raise ValueError("%s: no %s (found %s); pass the vocabulary "
                         "explicitly (VOCAB= / --vocab_file)" %
                         (folder, VOCAB_NAME, describe(folder_files(
                             folder, "*"))))
    return path


def find_checkpoint(folder):
    """The checkpoint prefix of `folder`: the `checkpoint` state file's
    newest one, else the only `*.index` in it.

    Raises:
      ValueError: no checkpoint, or several without a state file.
    """
    latest = tf.train.latest_checkpoint(folder)
    if latest is not None:
        return latest
    prefixes = [re.sub(r"\.index$", "", p)
                for p in folder_files(folder, "*.index")]
    if len(prefixes) != 1:
        raise ValueError(
            "%s: expected one checkpoint (*.index), found %s; pass the "
            "checkpoint prefix explicitly (INIT_CKPT= / --init_checkpoint)" %
            (folder, describe(p + ".index" for p in prefixes)
             if prefixes else "none"))
    return prefixes[0]


# Shell variable of each part, and the function that finds it.
PARTS = collections.OrderedDict([
    ("config", ("BERT_CONFIG", find_config_file)),
    ("vocab", ("VOCAB", find_vocab_file)),
    ("checkpoint", ("INIT_CKPT", find_checkpoint)),
])


def shell_assignments(folder, parts):
    """`NAME='path'` lines for the requested parts of a model folder.

    Args:
      folder: the model folder.
      parts: keys of PARTS to resolve (the ones the user did not set).

    Raises:
      ValueError: `folder` is not a folder, or a part is missing or
        ambiguous.
    """
    if not tf.io.gfile.isdir(folder):
        raise ValueError("%s: not a folder (expected a model folder with a "
                         "checkpoint, a config *.json and vocab.txt)" % folder)
    lines = []
    for part in parts:
        name, find = PARTS[part]
        lines.append("%s=%s" % (name, shell_quote(find(folder))))
    return "\n".join(lines)


def shell_quote(value):
    """`value` quoted for a POSIX shell."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def main(argv):
    parts = argv[2:] or list(PARTS)
    if len(argv) < 2 or any(p not in PARTS for p in parts):
        print("usage: model_folder.py FOLDER [%s ...]" % "|".join(PARTS),
              file=sys.stderr)
        return 2
    try:
        print(shell_assignments(argv[1], parts))
    except ValueError as error:
        print("model folder: %s" % error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
