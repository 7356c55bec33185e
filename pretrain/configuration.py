# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The model configuration: the fields of a JSON config file, checked.

A BERT teacher and a MobileBERT student share one configuration class; the
student fields (`embedding_size`, `trigram_input`, `use_bottleneck`,
`intra_bottleneck_size`, `use_bottleneck_attention`,
`key_query_shared_bottleneck`, `num_feedforward_networks`,
`normalization_type`, `classifier_activation`) default to a plain BERT.
Loading a config checks every field's type and value and names the field
that cannot work (with "did you mean" for an unknown key).
"""

import copy
import difflib
import json

import six

from pretrain import file_io

NORMALIZATION_TYPES = ("layer_norm", "no_norm", "manual_layer_norm")
# Names of `hidden_act` (modeling.get_activation maps them to functions).
ACTIVATION_NAMES = ("gelu", "linear", "relu", "tanh")
_POSITIVE_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers",
                    "num_attention_heads", "intermediate_size",
                    "max_position_embeddings", "type_vocab_size",
                    "embedding_size", "intra_bottleneck_size",
                    "num_feedforward_networks")
_FLOAT_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob",
                 "initializer_range")
_BOOL_FIELDS = ("trigram_input", "use_bottleneck", "use_bottleneck_attention",
                "key_query_shared_bottleneck", "classifier_activation")
_STRING_FIELDS = ("hidden_act", "normalization_type")
# Keys of the published BERT / RoBERTa-wwm-ext teacher configs that the model
# does not use; accepted and ignored.
_IGNORED_KEYS = ("directionality",)
_IGNORED_PREFIXES = ("pooler_",)


def check_activation(name):
    """Raises ValueError unless `name` is a known `hidden_act`."""
    key = name.lower() if isinstance(name, six.string_types) else name
    if key not in ACTIVATION_NAMES:
        raise ValueError(
            "hidden_act: unknown activation %r; expected one of %s" %
            (name, sorted(ACTIVATION_NAMES)))
    return key


class BertConfig(object):
    """Configuration of a BERT or MobileBERT model (the JSON config file)."""

    def __init__(self,
                 vocab_size,
                 hidden_size=768,
                 num_hidden_layers=12,
                 num_attention_heads=12,
                 intermediate_size=3072,
                 hidden_act="gelu",
                 hidden_dropout_prob=0.1,
                 attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512,
                 type_vocab_size=16,
                 initializer_range=0.02,
                 embedding_size=None,
                 trigram_input=False,
                 use_bottleneck=False,
                 intra_bottleneck_size=None,
                 use_bottleneck_attention=False,
                 key_query_shared_bottleneck=False,
                 num_feedforward_networks=1,
                 normalization_type="layer_norm",
                 classifier_activation=True):
        """Stores the fields and checks that they describe a buildable model.

        Raises:
            ValueError: naming the offending field, for non-positive
                sizes, heads that do not divide the attention width, an
                unknown activation or an unknown normalization type.
        """
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.embedding_size = (hidden_size
                               if embedding_size is None else embedding_size)
        self.trigram_input = trigram_input
        self.use_bottleneck = use_bottleneck
        self.intra_bottleneck_size = (hidden_size if intra_bottleneck_size
                                      is None else intra_bottleneck_size)
        self.use_bottleneck_attention = use_bottleneck_attention
        self.key_query_shared_bottleneck = key_query_shared_bottleneck
        self.num_feedforward_networks = num_feedforward_networks
        self.normalization_type = normalization_type
        self.classifier_activation = classifier_activation
        self.validate()

    @property
    def attention_width(self):
        """Width of the attention block: the bottleneck size or hidden size."""
        return self.intra_bottleneck_size if self.use_bottleneck else (
            self.hidden_size)

    def validate(self):
        """Raises ValueError naming the first field that cannot work."""
        self.check_types()
        for field in _POSITIVE_FIELDS:
            value = getattr(self, field)
            if not isinstance(value, six.integer_types) or isinstance(
                    value, bool):
                raise ValueError("%s: expected a positive integer, got %r" %
                                 (field, value))
            if value <= 0:
                raise ValueError("%s: expected a positive integer, got %r" %
                                 (field, value))
        if self.attention_width % self.num_attention_heads:
            width_field = ("intra_bottleneck_size" if self.use_bottleneck
                           else "hidden_size")
            raise ValueError(
                "num_attention_heads: %d heads do not divide the attention "
                "width %d (%s)" % (self.num_attention_heads,
                                   self.attention_width, width_field))
        check_activation(self.hidden_act)
        if self.normalization_type not in NORMALIZATION_TYPES:
            raise ValueError(
                "normalization_type: unknown value %r; expected one of "
                "%s" % (self.normalization_type, NORMALIZATION_TYPES))
        for field in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, field)
            if not 0.0 <= value < 1.0:
                raise ValueError(
                    "%s: expected a probability in [0, 1), got %r" %
                    (field, value))
        if self.initializer_range <= 0:
            raise ValueError(
                "initializer_range: expected a positive number, got %r" %
                self.initializer_range)
        if self.embedding_size > self.hidden_size:
            raise ValueError(
                "embedding_size: %d is larger than hidden_size %d" %
                (self.embedding_size, self.hidden_size))

    def check_types(self):
        """Raises ValueError naming the first field of the wrong JSON type.

        Booleans must be JSON true/false (the string "false" is not one),
        probabilities and ranges numbers, activation and normalization
        strings; integer fields are checked by validate().
        """
        for field in _BOOL_FIELDS:
            value = getattr(self, field)
            if not isinstance(value, bool):
                raise ValueError("%s: expected true or false, got %r" %
                                 (field, value))
        for field in _FLOAT_FIELDS:
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(
                    value, six.integer_types + (float,)):
                raise ValueError("%s: expected a number, got %r" %
                                 (field, value))
        for field in _STRING_FIELDS:
            value = getattr(self, field)
            if not isinstance(value, six.string_types):
                raise ValueError("%s: expected a string, got %r" %
                                 (field, value))

    def check_seq_length(self, max_seq_length):
        """Raises ValueError when sequences outgrow the position table."""
        if max_seq_length > self.max_position_embeddings:
            raise ValueError("max_seq_length: %d is larger than the config's "
                             "max_position_embeddings %d" %
                             (max_seq_length, self.max_position_embeddings))

    @classmethod
    def from_dict(cls, json_object):
        """Builds a config from a dict of the JSON fields.

        The published teacher configs' `directionality` and `pooler_*` keys
        are accepted and ignored; any other unknown key is an error naming
        the closest known field (a typo must not build the default model).
        """
        known = cls.__init__.__code__.co_varnames[
            1:cls.__init__.__code__.co_argcount]
        if "vocab_size" not in json_object:
            raise ValueError("vocab_size: missing from the config")
        for key in sorted(json_object):
            if key in known or key in _IGNORED_KEYS or key.startswith(
                    _IGNORED_PREFIXES):
                continue
            close = difflib.get_close_matches(key, known, n=1)
            raise ValueError("%s: unknown config field%s" %
                             (key, "; did you mean %r?" % close[0]
                              if close else " (known: %s)" %
                              ", ".join(known)))
        kwargs = {k: v for k, v in six.iteritems(json_object) if k in known}
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls, json_file, flag=None):
        """Reads a config from a JSON file (local path or gs://).

        Raises:
            ValueError: starting with the file (and `flag`) and naming the
                field, for an unreadable file or a config that cannot work.
        """
        data = file_io.load_json(json_file, flag, what="model config")
        try:
            return cls.from_dict(data)
        except (ValueError, TypeError) as e:
            raise ValueError("%s: %s" % (file_io.source(json_file, flag), e))

    def to_dict(self):
        """Returns the fields as a dict."""
        return copy.deepcopy(self.__dict__)

    def to_json_string(self):
        """Returns the config as a sorted, indented JSON string."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
