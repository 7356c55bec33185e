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

and loads with `AutoModel.from_pretrained(OUT)`, `AutoTokenizer`, and
`MobileBertForMaskedLM` / `MobileBertForPreTraining` (or the `Bert...`
classes for a teacher). Fine-tuned heads become `...ForSequenceClassification`
(`output_weights` -> `classifier`) and `...ForQuestionAnswering`
(`cls/squad/output_weights` -> `qa_outputs`).

Conversion runs in the project's TensorFlow environment and needs no
PyTorch: the safetensors file is written by a small writer below (8-byte
little-endian header length, a JSON header of dtype/shape/byte offsets, the
raw little-endian tensor bytes).

`--reference_npz PATH` also runs the TensorFlow model on fixed inputs and
saves inputs and outputs (every hidden state, pooled output, MLM logits,
head logits) so that `scripts/verify_pytorch.py outputs` can compare the
PyTorch model against it in the torch environment.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import io
import json
import os
import re
import struct
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

WEIGHTS_FILE = "model.safetensors"
SPECIAL_TOKENS = collections.OrderedDict([
    ("unk_token", "[UNK]"),
    ("sep_token", "[SEP]"),
    ("pad_token", "[PAD]"),
    ("cls_token", "[CLS]"),
    ("mask_token", "[MASK]"),
])
# Our activation names -> transformers' ACT2FN names with the same math.
HF_ACTIVATIONS = {
    "gelu": "gelu_new",
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}
SAFETENSORS_DTYPES = {
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("float64"): "F64",
    np.dtype("int32"): "I32",
    np.dtype("int64"): "I64",
}
# Checkpoint names with a fixed transformers name: (name, transpose).
FIXED_NAMES = {
    "output_weights": ("classifier.weight", False),
    "output_bias": ("classifier.bias", False),
    "cls/squad/output_weights": ("qa_outputs.weight", False),
    "cls/squad/output_bias": ("qa_outputs.bias", False),
    "cls/predictions/output_bias": ("cls.predictions.bias", False),
    # [V, H - E] in TF; MobileBERT's `cls.predictions.dense` is a
    # Linear(V -> H - E) whose weight is [H - E, V].
    "cls/predictions/extra_output_weights": ("cls.predictions.dense.weight",
                                             True),
}
HEAD_CLASSES = collections.OrderedDict([
    ("classifier", "ForSequenceClassification"),
    ("squad", "ForQuestionAnswering"),
    ("mlm", "ForMaskedLM"),
])
CLASS_PREFIX = {"bert": "Bert", "mobilebert": "MobileBert"}


def is_plain_bert(bert_config):
    """True for a config that transformers' BertModel computes exactly."""
    return (not bert_config.trigram_input and not bert_config.use_bottleneck
            and bert_config.num_feedforward_networks == 1 and
            bert_config.embedding_size == bert_config.hidden_size and
            bert_config.classifier_activation and
            bert_config.normalization_type == "layer_norm")


def model_type(bert_config):
    """Returns "bert" for plain BERT (teachers), "mobilebert" for students.

    Raises:
      ValueError: for MobileBERT variants that transformers' MobileBERT
        does not compute like this project (naming the config field).
    """
    if is_plain_bert(bert_config):
        return "bert"
    if bert_config.normalization_type != "no_norm":
        raise ValueError(
            "normalization_type: %r cannot be converted for a MobileBERT "
            "model: transformers' MobileBERT uses layer-norm epsilon 1e-5 in "
            "the embeddings and layer outputs (this project: %s), so outputs "
            "would differ. Only 'no_norm' students and plain 'layer_norm' "
            "BERT teachers convert exactly." %
            (bert_config.normalization_type,
             "1e-6" if bert_config.normalization_type == "manual_layer_norm"
             else "1e-12"))
    if (bert_config.use_bottleneck and
            not bert_config.use_bottleneck_attention and
            not bert_config.key_query_shared_bottleneck):
        raise ValueError(
            "use_bottleneck without use_bottleneck_attention or "
            "key_query_shared_bottleneck: transformers' MobileBERT sizes the "
            "query/key projections for bottleneck inputs and cannot load it")
    return "mobilebert"


def hf_config(bert_config, heads, label_names=None, num_labels=None):
    """The transformers config.json contents.

    Args:
      bert_config: modeling.BertConfig.
      heads: head names from export_checkpoint.select_model_variables.
      label_names: optional class names of a classifier head.
      num_labels: rows of the classifier head, when there is one.

    Returns:
      dict.
    """
    kind = model_type(bert_config)
    config = collections.OrderedDict([
        ("model_type", kind),
        ("architectures", [CLASS_PREFIX[kind] + architecture(heads)]),
        ("vocab_size", bert_config.vocab_size),
        ("hidden_size", bert_config.hidden_size),
        ("num_hidden_layers", bert_config.num_hidden_layers),
        ("num_attention_heads", bert_config.num_attention_heads),
        ("intermediate_size", bert_config.intermediate_size),
        ("hidden_act", HF_ACTIVATIONS[bert_config.hidden_act.lower()]),
        ("hidden_dropout_prob", bert_config.hidden_dropout_prob),
        ("attention_probs_dropout_prob",
         bert_config.attention_probs_dropout_prob),
        ("max_position_embeddings", bert_config.max_position_embeddings),
        ("type_vocab_size", bert_config.type_vocab_size),
        ("initializer_range", bert_config.initializer_range),
        ("layer_norm_eps", 1e-12),
        ("pad_token_id", 0),
    ])
    if kind == "bert":
        config["position_embedding_type"] = "absolute"
    else:
        for field in ("embedding_size", "trigram_input", "use_bottleneck",
                      "intra_bottleneck_size", "use_bottleneck_attention",
                      "key_query_shared_bottleneck",
                      "num_feedforward_networks", "normalization_type",
                      "classifier_activation"):
            config[field] = getattr(bert_config, field)
    if "classifier" in heads:
        names = label_names or ["LABEL_%d" % i for i in range(num_labels)]
        if len(names) != num_labels:
            raise ValueError(
                "--label_names: %d names given for a classifier head with %d "
                "outputs" % (len(names), num_labels))
        config["id2label"] = {str(i): n for i, n in enumerate(names)}
        config["label2id"] = {n: i for i, n in enumerate(names)}
    return config


def architecture(heads):
    """The transformers class suffix for the heads a checkpoint has."""
    if "classifier" in heads and "squad" in heads:
        raise ValueError("the checkpoint holds both a classification and a "
                         "span (cls/squad) head; convert one task at a time")
    for head, suffix in HEAD_CLASSES.items():
        if head in heads:
            return suffix
    return "Model"


def hf_tensor_name(tf_name, kind):
    """Maps a TF variable name to its transformers state-dict name.

    Args:
      tf_name: e.g. `bert/encoder/layer_3/ffn_layer_1/output/dense/kernel`.
      kind: "bert" or "mobilebert" (the base model prefix).

    Returns:
      (name, transpose): e.g. (`mobilebert.encoder.layer.3.ffn.1.output.
      dense.weight`, True); TF kernels are [in, out], torch Linear weights
      [out, in].

    Raises:
      ValueError: for a name outside the model.
    """
    if tf_name in FIXED_NAMES:
        return FIXED_NAMES[tf_name]
    parts = tf_name.split("/")
    if parts[0] not in ("bert", "cls"):
        raise ValueError("%s: not a model variable" % tf_name)
    names = [kind] if parts[0] == "bert" else ["cls"]
    transpose = False
    for part in parts[1:]:
        numbered = re.match(r"^(layer|ffn_layer)_(\d+)$", part)
        if numbered:
            names += ["layer" if numbered.group(1) == "layer" else "ffn",
                      numbered.group(2)]
        elif part == "FakeLayerNorm":
            names.append("LayerNorm")
        elif part == "kernel":
            names.append("weight")
            transpose = True
        elif part == "gamma":
            names.append("weight")
        elif part == "beta":
            names.append("bias")
        elif part.endswith("_embeddings"):
            names += [part, "weight"]
        else:
            names.append(part)
    return ".".join(names), transpose


def hf_tensor_shapes(tf_shapes, bert_config, kind):
    """Plans the transformers tensors of a checkpoint's model variables.

    Args:
      tf_shapes: {TF name: shape} of the model variables.
      bert_config: modeling.BertConfig.
      kind: "bert" or "mobilebert".

    Returns:
      OrderedDict {HF name: (TF name, HF shape, transpose)}. MobileBERT's
      MLM head always has `cls.predictions.dense` (the extra output weights,
      [H - E, V]); when E == H it is empty and has no TF variable (TF name
      None).
    """
    mapped = collections.OrderedDict()
    for tf_name, shape in tf_shapes.items():
        name, transpose = hf_tensor_name(tf_name, kind)
        shape = list(shape)
        mapped[name] = (tf_name, shape[::-1] if transpose else shape,
                        transpose)
    extra = FIXED_NAMES["cls/predictions/extra_output_weights"][0]
    if (kind == "mobilebert" and "cls.predictions.bias" in mapped and
            extra not in mapped):
        mapped[extra] = (None, [
            bert_config.hidden_size - bert_config.embedding_size,
            bert_config.vocab_size
        ], False)
    return mapped


def safetensors_header(tensors):
    """The JSON header of a safetensors file, padded to 8 bytes.

    Args:
      tensors: list of (name, shape, numpy dtype) in file order.

    Returns:
      bytes of the header (without the 8-byte length).
    """
    header = collections.OrderedDict()
    header["__metadata__"] = {"format": "pt"}
    offset = 0
    for name, shape, dtype in tensors:
        if dtype not in SAFETENSORS_DTYPES:
            raise ValueError("%s: dtype %s cannot be written" % (name, dtype))
        size = int(np.prod(shape)) * dtype.itemsize
        header[name] = {
            "dtype": SAFETENSORS_DTYPES[dtype],
            "shape": [int(d) for d in shape],
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return text + b" " * (-len(text) % 8)


def write_safetensors(path, tensors, read_tensor):
    """Writes a safetensors file, one tensor in memory at a time.

    Args:
      path: output file.
      tensors: list of (name, shape, numpy dtype) in file order.
      read_tensor: function name -> numpy array of that shape and dtype.
    """
    header = safetensors_header(tensors)
    with tf.io.gfile.GFile(path, "wb") as writer:
        writer.write(struct.pack("<Q", len(header)))
        writer.write(header)
        for name, shape, dtype in tensors:
            array = np.ascontiguousarray(read_tensor(name),
                                         dtype=dtype.newbyteorder("<"))
            if list(array.shape) != list(shape):
                raise ValueError("%s: expected shape %s, got %s" %
                                 (name, shape, list(array.shape)))
            writer.write(array.tobytes())


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


def head_outputs(bert_config, model, heads, num_labels):
    """TF logits of the fine-tuned heads, named as in the reference file."""
    outputs = {}
    if "classifier" in heads:
        outputs["output/classifier_logits"] = modeling.classifier_logits(
            model.get_pooled_output(), num_labels)  # [B, labels]
    if "squad" in heads:
        start_logits, end_logits = modeling.squad_logits(
            bert_config, model.get_sequence_output())  # [B, S] each
        outputs["output/squad_start_logits"] = start_logits
        outputs["output/squad_end_logits"] = end_logits
    return outputs


def reference_outputs(checkpoint, bert_config, heads, num_labels,
                      seq_length):
    """Runs the TF model from `checkpoint`; returns inputs and outputs."""
    arrays = reference_inputs(bert_config, seq_length)
    with tf.Graph().as_default():
        model = modeling.BertModel(
            bert_config, False, tf.constant(arrays["input/input_ids"]),
            tf.constant(arrays["input/input_mask"]),
            tf.constant(arrays["input/token_type_ids"]))
        fetches = collections.OrderedDict(
            ("output/hidden_states_%d" % i, layer)
            for i, layer in enumerate(model.get_all_encoder_layers()))
        fetches["output/pooled_output"] = model.get_pooled_output()
        if "mlm" in heads:
            fetches["output/mlm_logits"] = modeling.masked_lm_logits(
                bert_config, model.get_sequence_output(),
                model.get_embedding_table(),
                tf.constant(arrays["input/masked_lm_positions"]))
        fetches.update(head_outputs(bert_config, model, heads, num_labels))
        saver = tf.train.Saver(tf.global_variables())
        with tf.Session() as session:
            saver.restore(session, checkpoint)
            arrays.update(session.run(fetches))
    return arrays


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
    num_labels = (selection.kept["output_weights"][0]
                  if "classifier" in selection.heads else None)
    config = hf_config(bert_config, selection.heads, label_names, num_labels)
    mapped = hf_tensor_shapes(selection.kept, bert_config,
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

    weights_path = os.path.join(output_dir, WEIGHTS_FILE)
    write_safetensors(weights_path, tensors, read_tensor)
    write_json(os.path.join(output_dir, "config.json"), config)
    write_tokenizer_files(inputs.vocab_file, output_dir, do_lower_case,
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
        arrays = reference_outputs(inputs.checkpoint, bert_config,
                                   selection.heads, num_labels,
                                   reference_seq_length)
        buffer = io.BytesIO()  # np.savez needs a seekable file.
        np.savez(buffer, **arrays)
        with tf.io.gfile.GFile(reference_npz, "wb") as writer:
            writer.write(buffer.getvalue())
        summary["reference"] = reference_npz
    return summary


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
        "classifier, in label-id order (default LABEL_0, LABEL_1, ...).")
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
