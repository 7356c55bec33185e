# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Converts a Hugging Face transformers folder into a release folder.

    python scripts/convert_from_pytorch.py \\
        --input_dir hf/chinese-roberta-wwm-ext \\
        --output_dir release/roberta_wwm_ext

The opposite of convert_to_pytorch.py, with the same name and config
mapping (transformers_format.py). The input is a `save_pretrained` folder:

    config.json     model_type "bert" (BERT, RoBERTa-wwm, MacBERT: the
                    Bert... classes) or "mobilebert"
    weights         model.safetensors (read without torch, by the
                    `safetensors` library's NumPy API) or
                    pytorch_model.bin (read with torch: here when it is
                    importable, otherwise by --torch_python, the modern
                    stack's .venv-tf2), or their sharded *.index.json forms
    vocab.txt

The output is the released-folder layout that every run script accepts:

    teacher (bert)          bert_model.ckpt.*, bert_config.json, vocab.txt
    student (mobilebert)    mobilebert.ckpt.*, MODEL_NAME.json, vocab.txt

The checkpoint holds exactly the variables our graph for the config creates
(from export_checkpoint.model_variable_shapes) plus the heads the
model has: `cls.predictions` (masked-LM head) -> `cls/predictions`,
`classifier` -> `output_weights`/`output_bias` (`cls/ner/...` for a
`...ForTokenClassification`, whose tags, `id2label`, are also written as
`label_list.txt`), `qa_outputs` -> `cls/squad/...`. Reported and left
out: the next-sentence head (`cls.seq_relationship`, which the Chinese
recipe never trains), the tied copies of the word embeddings and MLM bias
(checked to be equal), position id buffers, MobileBERT's empty extra
output weights (E = H) and bottleneck tensors transformers itself never
uses. Any other tensor is an error. A
model without a pooler (`...ForMaskedLM`) gets a freshly initialised one,
as transformers gives it when such a model is loaded into `...Model`.

Every config field that changes what the model computes is checked
(transformers_format.config_from_hf): transformers' exact-erf "gelu" is
converted to our tanh GELU with a warning that states the difference;
layer-norm epsilons, position embeddings, normalization types or bottleneck
settings this project cannot compute the same way are refused by name.

`--compare_npz FILE` then runs the converted model on the inputs of FILE
(written by `scripts/verify_pytorch.py hf_outputs` in the PyTorch
environment) and compares every hidden state and logit with transformers'
(exit status 1 beyond --atol).
"""

import collections
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

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

from pretrain import file_io
from pretrain import modeling
from scripts import export_checkpoint
from scripts import transformers_format

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PYTHON = os.path.join(REPO, ".venv-tf2", "bin", "python")
PYTORCH_BIN_TOOL = os.path.join(REPO, "scripts", "pytorch_bin.py")
HF_CONFIG = "config.json"
# Weight files in the order they are looked for.
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json",
                "pytorch_model.bin", "pytorch_model.bin.index.json")
# Released-folder names: (checkpoint prefix, config file or None for
# "<model name>.json").
RELEASE_LAYOUT = {
    "bert": ("bert_model.ckpt", export_checkpoint.RELEASE_CONFIG),
    "mobilebert": ("mobilebert.ckpt", None),
}
# The task heads' transformers tensors (our names: FIXED_NAMES).
HEAD_TENSORS = ("classifier.weight", "classifier.bias", "qa_outputs.weight",
                "qa_outputs.bias")
MLM_BIAS = "cls.predictions.bias"
# Tensors of transformers' models that are copies of others (tied).
TIED_COPIES = collections.OrderedDict([
    ("cls.predictions.decoder.weight", "embeddings.word_embeddings.weight"),
    ("cls.predictions.decoder.bias", MLM_BIAS),
])
NSP_PREFIX = "cls.seq_relationship."
POOLER_PREFIX = "bert/pooler/"

DROP_NSP = "next-sentence head (cls.seq_relationship)"
DROP_TIED = "tied copies (checked equal to what they copy)"
DROP_BUFFERS = "position/token-type id buffers"
DROP_EMPTY = "empty tensors (MobileBERT's extra output weights, E = H)"
DROP_UNUSED = "unused by transformers (bottleneck.attention)"
DROP_GROUPS = (DROP_NSP, DROP_TIED, DROP_BUFFERS, DROP_EMPTY, DROP_UNUSED)

Plan = collections.namedtuple("Plan", ["sources", "fresh", "heads",
                                       "dropped"])


class ShardedTensors(collections.abc.Mapping):
    """One mapping over the tensors of several shards."""

    def __init__(self, shards):
        """`shards`: list of mappings {name: array}; names must not repeat."""
        self._owner = collections.OrderedDict()
        for shard in shards:
            for name in shard:
                self._owner[name] = shard

    def __getitem__(self, name):
        return self._owner[name][name]

    def __iter__(self):
        return iter(self._owner)

    def __len__(self):
        return len(self._owner)


class ArrayReader(object):
    """The part of a CheckpointReader that export_checkpoint writes from."""

    def __init__(self, arrays):
        self._arrays = arrays

    def get_variable_to_dtype_map(self):
        return {n: tf.as_dtype(a.dtype) for n, a in self._arrays.items()}

    def get_variable_to_shape_map(self):
        return {n: list(a.shape) for n, a in self._arrays.items()}

    def get_tensor(self, name):
        return self._arrays[name]


# ---------------------------------------------------------------------------
# Reading the transformers folder.
# ---------------------------------------------------------------------------


def token_classifier_tags(hf_config_path):
    """The tags (id2label, in id order) of a `...ForTokenClassification`
    config.json, or None for any other architecture."""
    with tf.io.gfile.GFile(hf_config_path, "r") as reader:
        hf_json = json.loads(reader.read())
    if not any(a.endswith("ForTokenClassification")
               for a in hf_json.get("architectures") or ()):
        return None
    id2label = hf_json.get("id2label") or {}
    return [id2label[k] for k in sorted(id2label, key=int)]


def read_hf_config(input_dir):
    """(model type, our config fields, warnings, config.json path)."""
    path = os.path.join(input_dir, HF_CONFIG)
    if not tf.io.gfile.exists(path):
        raise ValueError("%s: no %s (expected a transformers "
                         "save_pretrained folder)" % (input_dir, HF_CONFIG))
    with tf.io.gfile.GFile(path, "r") as reader:
        try:
            hf_json = json.loads(reader.read())
        except ValueError as e:
            raise ValueError("%s: not valid JSON (%s)" % (path, e))
    kind, ours, warnings = transformers_format.config_from_hf(hf_json, path)
    return kind, ours, warnings, path


def read_pytorch_bin(path, torch_python, work_dir):
    """Tensors of a pytorch_model.bin: with torch here, or through it."""
    if importlib.util.find_spec("torch") is not None:
        from scripts import pytorch_bin  # pylint: disable=g-import-not-at-top
        return pytorch_bin.load_state_dict(path)
    if not os.path.exists(torch_python):
        raise ValueError(
            "%s: reading pytorch_model.bin needs PyTorch; this Python has "
            "none and --torch_python %s does not exist (build it with "
            "`STACK=tf2 bash scripts/setup_env.sh`, or convert the folder "
            "to model.safetensors)" % (path, torch_python))
    converted = os.path.join(work_dir,
                             os.path.basename(path) + ".safetensors")
    result = subprocess.run([torch_python, PYTORCH_BIN_TOOL, path, converted],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, check=False)
    if result.returncode != 0:
        raise ValueError("%s: %s could not read it:\n%s" %
                         (path, torch_python, result.stderr[-3000:]))
    return transformers_format.SafetensorsFile(converted)


def read_weights(input_dir, torch_python, work_dir):
    """The folder's tensors as a mapping {name: array}, and the file read.

    Raises:
      ValueError: naming the folder, when it has none of WEIGHT_FILES.
    """
    for name in WEIGHT_FILES:
        path = os.path.join(input_dir, name)
        if not tf.io.gfile.exists(path):
            continue
        if name.endswith(".index.json"):
            with tf.io.gfile.GFile(path, "r") as reader:
                weight_map = json.load(reader)["weight_map"]
            files = sorted(set(weight_map.values()))
        else:
            files = [name]
        shards = []
        for shard in files:
            shard_path = os.path.join(input_dir, shard)
            if shard_path.endswith(".safetensors"):
                shards.append(transformers_format.SafetensorsFile(shard_path))
            else:
                shards.append(read_pytorch_bin(shard_path, torch_python,
                                               work_dir))
        return ShardedTensors(shards), path
    raise ValueError("%s: no weights; expected one of %s" %
                     (input_dir, ", ".join(WEIGHT_FILES)))


def canonical_names(names, kind):
    """{transformers' current name: name in the file} for a state dict.

    Base models saved on their own (`BertModel`) lack the `bert.` /
    `mobilebert.` prefix, and older files call LayerNorm weights
    gamma/beta; both are named as transformers names them today.
    """
    heads = ("cls.", "classifier.", "qa_outputs.")
    unprefixed = not any(n.startswith(kind + ".") for n in names)
    canonical = collections.OrderedDict()
    for name in names:
        new = name
        if unprefixed and not name.startswith(heads):
            new = kind + "." + name
        new = re.sub(r"(LayerNorm)\.gamma$", r"\1.weight", new)
        new = re.sub(r"(LayerNorm)\.beta$", r"\1.bias", new)
        canonical[new] = name
    return canonical


# ---------------------------------------------------------------------------
# Planning: every variable of our graph from one transformers tensor.
# ---------------------------------------------------------------------------


def head_shapes(tensors, names, hidden_size, token_classifier=False):
    """Task heads of the transformers model, checked as export does.

    Args:
      token_classifier: the model is a `...ForTokenClassification`: its
        `classifier` is our `cls/ner` head.

    Returns:
      OrderedDict {head: {TF name: shape}} for "classifier" / "squad" /
      "ner".
    """
    other = (export_checkpoint.CLASSIFIER_HEAD if token_classifier else
             export_checkpoint.NER_HEAD)
    tf_names = {hf: ours for ours, (hf, _) in
                transformers_format.FIXED_NAMES.items() if ours not in other}
    tf_shapes = {tf_names[hf]: list(tensors[names[hf]].shape)
                 for hf in HEAD_TENSORS if hf in names}
    heads = export_checkpoint.task_head_shapes(tf_shapes, hidden_size)
    if len(heads) > 1:
        raise ValueError("the model has both a classification and a span "
                         "(qa_outputs) head; convert one task at a time")
    return heads


def drop_group(name, kind, bert_config):
    """The report group of a transformers tensor we leave out, or None."""
    if name.startswith(NSP_PREFIX):
        return DROP_NSP
    if name in TIED_COPIES:
        return DROP_TIED
    if re.match(r"^%s\.embeddings\.(position|token_type)_ids$" % kind, name):
        return DROP_BUFFERS
    if (name == transformers_format.FIXED_NAMES[
            "cls/predictions/extra_output_weights"][0] and
            bert_config.embedding_size == bert_config.hidden_size):
        return DROP_EMPTY
    if (".bottleneck.attention." in name and
            bert_config.use_bottleneck_attention):
        return DROP_UNUSED
    return None


@functools.lru_cache(maxsize=8)
def graph_variable_shapes(config_json):
    """export_checkpoint.model_variable_shapes of a config given as JSON.

    Cached: converting one model from several weight files builds its
    graph once.
    """
    return export_checkpoint.model_variable_shapes(
        modeling.BertConfig.from_dict(json.loads(config_json)))


def plan_variables(bert_config, kind, tensors, names,
                   token_classifier=False):
    """Which transformers tensor becomes which of our variables.

    Args:
      bert_config: our modeling.BertConfig.
      kind: "bert" or "mobilebert".
      tensors: mapping {file name: array}.
      names: canonical_names(tensors, kind).
      token_classifier: see head_shapes.

    Returns:
      Plan(sources: OrderedDict {TF name: (canonical HF name, transpose,
      shape in our graph)},
      fresh: OrderedDict {TF name: shape} of the pooler variables the
      model lacks, heads, dropped: OrderedDict {group: [HF names]}).

    Raises:
      ValueError: listing every missing and every unexpected tensor.
    """
    graph = collections.OrderedDict(
        graph_variable_shapes(bert_config.to_json_string()))
    has_mlm = MLM_BIAS in names
    heads = ["mlm"] if has_mlm else []
    task_heads = head_shapes(tensors, names, bert_config.hidden_size,
                             token_classifier)
    heads += list(task_heads)
    for shapes in task_heads.values():
        graph.update(shapes)
    sources, fresh, missing = (collections.OrderedDict(),
                               collections.OrderedDict(), [])
    for tf_name, shape in graph.items():
        if tf_name.startswith(export_checkpoint.MLM_HEAD_PREFIX) and (
                not has_mlm):
            continue
        hf_name, transpose = transformers_format.hf_tensor_name(tf_name,
                                                                kind)
        if hf_name in names:
            sources[tf_name] = (hf_name, transpose, shape)
        elif tf_name.startswith(POOLER_PREFIX):
            fresh[tf_name] = shape
        else:
            missing.append("%s (for %s)" % (hf_name, tf_name))
    used = set(s[0] for s in sources.values())
    dropped = collections.OrderedDict((g, []) for g in DROP_GROUPS)
    unexpected = []
    for name in names:
        if name in used:
            continue
        group = drop_group(name, kind, bert_config)
        if group is None:
            unexpected.append(name)
        else:
            dropped[group].append(name)
    if missing or unexpected:
        raise ValueError(export_checkpoint.listed_problems(
            "the weights do not hold the model its config.json describes.",
            [("Missing", missing), ("Not part of the model", unexpected)]))
    return Plan(sources, fresh, heads, dropped)


def truncated_normal(shape, stddev, rng):
    """Normal values with those beyond two standard deviations redrawn."""
    values = rng.normal(0.0, stddev, shape)
    outside = np.abs(values) > 2.0 * stddev
    while outside.any():
        values[outside] = rng.normal(0.0, stddev, int(outside.sum()))
        outside = np.abs(values) > 2.0 * stddev
    return values.astype(np.float32)


def variable_values(plan, tensors, names, bert_config, seed):
    """Our variables' values (float32), and lines about casts.

    Raises:
      ValueError: a tensor's shape does not fit its variable, or a tied
        copy differs from what it copies.
    """
    values = collections.OrderedDict()
    casts = collections.Counter()
    for tf_name, (hf_name, transpose, expected) in plan.sources.items():
        value = tensors[names[hf_name]]
        if value.dtype != np.float32:
            casts[str(value.dtype)] += 1
        value = np.asarray(value.T if transpose else value, np.float32)
        if list(value.shape) != list(expected):
            raise ValueError("%s: shape %s%s does not fit %s %s" %
                             (names[hf_name], list(value.shape),
                              " (transposed)" if transpose else "", tf_name,
                              expected))
        values[tf_name] = np.ascontiguousarray(value)
    rng = np.random.RandomState(seed)
    for tf_name, shape in plan.fresh.items():
        values[tf_name] = (np.zeros(shape, np.float32)
                           if tf_name.endswith("bias") else truncated_normal(
                               shape, bert_config.initializer_range, rng))
    check_tied_copies(plan, tensors, names, values)
    return values, ["Cast to float32: %d %s tensors" % (n, dtype)
                    for dtype, n in sorted(casts.items())]


def check_tied_copies(plan, tensors, names, values):
    """Raises ValueError unless each tied copy equals what it copies."""
    by_hf = {s[0]: t for t, s in plan.sources.items()}
    for copy in plan.dropped[DROP_TIED]:
        source = TIED_COPIES[copy]
        original = [h for h in by_hf if h.endswith(source)]
        value = np.asarray(tensors[names[copy]], np.float32)
        if (not original or
                value.shape != values[by_hf[original[0]]].shape or
                not np.array_equal(value, values[by_hf[original[0]]])):
            raise ValueError(
                "%s differs from %s: this project's masked-LM head always "
                "shares them (tie_word_embeddings)" % (names[copy], source))


# ---------------------------------------------------------------------------
# Writing the release folder.
# ---------------------------------------------------------------------------


def release_names(kind, output_dir, model_name):
    """(checkpoint prefix, config path) of the released-folder layout."""
    prefix, config_file = RELEASE_LAYOUT[kind]
    if config_file is None:
        name = model_name or os.path.basename(os.path.normpath(output_dir))
        if not re.match(r"^[\w.-]+$", name):
            raise ValueError("--model_name: %r cannot name a config file" %
                             name)
        config_file = name + ".json"
    return (os.path.join(output_dir, prefix),
            os.path.join(output_dir, config_file))


def write_config(path, kind, ours):
    """Our config JSON: BERT fields for teachers, all fields for students."""
    fields = transformers_format.BERT_FIELDS
    if kind == "mobilebert":
        fields += transformers_format.MOBILEBERT_FIELDS
    data = {f: ours[f] for f in fields}
    with tf.io.gfile.GFile(path, "w") as writer:
        writer.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_checkpoint(values, prefix):
    """Saves `values` as a TF1 checkpoint at `prefix` (no `checkpoint` file).

    The released layout has no state file: run scripts find the one
    checkpoint by its `.index`.
    """
    export_checkpoint.write_checkpoint(ArrayReader(values), list(values),
                                       prefix)
    state = os.path.join(os.path.dirname(prefix), "checkpoint")
    if tf.io.gfile.exists(state):
        tf.io.gfile.remove(state)


def dropped_report(dropped):
    """Lines naming what was left out, by group."""
    lines = []
    for group, names in dropped.items():
        if names:
            lines.append("Dropped %s: %d tensors" % (group, len(names)))
            lines.extend("    " + n for n in names)
    return lines


def convert_folder(input_dir, output_dir, model_name=None,
                   torch_python=TORCH_PYTHON, seed=0):
    """Converts a transformers folder; returns a summary dict.

    Returns:
      dict with `model_type`, `checkpoint` (prefix), `config_file`, `heads`,
      `variables` (names), `dropped` ({group: names}), `fresh` (pooler
      variables initialised here), `warnings` and `report` (lines).
    """
    kind, ours, warnings, hf_config_path = read_hf_config(input_dir)
    bert_config = modeling.BertConfig.from_dict(ours)
    vocab_file = os.path.join(input_dir, export_checkpoint.RELEASE_VOCAB)
    if not tf.io.gfile.exists(vocab_file):
        raise ValueError("%s: no %s (the WordPiece vocabulary)" %
                         (input_dir, export_checkpoint.RELEASE_VOCAB))
    export_checkpoint.check_vocab_size(vocab_file, bert_config,
                                       hf_config_path)
    work_dir = tempfile.mkdtemp(prefix="convert_from_pytorch_")
    try:
        tensors, weights_path = read_weights(input_dir, torch_python,
                                             work_dir)
        names = canonical_names(list(tensors), kind)
        tags = token_classifier_tags(hf_config_path)
        plan = plan_variables(bert_config, kind, tensors, names,
                              token_classifier=tags is not None)
        values, casts = variable_values(plan, tensors, names, bert_config,
                                        seed)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    tf.io.gfile.makedirs(output_dir)
    prefix, config_path = release_names(kind, output_dir, model_name)
    write_checkpoint(values, prefix)
    write_config(config_path, kind, ours)
    export_checkpoint.copy_file(
        vocab_file, os.path.join(output_dir, export_checkpoint.RELEASE_VOCAB))
    if tags:
        file_io.write_text_atomically(
            os.path.join(output_dir, export_checkpoint.LABEL_LIST),
            "\n".join(tags) + "\n")

    params = sum(int(v.size) for v in values.values())
    report = ["Read %s (%s, %d tensors)" % (weights_path, kind, len(names))]
    report += ["WARNING " + w for w in warnings]
    report += dropped_report(plan.dropped)
    report += casts
    if plan.fresh:
        report.append(
            "Initialised here (the model has no pooler): %s" %
            ", ".join(plan.fresh))
    report += [
        "Kept %d variables, %d parameters; heads: %s" %
        (len(values), params, ", ".join(plan.heads) or "none (encoder only)"),
        "Wrote %s.*, %s, %s" % (prefix, os.path.basename(config_path),
                                export_checkpoint.RELEASE_VOCAB),
    ]
    return {
        "model_type": kind,
        "checkpoint": prefix,
        "config_file": config_path,
        "heads": plan.heads,
        "variables": list(values),
        "dropped": plan.dropped,
        "fresh": list(plan.fresh),
        "warnings": warnings,
        "report": report,
    }


def compare_outputs(summary, reference_path, atol):
    """Our converted model against transformers' outputs in an .npz file.

    Every output in the file is compared; each of ours must be there, but
    the pooled output of a pooler initialised here.

    Returns:
      (OrderedDict {output: max abs difference}, ok).

    Raises:
      ValueError: the file lacks an output of the model's heads.
    """
    with tf.io.gfile.GFile(reference_path, "rb") as reader:
        reference = dict(np.load(reader))
    bert_config = modeling.BertConfig.from_json_file(summary["config_file"])
    num_labels = None
    for head, (weights, _) in (("classifier",
                                export_checkpoint.CLASSIFIER_HEAD),
                               ("ner", export_checkpoint.NER_HEAD)):
        if head in summary["heads"]:
            num_labels = int(tf.train.load_variable(summary["checkpoint"],
                                                    weights).shape[0])
    inputs = {k: v for k, v in reference.items() if k.startswith("input/")}
    ours = transformers_format.tf_outputs(summary["checkpoint"], bert_config,
                                          summary["heads"], num_labels,
                                          inputs)
    # "output/mlm_logits@ForPreTraining": the same output of another class.
    diffs = collections.OrderedDict()
    for name in sorted(k for k in reference if k.startswith("output/")):
        base = name.split("@")[0]
        if base not in ours:
            raise ValueError("%s: %s has no counterpart in the converted "
                             "model (heads: %s)" %
                             (reference_path, name, summary["heads"]))
        diffs[name] = float(np.abs(ours[base] - reference[name]).max())
    # A pooler initialised here has no transformers counterpart.
    absent = [k for k in ours if k.startswith("output/") and k not in diffs
              and not (k == "output/pooled_output" and summary["fresh"])]
    if absent:
        raise ValueError("%s: no %s to compare with" %
                         (reference_path, ", ".join(absent)))
    return diffs, all(d <= atol for d in diffs.values())


def define_flags():
    """Command-line flags of this tool."""
    flags.DEFINE_string(
        "input_dir", None, "transformers folder: config.json, "
        "model.safetensors or pytorch_model.bin, vocab.txt.")
    flags.DEFINE_string("output_dir", None, "Release folder to write.")
    flags.DEFINE_string(
        "model_name", None, "Students only: the config is written as "
        "MODEL_NAME.json (default: the output folder's name).")
    flags.DEFINE_string(
        "torch_python", TORCH_PYTHON, "Python with torch, for reading "
        "pytorch_model.bin when this one has no torch.")
    flags.DEFINE_integer(
        "seed", 0, "Seed of the pooler initialised for models without one.")
    flags.DEFINE_string(
        "compare_npz", None, "transformers' outputs from `verify_pytorch.py "
        "hf_outputs`: run the converted model on its inputs and compare.")
    flags.DEFINE_float("atol", 1e-4,
                       "Largest difference --compare_npz accepts.")
    flags.mark_flags_as_required(["input_dir", "output_dir"])


def main(_):
    flags_obj = flags.FLAGS
    summary = convert_folder(flags_obj.input_dir, flags_obj.output_dir,
                             flags_obj.model_name, flags_obj.torch_python,
                             flags_obj.seed)
    print("\n".join(summary["report"]))
    if not flags_obj.compare_npz:
        return 0
    diffs, ok = compare_outputs(summary, flags_obj.compare_npz,
                                flags_obj.atol)
    print("Compared with %s: %s, max abs diff %.3g over %d outputs" %
          (flags_obj.compare_npz, "OK" if ok else "FAILED",
           max(diffs.values()), len(diffs)))
    for name, diff in diffs.items():
        print("    %-40s %.3g" % (name, diff))
    return 0 if ok else 1


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
