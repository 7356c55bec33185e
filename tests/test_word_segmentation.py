# coding=utf-8
"""Tests for pretrain/word_segmentation.py: the C segmenter gives jieba's
words.

jieba's own cut (`WordSegmenter.words`, the Python code of jieba 0.42.1) is
the reference throughout; the C code must agree on every run of the shared
data's real text and on random runs built to reach its corners (characters
the HMM never saw, ideographs outside jieba's block, long runs).
"""

import glob
import io
import os
import random

import pytest
from jieba import finalseg

from conftest import DATA_DIR, TESTDATA, has_data

from pretrain import tokenization
from pretrain import word_segmentation

# The repository's real-data slices, and the full data sets under DATA_DIR
# where they exist.
DATA_FILES = sorted(
    path for folder in (TESTDATA, DATA_DIR)
    for path in glob.glob(os.path.join(folder, "*", "*"))
    if path.endswith((".json", ".tsv"))
    and os.path.basename(os.path.dirname(path)) not in ("golden", "vocab"))


@pytest.fixture(scope="module")
def segmenter():
    return word_segmentation.WordSegmenter()


def flags_of_words(words):
    """Word flags (STARTS / CONTINUES bytes) of a list of words."""
    return b"".join(word_segmentation.STARTS +
                    word_segmentation.CONTINUES * (len(word) - 1)
                    for word in words)


def cjk_runs(text):
    return [match.group()
            for match in tokenization.CJK_RUN_PATTERN.finditer(text)]


def assert_same_as_jieba(segmenter, runs):
    mismatches = [run for run in runs
                  if segmenter.continues_word(run) !=
                  flags_of_words(segmenter.words(run))]
    assert not mismatches, "%d of %d runs differ from jieba, e.g. %r" % (
        len(mismatches), len(runs), mismatches[:3])


def test_setup_built_the_c_segmenter_and_it_is_used(segmenter):
    assert os.path.exists(word_segmentation.LIBRARY_PATH)
    assert segmenter.is_native


def test_flags_mark_the_characters_after_a_words_first(segmenter):
    run = "我们在北京大学读书"
    assert segmenter.words(run) == ["我们", "在", "北京大学", "读书"]
    assert segmenter.continues_word(run) == b"\x00\x01\x00\x00\x01\x01\x01" \
                                            b"\x00\x01"


def test_hmm_words_of_unknown_names_are_jiebas(segmenter):
    # Single characters of the dictionary route that jieba hands to its
    # HMM, which joins some of them into words.
    run = "他来到了网易杭研大厦"
    words = segmenter.words(run)
    assert "杭研" in words
    assert segmenter.continues_word(run) == flags_of_words(words)


def test_same_words_as_jieba_on_every_run_of_the_shared_data(segmenter):
    full = has_data("chnsenticorp", "train.tsv")
    assert len(DATA_FILES) >= (8 if full else 3), DATA_FILES
    runs = []
    for path in DATA_FILES:
        with io.open(path, encoding="utf-8") as reader:
            runs.extend(cjk_runs(reader.read()))
    # CMRC 2018 and ChnSentiCorp (simplified) and DRCD (traditional); the
    # slices alone hold about 8,700 runs.
    assert len(runs) > (200000 if full else 8000)
    assert_same_as_jieba(segmenter, runs)


def random_run(rng, dictionary_words):
    """Dictionary words mixed with ideographs from every CJK block."""
    pieces = []
    for _ in range(rng.randint(1, 12)):
        draw = rng.random()
        if draw < 0.5:
            pieces.append(rng.choice(dictionary_words))
        elif draw < 0.8:  # jieba's block and the few ideographs after it
            pieces.append(chr(rng.randint(0x4E00, 0x9FFF)))
        elif draw < 0.9:  # extension A
            pieces.append(chr(rng.randint(0x3400, 0x4DBF)))
        elif draw < 0.95:  # extension B
            pieces.append(chr(rng.randint(0x20000, 0x2A6DF)))
        else:  # compatibility ideographs
            pieces.append(chr(rng.randint(0xF900, 0xFAFF)))
    return "".join(pieces)


def test_same_words_as_jieba_on_random_runs(segmenter):
    rng = random.Random(20261203)
    dictionary_words = sorted(
        word for word in segmenter._tokenizer.FREQ
        if len(word) <= 4 and all("\u4e00" <= char <= "\u9fd5"
                                  for char in word))
    runs = [random_run(rng, dictionary_words) for _ in range(20000)]
    # Long runs of mostly rare characters: long HMM paths with many ties.
    runs += ["".join(chr(rng.randint(0x9E00, 0x9FFF)) for _ in range(length))
             for length in (1, 2, 3, 50, 500, 5000)]
    assert_same_as_jieba(segmenter, runs)


def test_without_the_library_jiebas_python_cut_gives_the_flags(tmp_path):
    segmenter = word_segmentation.WordSegmenter(
        library_path=str(tmp_path / "missing.so"))
    assert not segmenter.is_native
    run = "他来到了网易杭研大厦"
    assert segmenter.continues_word(run) == flags_of_words(
        segmenter.words(run))


class _FailingLibrary(object):
    """Stands in for the C library where it must not be called."""

    def ws_cut(self, *args):
        raise AssertionError("the C segmenter was called")

    def ws_free(self, handle):
        pass


def test_forced_splits_go_to_jiebas_own_cut(monkeypatch):
    # jieba.Tokenizer.add_word(word, 0) anywhere in the process makes jieba
    # split `word` into characters; the C code does not model that.
    segmenter = word_segmentation.WordSegmenter()
    monkeypatch.setattr(segmenter, "_library", _FailingLibrary())
    monkeypatch.setattr(finalseg, "Force_Split_Words", {"杭研"})
    run = "他来到了网易杭研大厦"
    assert "杭研" not in segmenter.words(run)
    assert segmenter.continues_word(run) == flags_of_words(
        segmenter.words(run))
