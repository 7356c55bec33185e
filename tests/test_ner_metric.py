"""finetune/ner_metric.py against seqeval (conlleval mode)."""
import os
import random

import pytest
from seqeval import metrics as seqeval_metrics

import conftest
from finetune import ner_data
from finetune import ner_metric

PEOPLES_DAILY = os.path.join(conftest.TESTDATA, "ner",
                             "peoples_daily_dev_head.txt")


def seqeval_scores(gold, predicted):
    return {
        "precision": seqeval_metrics.precision_score(gold, predicted),
        "recall": seqeval_metrics.recall_score(gold, predicted),
        "f1": seqeval_metrics.f1_score(gold, predicted),
    }


def corrupt(tags, rng, labels, rate):
    """Random tag changes: invalid BIO runs, wrong types, shifted ends."""
    return [rng.choice(labels) if rng.random() < rate else t for t in tags]


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.3, 1.0])
def test_micro_scores_equal_seqeval_on_real_tags(rate):
    sentences, _ = ner_data.read_sentences(PEOPLES_DAILY)
    gold = [s.tags for s in sentences]
    labels = ner_data.labels_of(sentences)
    rng = random.Random(7)
    predicted = [corrupt(g, rng, labels, rate) for g in gold]
    result = ner_metric.evaluate(gold, predicted)
    for key, value in seqeval_scores(gold, predicted).items():
        assert result[key] == pytest.approx(value, abs=1e-12), key
    if rate == 0.0:
        assert result["f1"] == 1.0
    report = seqeval_metrics.classification_report(gold, predicted,
                                                   output_dict=True)
    for kind, row in result["per_type"].items():
        assert row["f1"] == pytest.approx(report[kind]["f1-score"])
        assert row["gold"] == report[kind]["support"]


@pytest.mark.parametrize("scheme_labels", [
    ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC",
     "S-LOC"],  # BIOES
    ["O", "I-PER", "B-PER", "I-LOC", "B-LOC", "I-ORG.NAM"],  # IOB1, typed
])
def test_other_schemes_equal_seqeval_on_random_tags(scheme_labels):
    rng = random.Random(3)
    gold = [[rng.choice(scheme_labels) for _ in range(rng.randint(1, 30))]
            for _ in range(300)]
    predicted = [corrupt(g, rng, scheme_labels, 0.2) for g in gold]
    result = ner_metric.evaluate(gold, predicted)
    for key, value in seqeval_scores(gold, predicted).items():
        assert result[key] == pytest.approx(value, abs=1e-12), key
    assert 0.0 < result["f1"] < 1.0


def test_conlleval_chunk_rules():
    # A leading I- starts an entity; a type change splits one.
    assert ner_metric.entities(["I-PER", "I-PER", "O"]) == [(0, 1, "PER")]
    assert ner_metric.entities(["B-PER", "I-LOC"]) == [(0, 0, "PER"),
                                                       (1, 1, "LOC")]
    assert ner_metric.entities(["S-PER", "E-PER"]) == [(0, 0, "PER"),
                                                       (1, 1, "PER")]
    assert ner_metric.entities(["I-PER", "B-PER", "I-PER"]) == [
        (0, 0, "PER"), (1, 2, "PER")]


def test_all_outside_scores_zero_and_report_lists_types():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    result = ner_metric.evaluate(gold, [["O"] * 4])
    assert result["f1"] == 0.0 and result["gold_entities"] == 2
    assert result["accuracy"] == 0.25
    lines = ner_metric.report_lines(result)
    assert any(line.startswith("f1 = 0.0") for line in lines)
    assert any(line.startswith("LOC ") for line in lines)
    with pytest.raises(ValueError, match="sentence 0: 4 gold tags, 3"):
        ner_metric.evaluate(gold, [["O"] * 3])
