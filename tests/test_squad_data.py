# coding=utf-8
"""Tests of finetune/squad_data.py: units, answer mapping, windows, decoding.

The real-data tests read the CMRC 2018 trial/dev and DRCD dev slices in
tests/testdata (and the full files under DATA_DIR, where present) with the
real Chinese vocabulary.
"""

import json
import os
import random

import pytest

from conftest import VOCAB, squad_files
from finetune import squad_data
from finetune import squad_predictions
from pretrain import tokenization

# CMRC 2018 trial, CMRC 2018 dev and DRCD dev slices, then the full files.
REAL_FILES = squad_files()


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(VOCAB, do_lower_case=True)


def write_dataset(path, paragraphs):
    """Writes a one-article squad-style file; returns its path."""
    with open(str(path), "w", encoding="utf-8") as writer:
        json.dump({"data": [{"paragraphs": paragraphs}]}, writer,
                  ensure_ascii=False)
    return str(path)


def make_example(tokenizer, context, answer, question=u"问题是什么？"):
    """A training example whose answer is the first occurrence of `answer`."""
    tokenized = squad_data.TokenizedContext(context, tokenizer)
    start = context.index(answer)
    first, last = tokenized.char_span_to_tokens(start, start + len(answer))
    return squad_data.SquadExample("q", question, tokenized, answer, first,
                                   last)


# ---------------------------------------------------------------------------
# Units and sub-token spans.
# ---------------------------------------------------------------------------


def test_units_split_cjk_punctuation_and_whitespace():
    text = u"在2008年，Apple发布了iPhone 3G手机。"
    units = [text[s:e] for s, e in squad_data.split_units(text)]
    assert units == [
        u"在", u"2008", u"年", u"，", u"Apple", u"发", u"布", u"了", u"iPhone",
        u"3G", u"手", u"机", u"。"
    ]


def test_char_to_unit_marks_whitespace():
    text = u"ab  中c"
    spans = squad_data.split_units(text)
    assert squad_data.char_to_unit_map(len(text),
                                       spans) == [0, 0, -1, -1, 1, 2]


def test_piece_spans_follow_wordpiece_pieces(tokenizer):
    context = squad_data.TokenizedContext(u"由Nexon开发", tokenizer)
    assert context.tokens == [u"由", u"ne", u"##xon", u"开", u"发"]
    assert context.token_spans[1:3] == [(1, 3), (3, 6)]
    assert context.token_to_unit[1:3] == [1, 1]


def test_piece_spans_skip_sentencepiece_word_marks():
    assert squad_data.piece_char_spans(
        3, u"abc", [u"\u2581ab", u"c"], u"<unk>") == [(3, 5), (5, 6)]


def test_piece_spans_fall_back_to_whole_unit():
    # An [UNK] piece (or lengths that do not add up) gives no exact offsets.
    assert squad_data.piece_char_spans(4, u"x\u0301yz", [u"xy", u"##z"],
                                       u"[UNK]") == [(4, 8), (4, 8)]
    assert squad_data.piece_char_spans(0, u"ab", [u"[UNK]"],
                                       u"[UNK]") == [(0, 2)]


def test_mixed_context_answers_round_trip(tokenizer):
    context = (u"在2008年，Apple发布了iPhone 3G手机，售价199美元（约"
               u"1,360元）。Nexon时隔6年再次授权。")
    tokenized = squad_data.TokenizedContext(context, tokenizer)
    for answer in [u"2008年", u"Apple", u"iPhone 3G", u"iPhone 3G手机",
                   u"199美元", u"1,360元", u"Nexon", u"6年", u"（约1,360元）"]:
        start = context.index(answer)
        first, last = tokenized.char_span_to_tokens(start,
                                                    start + len(answer))
        assert tokenized.token_span_text(first, last) == answer


def test_answer_inside_a_piece_widens_to_the_piece(tokenizer):
    context = u"共有34个"
    tokenized = squad_data.TokenizedContext(context, tokenizer)
    first, last = tokenized.char_span_to_tokens(3, 5)  # "4个"
    assert tokenized.token_span_text(first, last) == u"34个"


def test_span_of_dropped_characters_has_no_tokens(tokenizer):
    context = u"中\u0301文"  # the combining mark is removed by lower-casing
    tokenized = squad_data.TokenizedContext(context, tokenizer)
    assert tokenized.char_span_to_tokens(1, 2) is None


# ---------------------------------------------------------------------------
# Locating answers and reading files.
# ---------------------------------------------------------------------------


def test_locate_answer_at_start_and_moved_to_closest():
    context = u"甲乙丙甲乙丙甲乙丙"
    assert squad_data.locate_answer(context, u"甲乙", 3) == (
        3, squad_data.ANSWER_AT_START)
    assert squad_data.locate_answer(context, u"甲乙", 5) == (
        6, squad_data.ANSWER_MOVED)
    assert squad_data.locate_answer(context, u"甲乙", -1) == (
        0, squad_data.ANSWER_MOVED)
    assert squad_data.locate_answer(context, u"丁", 0) == (
        None, squad_data.ANSWER_NOT_FOUND)
    assert squad_data.locate_answer(context, u" ", 0) == (
        None, squad_data.ANSWER_NOT_FOUND)


def test_read_counts_moved_and_dropped_answers(tmp_path, tokenizer):
    path = write_dataset(tmp_path / "train.json", [{
        "context": u"北京是中国的首都，上海是最大城市。",
        "qas": [
            {"id": "ok", "question": u"首都？",
             "answers": [{"text": u"北京", "answer_start": 0}]},
            {"id": "moved", "question": u"最大？",
             "answers": [{"text": u"上海", "answer_start": 3}]},
            {"id": "absent", "question": u"哪里？",
             "answers": [{"text": u"广州", "answer_start": 0}]},
        ]
    }])
    examples, stats = squad_data.read_squad_examples(path, tokenizer, True)
    assert [e.qas_id for e in examples] == ["ok", "moved"]
    assert (stats.questions, stats.answers_at_start, stats.answers_moved,
            stats.answers_dropped) == (3, 1, 1, 1)
    moved = examples[1]
    assert moved.context.token_span_text(moved.start_token,
                                         moved.end_token) == u"上海"
    # Prediction ignores answers: every question is kept.
    examples, _ = squad_data.read_squad_examples(path, tokenizer, False)
    assert len(examples) == 3


@pytest.mark.parametrize("content, message", [
    ({"version": "1"}, 'with a "data" key'),
    ({"data": [{"paragraphs": [{"context": u"文", "qas": [
        {"question": u"问", "answers": []}]}]}]},
     'article 0, paragraph 0, question 0: question has no "id"'),
    ({"data": [{"paragraphs": [{"qas": []}]}]},
     'article 0, paragraph 0: expected a string field "context"'),
    ({"data": [{"paragraphs": [{"context": u"文", "qas": [
        {"id": "a", "question": u"问",
         "answers": [{"text": u"文", "answer_start": 0}]},
        {"id": "a", "question": u"问", "answers": []}]}]}]},
     "question 1: duplicate question id 'a' (first at"),
    ({"data": [{"paragraphs": [{"context": u"文", "qas": [
        {"id": "a", "question": u"问", "answers": []}]}]}]},
     "needs at least one answer"),
])
def test_structural_errors_name_file_and_record(tmp_path, tokenizer, content,
                                                message):
    path = str(tmp_path / "bad.json")
    with open(path, "w", encoding="utf-8") as writer:
        json.dump(content, writer, ensure_ascii=False)
    with pytest.raises(ValueError) as error:
        squad_data.read_squad_examples(path, tokenizer, True)
    assert path in str(error.value)
    assert message in str(error.value)


def test_dataset_has_answers(tmp_path):
    answered = {"id": "a", "question": u"问",
                "answers": [{"text": u"文", "answer_start": 0}]}
    path = write_dataset(tmp_path / "d.json", [
        {"context": u"文", "qas": [answered, {"id": "b", "question": u"问"}]}
    ])
    dataset = squad_data.load_dataset(path)
    assert not squad_data.dataset_has_answers(dataset, path)
    dataset["data"][0]["paragraphs"][0]["qas"].pop()
    assert squad_data.dataset_has_answers(dataset, path)


def test_invalid_json_names_file(tmp_path, tokenizer):
    path = tmp_path / "broken.json"
    path.write_text(u'{"data": [', encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        squad_data.read_squad_examples(str(path), tokenizer, False)


# ---------------------------------------------------------------------------
# Windows.
# ---------------------------------------------------------------------------


def test_doc_spans_and_max_context():
    spans = squad_data.doc_spans(10, 6, 3)
    assert spans == [(0, 6), (3, 6), (6, 4)]
    # Token 4: min(4, 1) vs min(1, 4) in windows 0 and 1: a tie, first wins.
    assert squad_data.is_max_context(spans, 0, 4)
    assert not squad_data.is_max_context(spans, 1, 4)
    # Token 5: min(5, 0) in window 0, min(2, 3) in window 1.
    assert squad_data.is_max_context(spans, 1, 5)
    # Token 9 only appears in the last window.
    assert squad_data.is_max_context(spans, 2, 9)
    assert squad_data.doc_spans(4, 6, 3) == [(0, 4)]


def collect_features(examples, tokenizer, max_seq_length, doc_stride,
                     max_query_length=4, is_training=True):
    features = []
    squad_data.convert_examples_to_features(examples, tokenizer,
                                            max_seq_length, doc_stride,
                                            max_query_length, is_training,
                                            features.append)
    return features


def test_window_layout_and_question_truncation(tokenizer):
    example = make_example(tokenizer, u"甲乙丙丁戊己庚辛", u"丙丁",
                           question=u"一二三四五六七八九十")
    feature, = collect_features([example], tokenizer, max_seq_length=24,
                                doc_stride=4, max_query_length=5)
    assert feature.tokens == ([u"[CLS]"] + list(u"一二三四五") + [u"[SEP]"] +
                              list(u"甲乙丙丁戊己庚辛") + [u"[SEP]"])
    assert feature.segment_ids == [0] * 7 + [1] * 9 + [0] * 8
    assert feature.input_mask == [1] * 16 + [0] * 8
    assert feature.input_ids[16:] == [0] * 8
    assert feature.tokens[feature.start_position:feature.end_position +
                          1] == [u"丙", u"丁"]
    assert feature.token_to_context[7] == 0


def test_answers_at_window_edges(tokenizer):
    context = u"零一二三四五六七八九"
    # Question "问" -> windows of 10 - 1 - 3 = 6 tokens, stride 3:
    # [0, 6), [3, 9), [6, 10).
    last_of_first = make_example(tokenizer, context, u"五", question=u"问")
    features = collect_features([last_of_first], tokenizer, 10, 3)
    assert [f.doc_span_index for f in features] == [0, 1, 2]
    positions = [(f.start_position, f.end_position) for f in features]
    # Context starts at position 3 ([CLS] 问 [SEP]).
    assert positions == [(8, 8), (5, 5), (0, 0)]
    straddling = make_example(tokenizer, context, u"五六七", question=u"问")
    positions = [(f.start_position, f.end_position)
                 for f in collect_features([straddling], tokenizer, 10, 3)]
    # Only the middle window holds all of it; the others point to [CLS].
    assert positions == [(0, 0), (5, 7), (0, 0)]


# ---------------------------------------------------------------------------
# Decoding.
# ---------------------------------------------------------------------------


def uniform_result(feature, scores_start, scores_end):
    """A RawResult with -10 everywhere except the given {position: logit}."""
    start = [-10.0] * len(feature.input_ids)
    end = [-10.0] * len(feature.input_ids)
    for position, value in scores_start.items():
        start[position] = value
    for position, value in scores_end.items():
        end[position] = value
    return squad_predictions.RawResult(feature.unique_id, start, end)


def test_decoding_keeps_original_text_and_rules(tokenizer):
    context = u"他用iPhone 3G拍照。"
    example = make_example(tokenizer, context, u"iPhone 3G", question=u"问")
    feature, = collect_features([example], tokenizer, 32, 8, is_training=False)
    first = feature.tokens.index(u"iphone")
    # [CLS] (0) and the question (1) score highest but are not context.
    result = uniform_result(feature, {0: 9.0, 1: 8.0, first: 5.0},
                            {0: 9.0, first + 1: 4.0, first - 1: 7.0})
    predictions, nbest, unanswered = squad_predictions.make_predictions(
        [example], [feature], [result], n_best_size=5, max_answer_length=4)
    assert unanswered == 0
    assert predictions["q"] == u"iPhone 3G"
    best = nbest["q"][0]
    assert context[best["char_start"]:best["char_end"]] == u"iPhone 3G"
    probabilities = [entry["probability"] for entry in nbest["q"]]
    assert abs(sum(probabilities) - 1.0) < 1e-6
    assert probabilities == sorted(probabilities, reverse=True)
    # max_answer_length 1 rules out the two-token answer.
    predictions, _, _ = squad_predictions.make_predictions(
        [example], [feature], [result], 5, 1)
    assert predictions["q"] != u"iPhone 3G"


def test_decoding_uses_only_max_context_windows(tokenizer):
    context = u"零一二三四五六七八九"
    example = make_example(tokenizer, context, u"四", question=u"问")
    features = collect_features([example], tokenizer, 10, 3,
                                is_training=False)
    # Context token 4 ("四") is at position 3 + 4 = 7 in window 0 and at
    # 3 + 1 = 4 in window 1; window 0 gives it more context.
    rigged = [
        uniform_result(features[0], {7: 1.0}, {7: 1.0}),
        uniform_result(features[1], {4: 9.0, 5: 2.0}, {4: 9.0, 5: 2.0}),
        uniform_result(features[2], {}, {}),
    ]
    predictions, nbest, _ = squad_predictions.make_predictions(
        [example], features, rigged, 20, 30)
    # Window 1's high score on "四" is ignored; its "五" (max context there)
    # competes with window 0's "四".
    assert predictions["q"] == u"五"
    assert u"四" in [entry["text"] for entry in nbest["q"]]


def test_question_without_valid_span_predicts_empty(tokenizer):
    example = make_example(tokenizer, u"甲乙", u"甲", question=u"问")
    feature, = collect_features([example], tokenizer, 16, 8,
                                is_training=False)
    # End before start everywhere a start is allowed.
    result = uniform_result(feature, {4: 5.0}, {3: 5.0})
    predictions, nbest, unanswered = squad_predictions.make_predictions(
        [example], [feature], [result], n_best_size=1, max_answer_length=30)
    assert predictions["q"] == u""
    assert nbest["q"] == []
    assert unanswered == 1


# ---------------------------------------------------------------------------
# Real data.
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_examples(tokenizer):
    """{path: (training examples, stats)} for the three real files."""
    return {
        path: squad_data.read_squad_examples(path, tokenizer, True)
        for path in REAL_FILES
    }


@pytest.mark.parametrize("path", REAL_FILES)
def test_real_training_answers_round_trip(real_examples, path):
    examples, stats = real_examples[path]
    print("%s: %s" % (os.path.basename(path), stats))
    assert stats.answers_dropped <= 0.005 * stats.questions
    assert len(examples) == stats.questions - stats.answers_dropped
    widened = [
        e for e in examples if e.context.token_span_text(
            e.start_token, e.end_token) != e.answer_text.strip()
    ]
    assert len(widened) == stats.answers_widened
    assert len(widened) <= 0.001 * len(examples)
    for example in widened:
        assert example.answer_text.strip() in example.context.token_span_text(
            example.start_token, example.end_token)


@pytest.mark.parametrize("path", REAL_FILES)
def test_real_all_reference_answers_round_trip(tokenizer, real_examples,
                                               path):
    """Every reference answer found in its context maps to tokens and back."""
    contexts = {e.qas_id: e.context for e in real_examples[path][0]}
    dataset = squad_data.load_dataset(path)
    counts = {"answers": 0, "exact": 0, "widened": 0, "not_in_context": 0}
    for _, _, qas in squad_data.iter_paragraphs(dataset, path):
        for question in qas:
            context = contexts[str(question["id"]).strip()]
            for answer in question["answers"]:
                counts["answers"] += 1
                offset, outcome = squad_data.locate_answer(
                    context.text, answer["text"], answer["answer_start"])
                if outcome == squad_data.ANSWER_NOT_FOUND:
                    counts["not_in_context"] += 1
                    # Extra references only: never a training answer.
                    assert answer is not question["answers"][0]
                    continue
                first, last = context.char_span_to_tokens(
                    offset, offset + len(answer["text"]))
                text = context.token_span_text(first, last)
                key = "exact" if text == answer["text"].strip() else "widened"
                counts[key] += 1
    print("%s: %s" % (os.path.basename(path), counts))
    assert counts["widened"] <= 0.001 * counts["answers"]
    assert counts["exact"] + counts["widened"] + counts[
        "not_in_context"] == counts["answers"]


def test_real_windows_keep_gold_spans_and_predictions_are_substrings(
        tokenizer, real_examples):
    """Windows of 128 over CMRC 2018 dev: gold spans survive windowing, and
    random-logit decoding only yields substrings at their offsets."""
    examples = real_examples[REAL_FILES[1]][0][:300]
    features = collect_features(examples, tokenizer, 128, 64,
                                max_query_length=32)
    holding = set()
    for feature in features:
        if feature.start_position == 0:
            continue
        example = examples[feature.example_index]
        first = feature.token_to_context[feature.start_position]
        last = feature.token_to_context[feature.end_position]
        assert (first, last) == (example.start_token, example.end_token)
        holding.add(feature.example_index)
    # Windows hold >= 128 - 32 - 3 = 93 context tokens and start every 64,
    # so any answer of up to 93 - 64 + 1 = 30 tokens lies inside one.
    short = {index for index, e in enumerate(examples)
             if e.end_token - e.start_token + 1 <= 30}
    assert short <= holding

    rng = random.Random(7)
    results = [
        squad_predictions.RawResult(f.unique_id,
                                    [rng.gauss(0, 1) for _ in f.input_ids],
                                    [rng.gauss(0, 1) for _ in f.input_ids])
        for f in features
    ]
    predictions, nbest, _ = squad_predictions.make_predictions(
        examples, features, results, 20, 30)
    assert set(predictions) == {e.qas_id for e in examples}
    for example in examples:
        assert predictions[example.qas_id] in example.context.text
        for entry in nbest[example.qas_id]:
            assert entry["text"] == example.context.text[
                entry["char_start"]:entry["char_end"]]
            assert entry["text"] == entry["text"].strip()
