# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""How our TF1 models and Hugging Face transformers' models correspond.

Everything both converters need (convert_to_pytorch.py: ours -> transformers,
convert_from_pytorch.py: transformers -> ours) lives here once:

    names    hf_tensor_name: a TF variable name -> its transformers
             state-dict name and whether the kernel is transposed. The
             other direction asks, for every variable our graph creates,
             which transformers tensor holds it: one table, both ways.
    configs  hf_config (our config -> config.json) and config_from_hf
             (config.json -> our config); what one side cannot express is
             refused by field name.
    weights  safetensors files written and read with the `safetensors`
             library's NumPy API (no torch), tensor by tensor when read;
             bfloat16 tensors, which NumPy lacks, come back as float32.
    outputs  tf_outputs: our graph's hidden states and logits on given
             inputs, named as scripts/verify_pytorch.py names transformers'.
"""

import collections
import collections.abc
import json
import math
import os
import re
import struct
import tempfile

import numpy as np
import safetensors
from safetensors import numpy as safetensors_numpy
import tensorflow.compat.v1 as tf

from pretrain import modeling

WEIGHTS_FILE = "model.safetensors"
# The metadata transformers checks in the safetensors files it loads.
SAFETENSORS_METADATA = {"format": "pt"}
# Our activation names -> transformers' ACT2FN names with the same math.
HF_ACTIVATIONS = {
    "gelu": "gelu_new",
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}
# Checkpoint names with a fixed transformers name: (name, transpose).
FIXED_NAMES = {
    "output_weights": ("classifier.weight", False),
    "output_bias": ("classifier.bias", False),
    "cls/squad/output_weights": ("qa_outputs.weight", False),
    "cls/squad/output_bias": ("qa_outputs.bias", False),
    # A token classifier's head is also `classifier` in transformers.
    "cls/ner/output_weights": ("classifier.weight", False),
    "cls/ner/output_bias": ("classifier.bias", False),
    "cls/predictions/output_bias": ("cls.predictions.bias", False),
    # [V, H - E] in TF; MobileBERT's `cls.predictions.dense` is a
    # Linear(V -> H - E) whose weight is [H - E, V].
    "cls/predictions/extra_output_weights": ("cls.predictions.dense.weight",
                                             True),
}
HEAD_CLASSES = collections.OrderedDict([
    ("classifier", "ForSequenceClassification"),
    ("squad", "ForQuestionAnswering"),
    ("ner", "ForTokenClassification"),
    ("mlm", "ForMaskedLM"),
])
CLASS_PREFIX = {"bert": "Bert", "mobilebert": "MobileBert"}

# transformers' names of the activations we compute, -> ours. "gelu" is
# not among them: transformers' "gelu" is the exact erf form.
OUR_ACTIVATIONS = dict((hf, ours) for ours, hf in HF_ACTIVATIONS.items())
OUR_ACTIVATIONS["gelu_pytorch_tanh"] = "gelu"
OUR_ACTIVATIONS["gelu_fast"] = "gelu"  # the same tanh form, refactored
ERF_GELU = "gelu"
# Config fields of every model, and those only MobileBERT has.
BERT_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers",
               "num_attention_heads", "intermediate_size", "hidden_act",
               "hidden_dropout_prob", "attention_probs_dropout_prob",
               "max_position_embeddings", "type_vocab_size",
               "initializer_range")
MOBILEBERT_FIELDS = ("embedding_size", "trigram_input", "use_bottleneck",
                     "intra_bottleneck_size", "use_bottleneck_attention",
                     "key_query_shared_bottleneck",
                     "num_feedforward_networks", "normalization_type",
                     "classifier_activation")
# What transformers assumes for a field that config.json leaves out
# (BertConfig() and MobileBertConfig() of transformers 4.57; the tests
# compare them with the installed transformers). MobileBERT's differ from
# this project's BertConfig defaults: trigram_input, use_bottleneck and
# key_query_shared_bottleneck are on, 4 feed-forward networks, E = 128.
HF_DEFAULTS = {
    "bert": {
        "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
        "num_attention_heads": 12, "intermediate_size": 3072,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
        "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
    },
    "mobilebert": {
        "vocab_size": 30522, "hidden_size": 512, "num_hidden_layers": 24,
        "num_attention_heads": 4, "intermediate_size": 512,
        "hidden_act": "relu", "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
        "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "embedding_size": 128,
        "trigram_input": True, "use_bottleneck": True,
        "intra_bottleneck_size": 128, "use_bottleneck_attention": False,
        "key_query_shared_bottleneck": True, "num_feedforward_networks": 4,
        "normalization_type": "no_norm", "classifier_activation": True,
    },
}
OUR_LAYER_NORM_EPS = 1e-12
NORMALIZATION_GAP = (
    "transformers' MobileBERT normalizes the embeddings and the last "
    "feed-forward output with nn.LayerNorm's default epsilon 1e-5 and the "
    "rest with layer_norm_eps, while this project uses one epsilon "
    "everywhere (1e-12; 1e-6 for 'manual_layer_norm'), so outputs would "
    "differ. Only 'no_norm' MobileBERTs and plain 'layer_norm' BERTs "
    "convert exactly.")
BOTTLENECK_GAP = (
    "use_bottleneck without use_bottleneck_attention or "
    "key_query_shared_bottleneck: transformers' MobileBERT sizes the "
    "query/key projections for bottleneck inputs but feeds them the hidden "
    "states, so it cannot run this model")


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
            "model: %s" % (bert_config.normalization_type, NORMALIZATION_GAP))
    if unloadable_bottleneck(bert_config.use_bottleneck,
                             bert_config.use_bottleneck_attention,
                             bert_config.key_query_shared_bottleneck):
        raise ValueError(BOTTLENECK_GAP)
    return "mobilebert"


def hf_config(bert_config, heads, label_names=None, num_labels=None):
    """The transformers config.json contents.

    Args:
      bert_config: modeling.BertConfig.
      heads: head names from export_checkpoint.select_model_variables.
      label_names: optional class (or tag) names of a classifier or
        token-classifier head.
      num_labels: rows of that head, when there is one.

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
        for field in MOBILEBERT_FIELDS:
            config[field] = getattr(bert_config, field)
    if "classifier" in heads or "ner" in heads:
        names = label_names or ["LABEL_%d" % i for i in range(num_labels)]
        if len(names) != num_labels:
            raise ValueError(
                "--label_names: %d names given for a %s head with %d "
                "outputs" % (len(names), "classifier" if "classifier" in heads
                             else "token classifier", num_labels))
        config["id2label"] = {str(i): n for i, n in enumerate(names)}
        config["label2id"] = {n: i for i, n in enumerate(names)}
    return config


def architecture(heads):
    """The transformers class suffix for the heads a checkpoint has."""
    task_heads = [h for h in heads if h in ("classifier", "squad", "ner")]
    if len(task_heads) > 1:
        raise ValueError("the checkpoint holds several task heads (%s); "
                         "convert one task at a time" % ", ".join(task_heads))
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


def is_local(path):
    """True for a path of the local file system (no `scheme://` prefix)."""
    return "://" not in path


def checked_arrays(tensors, read_tensor):
    """The arrays to write, each checked against its planned shape.

    Args:
      tensors: list of (name, shape, numpy dtype).
      read_tensor: function name -> numpy array of that shape and dtype.

    Returns:
      OrderedDict {name: C-contiguous array of the planned dtype}.

    Raises:
      ValueError: naming a tensor whose shape is not the planned one.
    """
    arrays = collections.OrderedDict()
    for name, shape, dtype in tensors:
        array = np.ascontiguousarray(read_tensor(name), dtype=dtype)
        if list(array.shape) != list(shape):
            raise ValueError("%s: expected shape %s, got %s" %
                             (name, list(shape), list(array.shape)))
        arrays[name] = array
    return arrays


def write_safetensors(path, tensors, read_tensor):
    """Writes a safetensors file with `safetensors.numpy.save_file`.

    Every tensor is in memory while the file is written (the largest
    model, a teacher, is about 400 MB in float32). The metadata is
    SAFETENSORS_METADATA. A path that is not local (gs://...) is written
    as a temporary local file first and copied there with tf.io.gfile.

    Args:
      path: output file.
      tensors: list of (name, shape, numpy dtype).
      read_tensor: function name -> numpy array of that shape and dtype.

    Raises:
      ValueError: naming a tensor whose shape is not the planned one.
    """
    arrays = checked_arrays(tensors, read_tensor)
    if is_local(path):
        safetensors_numpy.save_file(arrays, path,
                                    metadata=SAFETENSORS_METADATA)
        return
    with tempfile.TemporaryDirectory(prefix="safetensors_") as work_dir:
        local = os.path.join(work_dir, os.path.basename(path))
        safetensors_numpy.save_file(arrays, local,
                                    metadata=SAFETENSORS_METADATA)
        tf.io.gfile.copy(local, path, overwrite=True)


def unloadable_bottleneck(use_bottleneck, use_bottleneck_attention,
                          key_query_shared_bottleneck):
    """True for bottleneck settings transformers' MobileBERT cannot run."""
    return bool(use_bottleneck and not use_bottleneck_attention and
                not key_query_shared_bottleneck)


def erf_gelu_gap():
    """Largest |exact erf GELU - tanh GELU| and where, over [-8, 8].

    Returns:
      (gap, x): the difference per activation (about 4.7e-4) and the |x|
      where it is largest.
    """
    x = np.linspace(0.0, 8.0, 80001)  # both forms are odd-symmetric in gap
    erf = np.array([math.erf(v / math.sqrt(2.0)) for v in x])
    exact = 0.5 * x * (1.0 + erf)
    approx = 0.5 * x * (1.0 + np.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    gap = np.abs(exact - approx)
    return float(gap.max()), float(x[gap.argmax()])


def config_from_hf(hf_json, source="config.json"):
    """Our config fields for a transformers config.json.

    Fields that config.json leaves out take transformers' defaults
    (HF_DEFAULTS), not ours. Every field that changes what the model
    computes is checked; one this project cannot compute the same way is
    refused.

    Args:
      hf_json: the parsed config.json.
      source: its path, for messages.

    Returns:
      (model type "bert" | "mobilebert", OrderedDict of our config fields,
      list of warnings to show the user).

    Raises:
      ValueError: naming `source` and the field that cannot be represented.
    """
    kind = hf_json.get("model_type")
    if kind not in HF_DEFAULTS:
        raise ValueError(
            "%s: model_type: %r cannot be converted; expected 'bert' (BERT, "
            "RoBERTa-wwm, MacBERT: the Bert... classes) or 'mobilebert'" %
            (source, kind))
    fields = dict(HF_DEFAULTS[kind])
    fields.update(hf_json)

    def refuse(field, why):
        raise ValueError("%s: %s: %r cannot be represented: %s" %
                         (source, field, fields.get(field), why))

    if abs(fields["layer_norm_eps"] - OUR_LAYER_NORM_EPS) > 1e-18:
        refuse("layer_norm_eps", "this project's layer norms (every layer "
               "of a BERT, the masked-LM head) use epsilon 1e-12")
    if fields.get("position_embedding_type", "absolute") != "absolute":
        refuse("position_embedding_type",
               "this project has absolute position embeddings only")
    for field in ("is_decoder", "add_cross_attention"):
        if fields.get(field):
            refuse(field, "this project's models are encoders without "
                   "causal or cross attention")
    if not fields.get("tie_word_embeddings", True):
        refuse("tie_word_embeddings", "the masked-LM head here always "
               "shares the word embeddings")
    if fields.get("pruned_heads"):
        refuse("pruned_heads", "every layer here has all its heads")
    warnings = []
    activation = fields["hidden_act"]
    if activation == ERF_GELU:
        gap, where = erf_gelu_gap()
        warnings.append(
            "hidden_act: transformers' 'gelu' is the exact erf GELU; this "
            "project computes the tanh approximation (transformers' "
            "'gelu_new'), which TF1 BERT checkpoints (Google's, hfl's "
            "Chinese models) were trained with. The two differ by up to "
            "%.2g per activation (at |x| = %.2f), so hidden states differ "
            "from transformers' by more than rounding." % (gap, where))
        activation = "gelu"
    elif activation in OUR_ACTIVATIONS:
        activation = OUR_ACTIVATIONS[activation]
    else:
        refuse("hidden_act", "expected one of %s" %
               sorted(set(OUR_ACTIVATIONS) | {ERF_GELU}))

    ours = collections.OrderedDict((f, fields[f]) for f in BERT_FIELDS)
    ours["hidden_act"] = activation
    if kind == "mobilebert":
        warnings += mobilebert_fields(fields, ours, refuse)
    return kind, ours, warnings


def mobilebert_fields(fields, ours, refuse):
    """Adds the MobileBERT fields of `fields` to `ours`; returns warnings."""
    if fields["normalization_type"] != "no_norm":
        refuse("normalization_type", NORMALIZATION_GAP)
    use_bottleneck = bool(fields["use_bottleneck"])
    attention = use_bottleneck and bool(fields["use_bottleneck_attention"])
    shared = use_bottleneck and bool(fields["key_query_shared_bottleneck"])
    if unloadable_bottleneck(use_bottleneck, attention, shared):
        refuse("use_bottleneck", BOTTLENECK_GAP)
    warnings = []
    if attention and shared:
        warnings.append(
            "key_query_shared_bottleneck: off here, because "
            "use_bottleneck_attention is on and transformers then never "
            "uses the shared bottleneck (its bottleneck.attention tensors "
            "are dropped)")
    for field in MOBILEBERT_FIELDS:
        ours[field] = fields[field]
    ours["use_bottleneck_attention"] = attention
    ours["key_query_shared_bottleneck"] = shared and not attention
    # transformers' true_hidden_size: the bottleneck width only with one.
    if not use_bottleneck:
        ours["intra_bottleneck_size"] = fields["hidden_size"]
    return warnings


def local_copy(path):
    """A local file to open for `path`.

    Returns:
      (local path, tempfile.TemporaryDirectory holding it, or None): a
      path that is not local (gs://...) is copied with tf.io.gfile into a
      temporary folder, removed when that object is garbage-collected.
    """
    if is_local(path):
        return path, None
    work_dir = tempfile.TemporaryDirectory(prefix="safetensors_")
    local = os.path.join(work_dir.name, os.path.basename(path))
    tf.io.gfile.copy(path, local, overwrite=True)
    return local, work_dir


def bf16_locations(path, dtypes):
    """Where the bfloat16 tensors of a safetensors file are.

    The `safetensors` library validates the header but does not tell
    where a tensor's bytes are, so the header's JSON is read here: 8 bytes
    of little-endian length, the JSON, then the data, at `data_offsets`
    from the data's start.

    Args:
      path: a local safetensors file, already opened by the library.
      dtypes: {name: safetensors dtype} of its tensors.

    Returns:
      {name: (file offset, shape)} of its BF16 tensors; {} when none.
    """
    if "BF16" not in dtypes.values():
        return {}
    with open(path, "rb") as reader:
        (length,) = struct.unpack("<Q", reader.read(8))
        header = json.loads(reader.read(length).decode("utf-8"))
    return {name: (8 + length + header[name]["data_offsets"][0],
                   header[name]["shape"])
            for name, dtype in dtypes.items() if dtype == "BF16"}


class SafetensorsFile(collections.abc.Mapping):
    """The tensors of a safetensors file, each read when asked for.

    A read-only mapping {name: numpy array} over the `safetensors`
    library's `safe_open(path, framework="numpy")`, which reads one tensor
    at a time. A path that is not local (gs://...) is first copied to a
    temporary local file (see local_copy).

    BF16 tensors come back as float32, exactly (bfloat16 is the top half
    of a float32). NumPy has no bfloat16 and the library's NumPy framework
    refuses it (`data type "bfloat16" not understood`, safetensors 0.4.5
    and 0.6.2), so their raw bytes are read here (bf16_locations).
    """

    def __init__(self, path):
        """Opens `path` with the library, which checks its header.

        Raises:
          ValueError: naming the file, when it is not a safetensors file.
        """
        self.path = path
        self._local, self._work_dir = local_copy(path)
        try:
            with safetensors.safe_open(self._local, framework="numpy") as f:
                self._dtypes = collections.OrderedDict(
                    (name, f.get_slice(name).get_dtype())
                    for name in f.keys())
        except safetensors.SafetensorError as e:
            raise ValueError("%s: not a safetensors file (%s)" % (path, e))
        self._bf16 = bf16_locations(self._local, self._dtypes)

    def __getitem__(self, name):
        if self._dtypes[name] == "BF16":
            return self._read_bf16(name)
        with safetensors.safe_open(self._local, framework="numpy") as f:
            try:
                return f.get_tensor(name)
            except TypeError as e:  # a dtype NumPy lacks, e.g. F8_E4M3
                raise ValueError("%s: tensor %s has dtype %s, which cannot "
                                 "be read (%s)" % (self.path, name,
                                                   self._dtypes[name], e))

    def _read_bf16(self, name):
        """A BF16 tensor as float32: its 16 bits become the top half."""
        offset, shape = self._bf16[name]
        with open(self._local, "rb") as reader:
            reader.seek(offset)
            data = reader.read(2 * int(np.prod(shape)))
        bits = np.frombuffer(data, "<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)

    def __iter__(self):
        return iter(self._dtypes)

    def __len__(self):
        return len(self._dtypes)


# ---------------------------------------------------------------------------
# Our graph's outputs.
# ---------------------------------------------------------------------------


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
    if "ner" in heads:
        outputs["output/token_logits"] = modeling.token_classifier_logits(
            bert_config, model.get_sequence_output(), num_labels)  # [B,S,C]
    return outputs


def tf_outputs(checkpoint, bert_config, heads, num_labels, inputs):
    """Runs our graph from `checkpoint` on fixed inputs.

    Args:
      checkpoint: checkpoint prefix.
      bert_config: modeling.BertConfig.
      heads: head names ("mlm", "classifier", "squad", "ner").
      num_labels: rows of the classifier or token-classifier head (None
        without one).
      inputs: {"input/input_ids", "input/input_mask",
        "input/token_type_ids": int32 [B, S], "input/masked_lm_positions":
        int32 [B, P]}.

    Returns:
      OrderedDict of the inputs and the outputs: `output/hidden_states_{i}`
      (i = 0..L), `output/pooled_output` and the logits of each head, named
      as scripts/verify_pytorch.py names transformers' outputs.
    """
    arrays = collections.OrderedDict(inputs)
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
