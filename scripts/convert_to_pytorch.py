# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Converts a release folder to a Hugging Face transformers model folder.

    python scripts/convert_to_pytorch.py \\
        --input_dir release/mobilebert_base_f2 \\
        --output_dir pytorch/mobilebert_base_f2

The input is a folder written by export_checkpoint.py or the published
layout (one checkpoint, one config `*.json`, `vocab.txt`); anything in the
checkpoint that is not part of the model (teacher, Adam moments, ...) is
left out exactly as export_checkpoint.py would. The output holds

    config.json              MobileBERT fields (model_type "mobilebert") for
                             students, BERT fields (model_type "bert") for
                             teachers; our GELU is the tanh approximation,
                             which transformers calls "gelu_new"
    model.safetensors        the weights, float32
    vocab.txt, tokenizer_config.json, special_tokens_map.json
                             a BertTokenizer for Chinese: lower-cased, every
                             CJK character split
    README.md                the model card: architecture, config values,
                             tokenizer, source checkpoint and step, checks,
                             licence (scripts/model_card.py)

and loads with `AutoModel.from_pretrained(OUT)`, `AutoTokenizer`, and
`MobileBertForMaskedLM` / `MobileBertForPreTraining` (or the `Bert...`
classes for a teacher). Fine-tuned heads become `...ForSequenceClassification`
(`output_weights` -> `classifier`), `...ForQuestionAnswering`
(`cls/squad/output_weights` -> `qa_outputs`) and, for a run_ner.py tagger,
`...ForTokenClassification` (`cls/ner/output_weights` -> `classifier`, with
`id2label` from --label_names or the folder's `label_list.txt`).

Conversion runs in the project's TensorFlow environment and needs no
PyTorch: transformers_format.py writes the safetensors file with the
`safetensors` library's NumPy API, and also holds the name and config
mapping that convert_from_pytorch.py uses the other way.

`--reference_npz PATH` also runs the TensorFlow model on fixed inputs and
saves inputs and outputs (every hidden state, pooled output, MLM logits,
head logits) so that `scripts/verify_pytorch.py outputs` can compare the
PyTorch model against it in the torch environment.
"""

import collections
import io
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

from pretrain import file_io
from pretrain import modeling
from pretrain import tokenization
from scripts import export_checkpoint
from scripts import model_card
from scripts import transformers_format

SPECIAL_TOKENS = collections.OrderedDict([
    ("unk_token", "[UNK]"),
    ("sep_token", "[SEP]"),
    ("pad_token", "[PAD]"),
    ("cls_token", "[CLS]"),
    ("mask_token", "[MASK]"),
])


def write_tokenizer_files(vocab_file, output_dir, do_lower_case,
                          model_max_length):
    """vocab.txt plus the settings of a Chinese BertTokenizer."""
    vocab = tokenization.load_vocab(vocab_file)
    absent = [t for t in SPECIAL_TOKENS.values() if t not in vocab]
    if absent:
        raise ValueError("%s lacks the special tokens %s" %
                         (vocab_file, ", ".join(absent)))
    export_checkpoint.copy_file(vocab_file,
                                os.path.join(output_dir, "vocab.txt"))
    settings = collections.OrderedDict([
        ("tokenizer_class", "BertTokenizer"),
        ("do_lower_case", do_lower_case),
        ("do_basic_tokenize", True),
        ("tokenize_chinese_chars", True),
        ("strip_accents", None),
        ("model_max_length", model_max_length),
    ])
    settings.update(SPECIAL_TOKENS)
    write_json(os.path.join(output_dir, "tokenizer_config.json"), settings)
    write_json(os.path.join(output_dir, "special_tokens_map.json"),
               SPECIAL_TOKENS)
    return settings


def write_json(path, data):
    """Writes `data` as indented UTF-8 JSON."""
    with tf.io.gfile.GFile(path, "w") as writer:
        writer.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------
# TensorFlow reference outputs.
# ---------------------------------------------------------------------------


def reference_inputs(bert_config, seq_length, seed=12345):
    """Fixed inputs: two rows, the second padded, two segments, 3 masks."""
    seq_length = min(seq_length, bert_config.max_position_embeddings)
    rng = np.random.RandomState(seed)
    input_ids = rng.randint(1, bert_config.vocab_size, size=[2, seq_length])
    input_mask = np.ones([2, seq_length])
    input_mask[1, seq_length - seq_length // 4:] = 0
    token_type_ids = np.zeros([2, seq_length])
    token_type_ids[:, seq_length // 2:] = min(1,
                                              bert_config.type_vocab_size - 1)
    positions = np.stack([
        rng.choice(seq_length - seq_length // 4, 3, replace=False)
        for _ in range(2)
    ])
    return collections.OrderedDict([
        ("input/input_ids", input_ids.astype(np.int32)),
        ("input/input_mask", input_mask.astype(np.int32)),
        ("input/token_type_ids", token_type_ids.astype(np.int32)),
        ("input/masked_lm_positions", positions.astype(np.int32)),
    ])


# ---------------------------------------------------------------------------
# Conversion.
# ---------------------------------------------------------------------------


def convert_release(input_dir,
                    output_dir,
                    do_lower_case=True,
                    label_names=None,
                    reference_npz=None,
                    reference_seq_length=32):
    """Converts a release (or published) folder; returns a summary dict.

    Returns:
      dict with `model_type`, `architectures`, `heads`, `tensors` (count),
      `parameters`, `weights_size` (bytes) and, with `reference_npz`,
      `reference` (its path).
    """
    inputs = export_checkpoint.find_release_inputs(input_dir)
    bert_config = modeling.BertConfig.from_json_file(inputs.bert_config_file)
    export_checkpoint.check_vocab_size(inputs.vocab_file, bert_config,
                                       inputs.bert_config_file)
    reader = tf.train.NewCheckpointReader(inputs.checkpoint)
    selection = export_checkpoint.select_model_variables(
        reader.get_variable_to_shape_map(), bert_config, inputs.checkpoint)
    num_labels = None
    for head, (weights, _) in (("classifier",
                                export_checkpoint.CLASSIFIER_HEAD),
                               ("ner", export_checkpoint.NER_HEAD)):
        if head in selection.heads:
            num_labels = selection.kept[weights][0]
    if "ner" in selection.heads and not label_names:
        label_names = saved_tags(os.path.dirname(inputs.checkpoint))
    config = transformers_format.hf_config(bert_config, selection.heads,
                                           label_names, num_labels)
    mapped = transformers_format.hf_tensor_shapes(selection.kept,
                                                  bert_config,
                                                  config["model_type"])

    tf.io.gfile.makedirs(output_dir)
    dtypes = reader.get_variable_to_dtype_map()
    tensors = [(name, shape,
                np.dtype(dtypes[tf_name].as_numpy_dtype
                         if tf_name else np.float32))
               for name, (tf_name, shape, _) in mapped.items()]

    def read_tensor(name):
        tf_name, shape, transpose = mapped[name]
        if tf_name is None:
            return np.zeros(shape, np.float32)
        value = reader.get_tensor(tf_name)
        return value.T if transpose else value

    weights_path = os.path.join(output_dir, transformers_format.WEIGHTS_FILE)
    transformers_format.write_safetensors(weights_path, tensors, read_tensor)
    write_json(os.path.join(output_dir, "config.json"), config)
    tokenizer_settings = write_tokenizer_files(
        inputs.vocab_file, output_dir, do_lower_case,
        bert_config.max_position_embeddings)
    summary = {
        "model_type": config["model_type"],
        "architectures": config["architectures"],
        "heads": selection.heads,
        "tensors": len(tensors),
        "parameters": int(sum(np.prod(s) for _, s, _ in tensors)),
        "weights_size": tf.io.gfile.stat(weights_path).length,
    }
    if reference_npz:
        arrays = transformers_format.tf_outputs(
            inputs.checkpoint, bert_config, selection.heads, num_labels,
            reference_inputs(bert_config, reference_seq_length))
        buffer = io.BytesIO()  # np.savez needs a seekable file.
        np.savez(buffer, **arrays)
        with tf.io.gfile.GFile(reference_npz, "wb") as writer:
            writer.write(buffer.getvalue())
        summary["reference"] = reference_npz
    summary["card"] = os.path.join(output_dir, model_card.CARD_FILE)
    with tf.io.gfile.GFile(summary["card"], "w") as writer:
        writer.write(model_card.card_text(
            config, tokenizer_settings, inputs.checkpoint,
            inputs.bert_config_file, reference_npz=reference_npz))
    return summary


def saved_tags(input_dir):
    """The tags in input_dir/label_list.txt (run_ner.py), or None."""
    path = os.path.join(input_dir, export_checkpoint.LABEL_LIST)
    if not tf.io.gfile.exists(path):
        return None
    return [line.strip() for line in file_io.read_lines(path, what="label "
                                                        "list")
            if line.strip()]


def define_flags():
    """Command-line flags of this tool."""
    flags.DEFINE_string(
        "input_dir", None, "Release folder from export_checkpoint.py, or the "
        "published layout (one checkpoint, one config *.json, vocab.txt).")
    flags.DEFINE_string("output_dir", None,
                        "Folder to write the transformers model to.")
    flags.DEFINE_bool("do_lower_case", True,
                      "Tokenizer setting; True for the Chinese models.")
    flags.DEFINE_list(
        "label_names", None, "Comma-separated class names of a fine-tuned "
        "classifier (or tags of a tagger), in label-id order (default: a "
        "tagger's label_list.txt in --input_dir, else LABEL_0, LABEL_1, "
        "...).")
    flags.DEFINE_string(
        "reference_npz", None, "Also run the TF model on fixed inputs and "
        "save inputs and outputs here, for scripts/verify_pytorch.py.")
    flags.DEFINE_integer("reference_seq_length", 32,
                         "Sequence length of the reference inputs.")
    flags.mark_flags_as_required(["input_dir", "output_dir"])


def main(_):
    flags_obj = flags.FLAGS
    summary = convert_release(flags_obj.input_dir, flags_obj.output_dir,
                              flags_obj.do_lower_case, flags_obj.label_names,
                              flags_obj.reference_npz,
                              flags_obj.reference_seq_length)
    print("Converted %s -> %s: %s (%s), %d tensors, %d parameters, "
          "%s weights" %
          (flags_obj.input_dir, flags_obj.output_dir,
           summary["architectures"][0], summary["model_type"],
           summary["tensors"], summary["parameters"],
           export_checkpoint.format_size(summary["weights_size"])))
    if flags_obj.reference_npz:
        print("TF reference outputs: %s" % flags_obj.reference_npz)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
