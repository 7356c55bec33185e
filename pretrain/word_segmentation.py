# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Chinese word boundaries for whole-word masking: jieba's words, fast.

`WordSegmenter.continues_word(run)` gives, for a run of CJK ideographs, one
flag per character: 0 (`STARTS`) where a word starts, 1 (`CONTINUES`)
where the character continues the word before it. The words are those of
jieba 0.42.1's default `cut` (accurate mode, HMM on), over a private
`jieba.Tokenizer` with jieba's own dictionary.

jieba's pure-Python cut is a third or more of the time
`create_pretraining_data.py` spends on a corpus, so the same algorithm runs
in C (`word_segmentation.c`, built by `scripts/setup_env.sh` into
`_word_segmentation.so`, loaded with ctypes), over the tables of the jieba
tokenizer itself: its prefix dictionary and its HMM's probabilities. The
result is the same words, bit for bit the same scores and ties; the tests
compare the two on the shared data's texts. Where the library is not built
(or another part of the process has asked jieba to force-split words, which
the C code does not model), jieba's own cut is used, with the same result,
only slower.
"""

import ctypes
import logging
import os
import sys

import jieba
from jieba import finalseg
import numpy as np

CONTINUES = b"\x01"
STARTS = b"\x00"

# The library scripts/setup_env.sh compiles from word_segmentation.c.
LIBRARY_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "_word_segmentation.so")
# jieba's HMM states in the order the C code numbers them.
HMM_STATES = "BEMS"
# jieba's log probability of an emission or transition it never saw.
HMM_NEVER = finalseg.MIN_FLOAT
# Text as the C code reads it: uint32 code points in the machine's order.
CODE_POINTS_CODEC = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"


def load_library(path=LIBRARY_PATH):
    """The compiled segmenter with its argument types, or None if unbuilt."""
    if not os.path.exists(path):
        return None
    library = ctypes.CDLL(path)
    pointer = ctypes.c_void_p
    library.ws_new.restype = pointer
    library.ws_new.argtypes = [
        pointer, ctypes.c_int64, pointer, pointer, ctypes.c_int32,
        ctypes.c_int64, pointer, pointer, ctypes.c_int32, pointer, pointer]
    library.ws_free.restype = None
    library.ws_free.argtypes = [pointer]
    library.ws_cut.restype = ctypes.c_int32
    library.ws_cut.argtypes = [pointer, ctypes.c_char_p, ctypes.c_int32,
                               ctypes.c_char_p]
    return library


def _address(array):
    """The data pointer of a contiguous numpy array, for ctypes."""
    return array.ctypes.data_as(ctypes.c_void_p)


def _code_points(text):
    """The code points of `text` as a uint32 numpy array."""
    return np.frombuffer(text.encode(CODE_POINTS_CODEC), dtype=np.uint32)


def dictionary_tables(tokenizer):
    """jieba's prefix dictionary as (code points, lengths, frequencies)."""
    words = list(tokenizer.FREQ)
    lengths = np.array([len(word) for word in words], dtype=np.int32)
    frequencies = np.array([tokenizer.FREQ[word] for word in words],
                           dtype=np.int64)
    return _code_points("".join(words)), lengths, frequencies


def hmm_tables():
    """jieba's HMM as (emit characters, emit, start, trans) numpy arrays.

    `emit` has one row per character, one column per state of HMM_STATES;
    missing entries are jieba's default, HMM_NEVER, as are missing
    transitions.
    """
    characters = sorted(set().union(*(finalseg.emit_P[state]
                                      for state in HMM_STATES)))
    emit = np.array([[finalseg.emit_P[state].get(char, HMM_NEVER)
                      for state in HMM_STATES] for char in characters],
                    dtype=np.float64)
    start = np.array([finalseg.start_P[state] for state in HMM_STATES],
                     dtype=np.float64)
    trans = np.array([[finalseg.trans_P[source].get(target, HMM_NEVER)
                       for target in HMM_STATES] for source in HMM_STATES],
                     dtype=np.float64)
    return _code_points("".join(characters)), emit, start, trans


class WordSegmenter(object):
    """jieba's words of CJK runs, as word flags (see the module docstring)."""

    def __init__(self, library_path=LIBRARY_PATH):
        """Loads jieba's dictionary and, when built, the C segmenter.

        Args:
            library_path: The compiled `word_segmentation.c`; jieba's Python
              cut is used if it does not exist.

        Raises:
            MemoryError: If the C segmenter cannot allocate its tables.
        """
        jieba.setLogLevel(logging.WARNING)
        # A private tokenizer: words other code adds to jieba's global one
        # cannot change the segmentation.
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        self._library = load_library(library_path)
        self._handle = None
        self._flags = ctypes.create_string_buffer(0)  # Grown as needed.
        if self._library is not None:
            self._handle = self._new_native_segmenter()

    @property
    def is_native(self):
        """Whether the C segmenter is in use."""
        return self._handle is not None

    def _new_native_segmenter(self):
        """A C segmenter over this tokenizer's tables."""
        words, lengths, frequencies = dictionary_tables(self._tokenizer)
        emit_chars, emit, start, trans = hmm_tables()
        handle = self._library.ws_new(
            _address(words), len(words), _address(lengths),
            _address(frequencies), len(lengths), self._tokenizer.total,
            _address(emit_chars), _address(emit), len(emit_chars),
            _address(start), _address(trans))
        if not handle:
            raise MemoryError("The C word segmenter could not allocate its "
                              "tables (%d dictionary entries)." % len(lengths))
        return handle

    def __del__(self):
        if getattr(self, "_handle", None):
            self._library.ws_free(self._handle)

    def words(self, run):
        """jieba's words of `run`, by its own (Python) cut."""
        return list(self._tokenizer.cut(run))

    def continues_word(self, run):
        """Word flags (STARTS / CONTINUES bytes) of a run of CJK ideographs.

        Raises:
            RuntimeError: If the C segmenter runs out of memory or its words
              do not fit the run (neither happens with jieba's tables).
        """
        if self._handle is None or finalseg.Force_Split_Words:
            return b"".join(STARTS + CONTINUES * (len(word) - 1)
                            for word in self._tokenizer.cut(run))
        if len(run) > len(self._flags):
            self._flags = ctypes.create_string_buffer(2 * len(run))
        count = self._library.ws_cut(self._handle,
                                     run.encode(CODE_POINTS_CODEC), len(run),
                                     self._flags)
        if count < 0:
            raise RuntimeError("The C word segmenter failed (%d) on %r." %
                               (count, run))
        return ctypes.string_at(self._flags, count)
