"""Tests of finetune/ner_data.py: formats, alignment, windows and merging."""
import os

import numpy as np
import pytest

import conftest
from finetune import ner_data
from pretrain import tokenization

NER_DIR = os.path.join(conftest.TESTDATA, "ner")
PEOPLES_DAILY = os.path.join(NER_DIR, "peoples_daily_dev_head.txt")
WEIBO_TRAIN = os.path.join(NER_DIR, "weibo_train_head.txt")


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(conftest.VOCAB, do_lower_case=True)


def write(tmp_path, name, data):
    path = str(tmp_path / name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def msra_copy(tmp_path, source=PEOPLES_DAILY, crlf=False, bom=False):
    """An MSRA-layout copy (TAB separator) of a People's Daily file."""
    with open(source, encoding="utf-8") as f:
        lines = [line.rstrip("\n").replace(" ", "\t") for line in f]
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    return write(tmp_path, "msra.txt",
                 (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def test_peoples_daily_slice_reads_every_line():
    sentences, tagged = ner_data.read_sentences(PEOPLES_DAILY)
    assert tagged and len(sentences) == 300
    with open(PEOPLES_DAILY, encoding="utf-8") as f:
        rows = [line.split() for line in f if line.strip()]
    assert sum(len(s.tokens) for s in sentences) == len(rows)
    assert [t for s in sentences for t in s.tokens] == [r[0] for r in rows]
    assert [t for s in sentences for t in s.tags] == [r[1] for r in rows]
    assert max(len(s.tokens) for s in sentences) > 128
    assert ner_data.labels_of(sentences) == [
        "O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


@pytest.mark.parametrize("crlf,bom", [(False, False), (True, True)])
def test_msra_tab_layout_with_crlf_and_bom_reads_the_same(tmp_path, crlf,
                                                          bom):
    expected, _ = ner_data.read_sentences(PEOPLES_DAILY)
    sentences, _ = ner_data.read_sentences(msra_copy(tmp_path, crlf=crlf,
                                                     bom=bom))
    assert [s.tokens for s in sentences] == [s.tokens for s in expected]
    assert [s.tags for s in sentences] == [s.tags for s in expected]


def test_weibo_position_digits_are_not_text():
    sentences, _ = ner_data.read_sentences(WEIBO_TRAIN)
    with open(WEIBO_TRAIN, encoding="utf-8") as f:
        first = [line.split("\t")[0] for line in f][:3]
    assert sentences[0].tokens[:3] == [t[:-1] for t in first]
    assert all(not t[-1].isdigit() or len(t) == 1
               for s in sentences for t in s.tokens if t[0] != "\ufffd")
    labels = ner_data.labels_of(sentences)
    assert "B-PER.NAM" in labels and "I-PER.NOM" in labels


def test_weibo_multi_digit_positions(tmp_path):
    path = write(tmp_path, "w.txt", "p10\tO\n310\tB-PER.NAM\n\n")
    sentences, _ = ner_data.read_sentences(path)
    assert sentences[0].tokens == ["p", "3"]
    # The same lines read as plain CoNLL keep the digits.
    sentences, _ = ner_data.read_sentences(path, "conll")
    assert sentences[0].tokens == ["p10", "310"]


@pytest.mark.parametrize("text,expected", [
    ("中 O\n国 B-LOC X\n", "line 2"),
    ("中 O\n国 B_LOC\n", "line 2: tag 'B_LOC'"),
    ("中 O\n\n国\n", "line 3"),
    ("\n\n", "no sentence"),
])
def test_malformed_files_name_file_and_line(tmp_path, text, expected):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(ValueError) as error:
        ner_data.read_sentences(path)
    assert path in str(error.value) and expected in str(error.value)


def test_weibo_format_without_digit_names_the_line(tmp_path):
    path = write(tmp_path, "w.txt", "中0\tO\n国\tO\n")
    with pytest.raises(ValueError, match=r"line 2: token '国' has no"):
        ner_data.read_sentences(path, "weibo")


def test_untagged_file_and_label_checks(tmp_path):
    sentences, tagged = ner_data.read_sentences(
        write(tmp_path, "p.txt", "中\n国\n\n人\n"))
    assert not tagged and sentences[1].tokens == ["人"]
    assert sentences[0].tags is None
    tagged_sentences, _ = ner_data.read_sentences(
        write(tmp_path, "t.txt", "中 O\n国 B-XYZ\n"))
    with pytest.raises(ValueError, match="line 2: tag 'B-XYZ' is not in"):
        ner_data.check_labels(tagged_sentences, ["O", "B-LOC"], "t.txt")
    assert ner_data.parse_label_list("O, B-LOC,I-LOC", "--label_list") == [
        "O", "B-LOC", "I-LOC"]
    with pytest.raises(ValueError, match="lacks the tag O"):
        ner_data.parse_label_list("B-LOC", "--label_list")


def test_unknown_and_multi_piece_tokens_keep_their_tag(tokenizer):
    sentence = ner_data.Sentence(["\ufffd", "中", "tensorflow", "🙂"],
                                 ["B-PER", "I-PER", "B-ORG", "O"],
                                 [1, 2, 3, 4])
    label_list = ["O", "B-ORG", "B-PER", "I-PER"]
    label_map = {t: i for i, t in enumerate(label_list)}
    (window,) = ner_data.make_windows(0, sentence, tokenizer, label_map, 16,
                                      8)
    pieces = tokenizer.convert_ids_to_tokens(
        [i for i, m in zip(window.input_ids, window.input_mask) if m])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    assert pieces[window.first_positions[0]] == "[UNK]"
    assert pieces[window.first_positions[3]] == "[UNK]"
    assert pieces[4:7] == ["##ns", "##or", "##flow"]
    labels = [window.label_ids[p] for p in window.first_positions]
    assert labels == [label_map[t] for t in sentence.tags]
    assert sum(window.label_weights) == 4
    assert all(window.label_weights[p] for p in window.first_positions)


def test_window_spans_cover_in_order():
    counts = [1] * 10 + [3] + [1] * 20
    spans = ner_data.window_spans(counts, 8, 4)
    assert spans[0][0] == 0 and spans[-1][1] == len(counts)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s1 < s2 <= e1
    for start, end in spans:
        assert sum(counts[start:end]) <= 8
    # A token longer than a window gets a window of its own.
    assert ner_data.window_spans([1, 9, 1], 4, 2) == [(0, 1), (1, 2), (2, 3)]


@pytest.mark.parametrize("max_seq_length,doc_stride", [(32, 10), (128, 64)])
def test_long_sentences_get_one_prediction_per_character(tokenizer,
                                                         max_seq_length,
                                                         doc_stride):
    sentences, _ = ner_data.read_sentences(PEOPLES_DAILY)
    labels = ner_data.labels_of(sentences)
    windows = ner_data.sentences_to_windows(sentences, tokenizer, labels,
                                            max_seq_length, doc_stride)
    assert len(windows) > len(sentences)
    # Predicting each token's gold label from its window gives back every
    # gold tag exactly, in order: alignment and merge lose nothing.
    merged = ner_data.merge_window_predictions(
        sentences, windows, [w.label_ids for w in windows])
    label_map = {t: i for i, t in enumerate(labels)}
    assert merged == [[label_map[t] for t in s.tags] for s in sentences]
    # Each token is decided by the window where it is most central: a
    # window-dependent prediction (the window's number) shows which.
    numbered = ner_data.merge_window_predictions(
        sentences, windows,
        [np.full(max_seq_length, i) for i in range(len(windows))])
    for sentence_index, chosen in enumerate(numbered):
        assert chosen == sorted(chosen)
        own = [i for i, w in enumerate(windows)
               if w.sentence_index == sentence_index]
        assert set(chosen) <= set(own)


def test_prediction_lines_keep_layout():
    sentences = [ner_data.Sentence(["中", "国"], ["B-LOC", "I-LOC"], [1, 2]),
                 ner_data.Sentence(["人"], None, [4])]
    lines = ner_data.prediction_lines(sentences, [["B-LOC", "O"], ["O"]])
    assert lines == ["中 B-LOC B-LOC", "国 I-LOC O", "", "人 O", ""]


def test_full_peoples_daily_dev_every_character_once(tokenizer):
    path = conftest.data_file("ner", "peoples_daily", "example.dev")
    sentences, _ = ner_data.read_sentences(path)
    assert len(sentences) == 2318
    assert max(len(s.tokens) for s in sentences) == 568
    labels = ner_data.labels_of(sentences)
    windows = ner_data.sentences_to_windows(sentences, tokenizer, labels,
                                            128, 64)
    merged = ner_data.merge_window_predictions(
        sentences, windows, [w.label_ids for w in windows])
    label_map = {t: i for i, t in enumerate(labels)}
    assert merged == [[label_map[t] for t in s.tags] for s in sentences]


def test_full_weibo_files_read():
    for name in ("weiboNER_2nd_conll.train", "weiboNER_2nd_conll.dev"):
        path = conftest.data_file("ner", "weibo", name)
        sentences, tagged = ner_data.read_sentences(path)
        assert tagged and len(sentences) > 200
        assert all(len(t) >= 1 for s in sentences for t in s.tokens)
