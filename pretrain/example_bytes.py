# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Pretraining instances as `tf.train.Example` bytes, written directly.

The bytes are those of `tf.train.Example.SerializeToString(deterministic=
True)` for the features `input_ids`, `input_mask`, `segment_ids` (int64 x
max_seq_length, zero padded), `masked_lm_positions`, `masked_lm_ids` (int64
x max_predictions_per_seq, zero padded), `masked_lm_weights` (float x
max_predictions_per_seq, 1.0 for a real prediction) and
`next_sentence_labels` (int64 x 1): the encoder lays the protobuf fields out
itself, several times faster than building the message (tested byte-equal).
"""

import functools
import operator
import struct

import tensorflow.compat.v1 as tf

from pretrain import tokenization

# How many written examples are logged in full.
NUM_LOGGED_EXAMPLES = 5


@functools.lru_cache(maxsize=None)
def _varint(value):
    """Protocol-buffer base-128 varint bytes of a non-negative integer."""
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(0x80 | (value & 0x7F))
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def _length_delimited(field_tag, payload):
    """A length-delimited protocol-buffer field: tag, length, payload."""
    return field_tag + _varint(len(payload)) + payload


# Field tags (field number << 3 | wire type 2) of tf.train.Example's messages.
_FEATURES_FIELD = b"\x0a"   # Example.features; Features.feature (map entry)
_MAP_KEY = b"\x0a"          # the map entry's key
_MAP_VALUE = b"\x12"        # the map entry's value, a Feature
_FLOAT_LIST = b"\x12"       # Feature.float_list
_INT64_LIST = b"\x1a"       # Feature.int64_list
_PACKED_VALUES = b"\x0a"    # Int64List.value / FloatList.value (packed)


def _feature_entry(name, list_field, packed_values):
    """One `Features.feature` map entry: name -> Feature(list of values)."""
    feature = _length_delimited(
        list_field, _length_delimited(_PACKED_VALUES, packed_values))
    return _length_delimited(_FEATURES_FIELD, _length_delimited(
        _MAP_KEY, name.encode("utf-8")) + _length_delimited(_MAP_VALUE,
                                                            feature))


def _entry_prefix(name, list_field, num_bytes):
    """The bytes of a map entry before its `num_bytes` packed values."""
    entry = _feature_entry(name, list_field, b"\x00" * num_bytes)
    return entry[:len(entry) - num_bytes]


class ExampleEncoder(object):
    """Serializes instances as `tf.train.Example`s of the documented features.

    The bytes are written directly in the protocol-buffer wire format, with
    the feature map ordered by name: exactly what
    `tf.train.Example.SerializeToString(deterministic=True)` gives for the
    same features (tested), without building the message. The entries whose
    size is fixed (mask, segment ids, weights, labels) start with a
    precomputed prefix.
    """

    def __init__(self, max_seq_length, max_predictions_per_seq, vocab_size):
        """Creates the encoder.

        Args:
            max_seq_length: Padded length of the per-token features.
            max_predictions_per_seq: Padded length of the prediction
              features.
            vocab_size: Number of token ids.
        """
        self.max_seq_length = max_seq_length
        self.max_predictions_per_seq = max_predictions_per_seq
        # The varint of every id and position (a list beats a cache here).
        self._varints = [_varint(value)
                         for value in range(max(vocab_size, max_seq_length))]
        # 0 and 1 are one varint byte each; a float is 4 bytes.
        self._mask_prefix = _entry_prefix("input_mask", _INT64_LIST,
                                          max_seq_length)
        self._segment_prefix = _entry_prefix("segment_ids", _INT64_LIST,
                                             max_seq_length)
        self._weights_prefix = _entry_prefix(
            "masked_lm_weights", _FLOAT_LIST, 4 * max_predictions_per_seq)
        self._next_sentence_entries = [
            _feature_entry("next_sentence_labels", _INT64_LIST, label)
            for label in (b"\x00", b"\x01")]
        self._keys = {name: _length_delimited(_MAP_KEY, name.encode("utf-8"))
                      for name in ("input_ids", "masked_lm_ids",
                                   "masked_lm_positions")}
        self._float_one = struct.pack("<f", 1.0)
        self._float_zero = struct.pack("<f", 0.0)

    def _padded_entry(self, key, values, length):
        """The map entry of an int64 feature, `values` zero padded.

        Args:
            key: The entry's encoded key field (`self._keys[name]`).
            values: The non-negative ids or positions.
            length: The padded length.
        """
        # itemgetter looks every value up in one C call; the leading 0 (one
        # byte, cut off again) makes its result a tuple even for one value.
        packed = b"".join(operator.itemgetter(0, *values)(self._varints))
        packed = packed[1:] + b"\x00" * (length - len(values))
        int64_list = _PACKED_VALUES + _varint(len(packed)) + packed
        feature = _INT64_LIST + _varint(len(int64_list)) + int64_list
        entry = key + _MAP_VALUE + _varint(len(feature)) + feature
        return _FEATURES_FIELD + _varint(len(entry)) + entry

    def encode(self, instance):
        """Returns the serialized example of `instance`.

        Raises:
            ValueError: If the instance does not fit the lengths.
        """
        num_tokens = len(instance.input_ids)
        num_predictions = len(instance.masked_lm_positions)
        if num_tokens > self.max_seq_length:
            raise ValueError("Instance has %d tokens; max_seq_length is %d." %
                             (num_tokens, self.max_seq_length))
        if num_predictions > self.max_predictions_per_seq:
            raise ValueError(
                "Instance has %d predictions; max_predictions_per_seq is %d."
                % (num_predictions, self.max_predictions_per_seq))
        padding = b"\x00" * (self.max_seq_length - num_tokens)
        num_free = self.max_predictions_per_seq - num_predictions
        entries = (  # In the order of the names.
            self._padded_entry(self._keys["input_ids"], instance.input_ids,
                               self.max_seq_length),
            self._mask_prefix + b"\x01" * num_tokens + padding,
            self._padded_entry(self._keys["masked_lm_ids"],
                               instance.masked_lm_ids,
                               self.max_predictions_per_seq),
            self._padded_entry(self._keys["masked_lm_positions"],
                               instance.masked_lm_positions,
                               self.max_predictions_per_seq),
            self._weights_prefix + self._float_one * num_predictions +
            self._float_zero * num_free,
            self._next_sentence_entries[int(instance.is_random_next)],
            self._segment_prefix + bytes(instance.segment_ids) + padding,
        )
        return _length_delimited(_FEATURES_FIELD, b"".join(entries))


def log_example(record, tokenizer):
    """Logs a serialized example decoded back to tokens."""
    feature = tf.train.Example.FromString(record).features.feature
    length = sum(feature["input_mask"].int64_list.value)
    num_predictions = int(sum(feature["masked_lm_weights"].float_list.value))
    input_ids = feature["input_ids"].int64_list.value[:length]
    masked_ids = feature["masked_lm_ids"].int64_list.value[:num_predictions]
    tf.logging.info("*** Example ***")
    tf.logging.info("tokens: %s", " ".join(
        tokenization.printable_text(token)
        for token in tokenizer.convert_ids_to_tokens(input_ids)))
    tf.logging.info("segment_ids: %s", " ".join(
        str(x) for x in feature["segment_ids"].int64_list.value[:length]))
    tf.logging.info("masked_lm_positions: %s", " ".join(
        str(x) for x in
        feature["masked_lm_positions"].int64_list.value[:num_predictions]))
    tf.logging.info("masked_lm_labels: %s", " ".join(
        tokenization.printable_text(token)
        for token in tokenizer.convert_ids_to_tokens(masked_ids)))
    tf.logging.info("next_sentence_labels: %d",
                    feature["next_sentence_labels"].int64_list.value[0])
