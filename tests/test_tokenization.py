# coding=utf-8
"""Tests for pretrain/tokenization.py on hand-made and real Chinese text."""

import json
import os
import subprocess
import sys
import unicodedata

import pytest

from pretrain import tokenization
from conftest import VOCAB, squad_files

CHINESE_VOCAB = VOCAB
# CMRC 2018 dev first, then DRCD dev (slices, then any full files).
MRC_DEV_SETS = tuple(path for path in squad_files()
                     if "trial" not in os.path.basename(path))
# Tokens the real-text tests see at least: the slices hold about 36,000,
# the full dev sets over 500,000.
MIN_REAL_TOKENS = 500000 if len(MRC_DEV_SETS) > 2 else 30000
LINE_SEPARATOR = "\u2028"


def write_vocab(directory, tokens, name="vocab.txt"):
    """Writes `tokens` one per line with "\\n" endings; returns the path."""
    path = os.path.join(str(directory), name)
    with open(path, "wb") as writer:
        writer.write("".join(token + "\n" for token in tokens).encode("utf-8"))
    return path


def read_mrc_texts(path):
    """Returns every context and every question of a squad-style JSON file."""
    with open(path, encoding="utf-8") as reader:
        articles = json.load(reader)["data"]
    texts = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            texts.append(paragraph["context"])
            texts.extend(qa["question"] for qa in paragraph["qas"])
    return texts


def is_cjk(char):
    """Returns True if the one-character string `char` is a CJK ideograph."""
    return tokenization.is_chinese_char(ord(char))


# --------------------------------------------------------------------------
# Vocabulary loading.


def test_shared_chinese_vocab_keeps_line_separator_entries():
    vocab = tokenization.load_vocab(CHINESE_VOCAB)
    assert len(vocab) == 21128
    tokens = list(vocab)
    assert tokens[343] == LINE_SEPARATOR
    assert vocab[LINE_SEPARATOR] == 343
    assert tokens[13502] == "##" + LINE_SEPARATOR
    assert list(vocab.values()) == list(range(len(vocab)))
    for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        assert special in vocab


def test_load_vocab_splits_on_newline_only(tmp_path):
    path = write_vocab(tmp_path, ["[UNK]", "a" + LINE_SEPARATOR + "b",
                                  LINE_SEPARATOR, "c\u0085d", "z"])
    vocab = tokenization.load_vocab(path)
    assert list(vocab) == ["[UNK]", "a\u2028b", "\u2028", "c\u0085d", "z"]
    assert list(vocab.values()) == [0, 1, 2, 3, 4]


def test_load_vocab_trims_carriage_returns_spaces_and_final_blank_lines(
        tmp_path):
    path = os.path.join(str(tmp_path), "vocab.txt")
    with open(path, "wb") as writer:
        writer.write(b"[UNK]\r\n hello\t\r\nworld \n\n\n")
    assert list(tokenization.load_vocab(path).items()) == [
        ("[UNK]", 0), ("hello", 1), ("world", 2)]


def test_load_vocab_rejects_duplicates_naming_file_and_line(tmp_path):
    path = write_vocab(tmp_path, ["[UNK]", "a", "b", "a"])
    with pytest.raises(ValueError) as error:
        tokenization.load_vocab(path)
    message = str(error.value)
    assert path in message
    assert "line 4" in message
    assert "line 2" in message


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n\n"])
def test_load_vocab_rejects_empty_file(tmp_path, content):
    path = os.path.join(str(tmp_path), "empty.txt")
    with open(path, "wb") as writer:
        writer.write(content)
    with pytest.raises(ValueError, match="empty") as error:
        tokenization.load_vocab(path)
    assert path in str(error.value)


def test_load_vocab_rejects_blank_line_inside_file(tmp_path):
    path = write_vocab(tmp_path, ["[UNK]", "a", "", "b"])
    with pytest.raises(ValueError, match="line 3"):
        tokenization.load_vocab(path)


def test_load_vocab_rejects_invalid_utf8(tmp_path):
    path = os.path.join(str(tmp_path), "latin1.txt")
    with open(path, "wb") as writer:
        writer.write(b"[UNK]\ncaf\xe9\n")
    with pytest.raises(ValueError, match="line 2"):
        tokenization.load_vocab(path)


# --------------------------------------------------------------------------
# Character classes and text conversion.


def test_character_classes():
    for char in "中文字龘\u3400\uf900" + chr(0x20000) + chr(0x2b820):
        assert tokenization.is_chinese_char(ord(char)), repr(char)
    for char in "aZ9，。あア한\u3000":
        assert not tokenization.is_chinese_char(ord(char)), repr(char)

    for char in " \t\n\r\u00a0\u3000":
        assert tokenization._is_whitespace(char), repr(char)
    for char in "a中\x00\u200b":
        assert not tokenization._is_whitespace(char), repr(char)

    for char in "\x00\x07\x1b\u200b\u200e":
        assert tokenization._is_control(char), repr(char)
    for char in "\t\n\r a中":
        assert not tokenization._is_control(char), repr(char)

    for char in "!\"#$+/:@[^`{~-，。！？、《》「」（）":
        assert tokenization._is_punctuation(char), repr(char)
    for char in "aA0 中\u2028":
        assert not tokenization._is_punctuation(char), repr(char)


def test_convert_to_unicode():
    assert tokenization.convert_to_unicode("中文") == "中文"
    assert tokenization.convert_to_unicode(b"\xe4\xb8\xad\xe6\x96\x87") == "中文"
    assert tokenization.convert_to_unicode(b"ab\xffc") == "abc"
    with pytest.raises(ValueError):
        tokenization.convert_to_unicode(3)


# --------------------------------------------------------------------------
# BasicTokenizer.


def test_lower_case_strips_accents():
    tokenizer = tokenization.BasicTokenizer(do_lower_case=True)
    assert tokenizer.tokenize("Héllo") == ["hello"]
    assert tokenizer.tokenize(" \tHeLLo!  Ça  va?\n") == [
        "hello", "!", "ca", "va", "?"]


def test_accents_and_case_kept_without_lower_case():
    tokenizer = tokenization.BasicTokenizer(do_lower_case=False)
    assert tokenizer.tokenize("Héllo") == ["Héllo"]
    assert tokenizer.tokenize(" \tHeLLo!  Ça  va?\n") == [
        "HeLLo", "!", "Ça", "va", "?"]


def test_control_characters_removed():
    tokenizer = tokenization.BasicTokenizer()
    text = "he\x00l\x07lo\ufffd wor\u200bld\x1b"
    assert tokenizer.tokenize(text) == ["hello", "world"]


def test_unicode_whitespace_separates_words():
    tokenizer = tokenization.BasicTokenizer()
    text = "a\u3000b\u00a0c\td\r\ne" + LINE_SEPARATOR + "f"
    assert tokenizer.tokenize(text) == ["a", "b", "c", "d", "e", "f"]


def test_punctuation_split_including_full_width():
    tokenizer = tokenization.BasicTokenizer()
    assert tokenizer.tokenize("你好，世界。真棒！") == [
        "你", "好", "，", "世", "界", "。", "真", "棒", "！"]
    assert tokenizer.tokenize("e.g.,1$2^3...ok") == [
        "e", ".", "g", ".", ",", "1", "$", "2", "^", "3", ".", ".", ".", "ok"]


def test_every_cjk_character_is_separate():
    tokenizer = tokenization.BasicTokenizer()
    assert tokenizer.tokenize("ab中文cd 12年") == [
        "ab", "中", "文", "cd", "12", "年"]
    # Kana and Hangul are not CJK ideographs: they stay joined (the cased
    # tokenizer is used so that NFD leaves them untouched).
    cased = tokenization.BasicTokenizer(do_lower_case=False)
    assert cased.tokenize("ひらがな한국어") == ["ひらがな한국어"]


def test_accepts_utf8_bytes():
    tokenizer = tokenization.BasicTokenizer()
    utf8 = "中文ABC".encode("utf-8")
    assert tokenizer.tokenize(utf8) == ["中", "文", "abc"]


# --------------------------------------------------------------------------
# WordpieceTokenizer.


def test_wordpiece_continuation_pieces():
    vocab = {token: index for index, token in enumerate(
        ["[UNK]", "un", "##aff", "##able", "##a", "##ff", "u"])}
    tokenizer = tokenization.WordpieceTokenizer(vocab)
    assert tokenizer.tokenize("unaffable") == ["un", "##aff", "##able"]


def test_wordpiece_greedy_longest_match_and_unknown_words():
    vocab = {token: index for index, token in enumerate(
        ["[UNK]", "want", "##want", "##ed", "wa", "un", "runn", "##ing"])}
    tokenizer = tokenization.WordpieceTokenizer(vocab)
    assert tokenizer.tokenize("") == []
    assert tokenizer.tokenize("unwanted running") == [
        "un", "##want", "##ed", "runn", "##ing"]
    # One piece that cannot be matched turns the whole word into [UNK].
    assert tokenizer.tokenize("unwantedX running") == [
        "[UNK]", "runn", "##ing"]


def test_wordpiece_words_longer_than_limit_are_unknown():
    vocab = {"[UNK]": 0, "a": 1, "##a": 2}
    tokenizer = tokenization.WordpieceTokenizer(
        vocab, unk_token="[UNK]", max_input_chars_per_word=5)
    assert tokenizer.tokenize("aaaaa") == ["a"] + ["##a"] * 4
    assert tokenizer.tokenize("aaaaaa") == ["[UNK]"]


def test_full_tokenizer_default_limit_is_200_chars(tmp_path):
    tokenizer = tokenization.FullTokenizer(
        write_vocab(tmp_path, ["[UNK]", "a", "##a"]))
    assert tokenizer.tokenize("a" * 200) == ["a"] + ["##a"] * 199
    assert tokenizer.tokenize("a" * 201) == ["[UNK]"]


# --------------------------------------------------------------------------
# FullTokenizer (WordPiece mode).


MIXED_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "我", "爱", "和", "年",
               "py", "python", "##thon", "##3", "20", "2020", "##20"]


def test_mixed_chinese_english_and_digits(tmp_path):
    tokenizer = tokenization.FullTokenizer(write_vocab(tmp_path, MIXED_VOCAB))
    tokens = tokenizer.tokenize("我爱Python3和2020年")
    assert tokens == ["我", "爱", "python", "##3", "和", "2020", "年"]
    ids = tokenizer.convert_tokens_to_ids(tokens)
    assert ids == [MIXED_VOCAB.index(token) for token in tokens]
    assert tokenizer.convert_ids_to_tokens(ids) == tokens


def test_mixed_text_with_unknown_characters(tmp_path):
    tokenizer = tokenization.FullTokenizer(write_vocab(tmp_path, MIXED_VOCAB))
    assert tokenizer.tokenize("我恨Python3") == [
        "我", "[UNK]", "python", "##3"]
    cased = tokenization.FullTokenizer(
        write_vocab(tmp_path, MIXED_VOCAB), do_lower_case=False)
    assert cased.tokenize("我爱Python3") == ["我", "爱", "[UNK]"]


def test_vocab_attributes(tmp_path):
    tokenizer = tokenization.FullTokenizer(write_vocab(tmp_path, MIXED_VOCAB))
    assert list(tokenizer.vocab) == MIXED_VOCAB
    assert tokenizer.inv_vocab == dict(enumerate(MIXED_VOCAB))


def test_unknown_tokens_map_to_unk_id(tmp_path):
    tokenizer = tokenization.FullTokenizer(write_vocab(tmp_path, MIXED_VOCAB))
    assert tokenizer.convert_tokens_to_ids(["我", "nope"]) == [4, 1]


def test_unknown_token_without_unk_entry_raises(tmp_path):
    tokenizer = tokenization.FullTokenizer(
        write_vocab(tmp_path, ["我", "爱"]))
    assert tokenizer.convert_tokens_to_ids(["爱", "我"]) == [1, 0]
    with pytest.raises(ValueError, match="nope"):
        tokenizer.convert_tokens_to_ids(["我", "nope"])


def test_unknown_id_raises(tmp_path):
    tokenizer = tokenization.FullTokenizer(write_vocab(tmp_path, MIXED_VOCAB))
    with pytest.raises(ValueError, match=str(len(MIXED_VOCAB))):
        tokenizer.convert_ids_to_tokens([0, len(MIXED_VOCAB)])


def test_full_tokenizer_needs_vocab_or_model():
    with pytest.raises(ValueError):
        tokenization.FullTokenizer(None)


# --------------------------------------------------------------------------
# Checkpoint / case consistency.


@pytest.mark.parametrize("checkpoint,do_lower_case", [
    ("/m/chinese_L-12_H-768_A-12/bert_model.ckpt", True),
    ("gs://b/chinese_roberta_wwm_ext_L-12_H-768_A-12/bert_model.ckpt", True),
    ("/m/cased_L-12_H-768_A-12/bert_model.ckpt", False),
    ("/m/my_own_model/model.ckpt-1000", False),
    ("/m/my_own_model/model.ckpt-1000", True),
    ("", False),
    (None, True),
])
def test_case_check_accepts_consistent_settings(checkpoint, do_lower_case):
    tokenization.validate_case_matches_checkpoint(do_lower_case, checkpoint)


@pytest.mark.parametrize("checkpoint,do_lower_case", [
    ("/m/chinese_L-12_H-768_A-12/bert_model.ckpt", False),
    ("/m/chinese_roberta_wwm_large_ext_L-24_H-1024_A-16/bert_model.ckpt",
     False),
    ("/m/uncased_L-12_H-768_A-12/bert_model.ckpt", False),
    ("/m/multi_cased_L-12_H-768_A-12/bert_model.ckpt", True),
])
def test_case_check_rejects_mismatch(checkpoint, do_lower_case):
    with pytest.raises(ValueError, match="do_lower_case"):
        tokenization.validate_case_matches_checkpoint(do_lower_case,
                                                      checkpoint)


# --------------------------------------------------------------------------
# Real Chinese reading-comprehension text with the shared vocabulary.


@pytest.fixture(scope="module")
def chinese_tokenizer():
    return tokenization.FullTokenizer(CHINESE_VOCAB, do_lower_case=True)


@pytest.fixture(scope="module")
def tokenized_mrc_texts(chinese_tokenizer):
    """(text, tokens) for every CMRC 2018 / DRCD dev context and question."""
    pairs = []
    for path in MRC_DEV_SETS:
        texts = read_mrc_texts(path)
        assert texts, path
        pairs.extend((text, chinese_tokenizer.tokenize(text))
                     for text in texts)
    return pairs


def test_real_text_round_trips_through_ids(chinese_tokenizer,
                                           tokenized_mrc_texts):
    vocab_size = len(chinese_tokenizer.vocab)
    for _, tokens in tokenized_mrc_texts:
        ids = chinese_tokenizer.convert_tokens_to_ids(tokens)
        assert all(0 <= token_id < vocab_size for token_id in ids)
        assert chinese_tokenizer.convert_ids_to_tokens(ids) == tokens


def test_real_text_cjk_characters_are_single_tokens(chinese_tokenizer,
                                                    tokenized_mrc_texts):
    vocab = chinese_tokenizer.vocab
    cjk_seen = 0
    for text, tokens in tokenized_mrc_texts:
        for token in tokens:
            if any(is_cjk(char) for char in token):
                assert len(token) == 1, (token, text[:50])
        # Every in-vocabulary ideograph of the text appears, in order, as a
        # token of its own (accent removal maps compatibility ideographs to
        # their unified forms).
        expected = [unicodedata.normalize("NFD", char) for char in text
                    if is_cjk(char)]
        expected = [char for char in expected if char in vocab]
        assert [token for token in tokens if is_cjk(token[0])] == expected
        cjk_seen += len(expected)
    assert cjk_seen > 0.8 * MIN_REAL_TOKENS


def test_real_text_unknown_rate_below_one_percent(tokenized_mrc_texts):
    total = sum(len(tokens) for _, tokens in tokenized_mrc_texts)
    unknown = sum(tokens.count("[UNK]") for _, tokens in tokenized_mrc_texts)
    rate = unknown / total
    print("[UNK] rate on CMRC 2018 + DRCD dev: %d / %d = %.4f%%" %
          (unknown, total, 100 * rate))
    assert total > MIN_REAL_TOKENS
    assert rate < 0.01


# --------------------------------------------------------------------------
# SentencePiece mode.


# SentencePiece training crashes (segmentation fault) in a process that has
# already imported TensorFlow 1.15, whose bundled protobuf clashes with the
# trainer's, so the model is trained in a fresh interpreter.
_TRAIN_SPM_SCRIPT = """
import sys
import sentencepiece
sentencepiece.SentencePieceTrainer.train(
    input=sys.argv[1], model_prefix=sys.argv[2], vocab_size=1500,
    model_type="bpe", character_coverage=0.98, hard_vocab_limit=False,
    minloglevel=2)
"""


@pytest.fixture(scope="module")
def spm_model_file(tmp_path_factory):
    """Trains a small BPE model on CMRC 2018 sentences; returns its path."""
    pytest.importorskip("sentencepiece")
    directory = tmp_path_factory.mktemp("spm")
    sentences = []
    for text in read_mrc_texts(MRC_DEV_SETS[0]):
        sentences.extend(part for part in text.split("。") if part.strip())
    corpus = directory / "corpus.txt"
    corpus.write_text("\n".join(sentences[:400]), encoding="utf-8")
    prefix = str(directory / "tiny")
    subprocess.run(
        [sys.executable, "-c", _TRAIN_SPM_SCRIPT, str(corpus), prefix],
        check=True, timeout=1200)
    return prefix + ".model"


def test_sentencepiece_round_trip(spm_model_file):
    tokenizer = tokenization.FullTokenizer(
        None, do_lower_case=True, spm_model_file=spm_model_file)
    sp_model = tokenizer.sp_model
    assert len(tokenizer.vocab) == sp_model.get_piece_size()
    assert tokenizer.unk_token == "<unk>"
    texts = read_mrc_texts(MRC_DEV_SETS[0])[:200]
    for text in texts + ["我爱Python3和2020年，ABC Def"]:
        tokens = tokenizer.tokenize(text)
        assert tokens
        assert all(token in tokenizer.vocab for token in tokens)
        assert not any(char.isupper() for token in tokens for char in token)
        ids = tokenizer.convert_tokens_to_ids(tokens)
        assert ids == sp_model.encode_as_ids(" ".join(text.split()).lower())
        assert tokenizer.convert_ids_to_tokens(ids) == tokens


def test_sentencepiece_unknown_pieces_become_unk(spm_model_file):
    tokenizer = tokenization.FullTokenizer(
        None, spm_model_file=spm_model_file)
    rare = "\u9fa5\u9fa4"  # Rare ideographs absent from the training text.
    assert tokenizer.tokenize(rare).count("<unk>") >= 1
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(rare))
    assert tokenizer.sp_model.unk_id() in ids


def test_sentencepiece_with_separate_vocab_file(spm_model_file, tmp_path):
    spm_only = tokenization.FullTokenizer(None, spm_model_file=spm_model_file)
    pieces = spm_only.tokenize("我爱北京")
    assert len(set(pieces)) == len(pieces) >= 2, pieces
    vocab_path = write_vocab(tmp_path, ["[UNK]"] + pieces[:-1])
    tokenizer = tokenization.FullTokenizer(
        vocab_path, spm_model_file=spm_model_file)
    assert tokenizer.tokenize("我爱北京") == pieces[:-1] + ["[UNK]"]
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize("我爱北京"))
    assert ids == list(range(1, len(pieces))) + [0]
