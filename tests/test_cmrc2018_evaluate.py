# coding=utf-8
"""Tests for finetune/cmrc2018_evaluate.py (the official CMRC 2018 metric)."""

import json
import os
import re
import subprocess
import sys

import pytest

from finetune import cmrc2018_evaluate as ce
from conftest import DATA_DIR, REPO, TESTDATA, has_data

# The repository's slices, then the full files where DATA_DIR has them.
REAL_FILES = [
    (os.path.join(TESTDATA, 'cmrc2018', 'cmrc2018_trial_head.json'), 184),
    (os.path.join(TESTDATA, 'cmrc2018', 'cmrc2018_dev_head.json'), 152),
    (os.path.join(TESTDATA, 'drcd', 'DRCD_dev_head.json'), 120),
] + [(os.path.join(DATA_DIR, *parts), count) for parts, count in (
    (('cmrc2018', 'cmrc2018_trial.json'), 1002),
    (('cmrc2018', 'cmrc2018_dev.json'), 3219),
    (('drcd', 'DRCD_dev.json'), 3524)) if has_data(*parts)]
SCRIPT = os.path.join(REPO, 'finetune', 'cmrc2018_evaluate.py')
PYTHON = sys.executable


def _load(path):
    with open(path, encoding='utf-8') as reader:
        return json.load(reader)


def _questions(dataset):
    """(id, answer texts) of every question, walked here, not by the module."""
    found = []
    for article in dataset['data']:
        for paragraph in article['paragraphs']:
            for qa in paragraph['qas']:
                found.append((qa['id'], [a['text'] for a in qa['answers']]))
    return found


def _write_json(path, value):
    with open(str(path), 'w', encoding='utf-8') as writer:
        json.dump(value, writer, ensure_ascii=False)
    return str(path)


def _small_dataset():
    """Three questions in two paragraphs of one article."""
    return {
        'version': 'test',
        'data': [{
            'id': 'A',
            'title': 't',
            'paragraphs': [
                {'context': '北京大学Peking University',
                 'qas': [{'id': 'Q1', 'question': '?',
                          'answers': [{'text': '北京大学',
                                       'answer_start': 0}]},
                         {'id': 'Q2', 'question': '?',
                          'answers': [{'text': '2020年',
                                       'answer_start': 0}]}]},
                {'context': '红楼梦',
                 'qas': [{'id': 'Q3', 'question': '?',
                          'answers': [{'text': '红楼梦',
                                       'answer_start': 0}]}]},
            ],
        }],
    }


# ---------------------------------------------------------------- real data


@pytest.fixture(scope='module', params=REAL_FILES,
                ids=[os.path.basename(path) for path, _ in REAL_FILES])
def real_file(request):
    path, expected_total = request.param
    dataset = _load(path)
    return path, expected_total, dataset, _questions(dataset)


def test_real_file_first_answer_scores_100(real_file):
    path, expected_total, dataset, questions = real_file
    assert len(questions) == expected_total
    predictions = {qid: answers[0] for qid, answers in questions}
    f1, em, total, skip = ce.evaluate(dataset, predictions, source=path)
    assert f1 == pytest.approx(100.0)
    assert em == pytest.approx(100.0)
    assert total == expected_total
    assert skip == 0


def test_real_file_empty_predictions_score_0(real_file):
    path, expected_total, dataset, questions = real_file
    predictions = {qid: '' for qid, _ in questions}
    f1, em, total, skip = ce.evaluate(dataset, predictions, source=path)
    assert (f1, em, total, skip) == (0.0, 0.0, expected_total, 0)


def test_real_file_missing_ids_count_in_skip(real_file, capsys):
    path, expected_total, dataset, questions = real_file
    dropped = [qid for i, (qid, _) in enumerate(questions) if i % 7 == 3]
    predictions = {qid: answers[0] for qid, answers in questions
                   if qid not in set(dropped)}
    f1, em, total, skip = ce.evaluate(dataset, predictions, source=path)
    answered = expected_total - len(dropped)
    assert skip == len(dropped) > 0
    assert total == expected_total
    assert f1 == pytest.approx(100.0 * answered / expected_total)
    assert em == pytest.approx(100.0 * answered / expected_total)
    logged = capsys.readouterr().err
    assert 'Unanswered question: {}'.format(dropped[0]) in logged
    assert logged.count('Unanswered question:') == len(dropped)


# ------------------------------------------------------- hand-computed units


def test_segmentation_of_mixed_text():
    # CJK characters one by one; a Latin/number run goes to NLTK whole.
    assert ce.mixed_segmentation('2020年') == ['2020', '年']
    assert ce.mixed_segmentation('北京大学Peking University') == [
        '北', '京', '大', '学', 'peking', 'university']
    # Whitespace between CJK characters is a whitespace-only run: no segment.
    assert ce.mixed_segmentation('中 国') == ['中', '国']


def test_same_mixed_answer_scores_1():
    assert ce.calc_f1_score(['2020年'], '2020年') == pytest.approx(1.0)
    assert ce.calc_em_score(['2020年'], '2020年') == 1


def test_number_is_one_segment():
    # pred ['2020', '年'], ref ['2021', '年']: LCS ['年'] = 1,
    # p = 1/2, r = 1/2, F1 = 0.5 (not per-digit overlap).
    assert ce.calc_f1_score(['2021年'], '2020年') == pytest.approx(0.5)


def test_f1_of_longer_mixed_prediction():
    # pred segments: 北 京 大 学 peking university (6)
    # ref segments:  北 京 大 学 (4); LCS = 北京大学 = 4
    # p = 4/6 = 2/3, r = 4/4 = 1, F1 = 2 * (2/3) * 1 / (2/3 + 1) = 0.8
    assert ce.calc_f1_score(['北京大学'], '北京大学Peking University') == (
        pytest.approx(0.8))
    assert ce.calc_em_score(['北京大学'], '北京大学Peking University') == 0


def test_question_f1_is_max_over_references():
    # vs '北京': LCS 2, p = 2/4, r = 1 -> 2/3; vs 'x': 0.
    assert ce.calc_f1_score(['x', '北京'], '北京大学') == pytest.approx(2 / 3)
    assert ce.calc_f1_score(['北京', '北京大学'], '北京大学') == (
        pytest.approx(1.0))


def test_punctuation_is_removed_for_em_and_f1():
    assert ce.remove_punctuation('《红楼梦》') == '红楼梦'
    assert ce.calc_em_score(['红楼梦'], '《红楼梦》') == 1
    assert ce.calc_f1_score(['红楼梦'], '《红楼梦》') == pytest.approx(1.0)
    assert ce.remove_punctuation('a-b:c_d*e^f/g\\h~i`j+k=l') == 'abcdefghijkl'


def test_two_char_ellipsis_entry_never_matches():
    assert '\u2026\u2026' in ce.PUNCTUATION
    assert not ce.is_punctuation('\u2026')
    assert ce.remove_punctuation('……好') == '……好'
    assert ce.calc_em_score(['好'], '……好') == 0
    # '……' is an ordinary run: pred segments ['……', '好'], ref ['好'];
    # LCS 1, p = 1/2, r = 1, F1 = 2/3.
    assert ce.mixed_segmentation('……好', rm_punc=True) == ['……', '好']
    assert ce.calc_f1_score(['好'], '……好') == pytest.approx(2 / 3)


def test_case_and_outer_whitespace_are_ignored():
    assert ce.calc_em_score(['abc'], '  ABC ') == 1
    assert ce.calc_f1_score(['abc'], '  ABC ') == pytest.approx(1.0)


def test_removed_punctuation_does_not_end_a_run():
    # As in the official script: with rm_punc the character is skipped and
    # the surrounding run goes on.
    assert ce.mixed_segmentation('abc-def') == ['abc', '-', 'def']
    assert ce.mixed_segmentation('abc-def', rm_punc=True) == ['abcdef']


def test_lcs_is_contiguous():
    run, length = ce.find_lcs(list('abcd'), list('axcd'))
    assert length == 2  # a subsequence would give 3 (a, c, d)
    assert run == ['c', 'd']
    assert ce.find_lcs(['a'], ['b']) == ([], 0)
    # Same on text: ref 甲乙丙丁, pred 甲戊丙丁: LCS 丙丁 = 2,
    # p = r = 2/4, F1 = 0.5 (0.75 with a non-contiguous LCS of 3).
    assert ce.calc_f1_score(['甲乙丙丁'], '甲戊丙丁') == pytest.approx(0.5)


def test_empty_prediction_scores_0_and_is_answered(capsys):
    assert ce.calc_f1_score(['a'], '') == 0
    assert ce.calc_em_score(['a'], '') == 0
    f1, em, total, skip = ce.evaluate(_small_dataset(),
                                      {'Q1': '', 'Q2': '', 'Q3': ''})
    assert (f1, em, total, skip) == (0.0, 0.0, 3, 0)
    assert 'Unanswered' not in capsys.readouterr().err


def test_evaluate_small_dataset():
    # Q1: F1 0.8, EM 0; Q2: missing (0, SKIP); Q3: F1 1, EM 1.
    predictions = {'Q1': '北京大学Peking University', 'Q3': '《红楼梦》'}
    f1, em, total, skip = ce.evaluate(_small_dataset(), predictions)
    assert f1 == pytest.approx(100.0 * 1.8 / 3)
    assert em == pytest.approx(100.0 / 3)
    assert (total, skip) == (3, 1)


# ---------------------------------------------------------------------- CLI


def test_cli_prints_official_json(tmp_path):
    dataset_path = _write_json(tmp_path / 'dataset.json', _small_dataset())
    predictions_path = _write_json(
        tmp_path / 'predictions.json',
        {'Q1': '北京大学Peking University', 'Q3': '《红楼梦》'})
    completed = subprocess.run(
        [PYTHON, SCRIPT, dataset_path, predictions_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        universal_newlines=True, timeout=1200)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert list(result) == ['AVERAGE', 'F1', 'EM', 'TOTAL', 'SKIP', 'FILE']
    for key in ('AVERAGE', 'F1', 'EM'):
        assert re.match(r'^\d+\.\d{3}$', result[key]), result[key]
    # F1 = 100 * (0.8 + 0 + 1) / 3 = 60, EM = 100 / 3, AVERAGE their mean.
    assert result['F1'] == '60.000'
    assert result['EM'] == '33.333'
    assert result['AVERAGE'] == '46.667'
    assert result['TOTAL'] == 3
    assert result['SKIP'] == 1
    assert result['FILE'] == predictions_path
    assert 'Unanswered question: Q2' in completed.stderr
    assert ce.evaluate_files(dataset_path, predictions_path) == result


def test_cli_reports_bad_input_and_fails(tmp_path):
    dataset_path = _write_json(tmp_path / 'no_data.json', {'version': 'x'})
    predictions_path = _write_json(tmp_path / 'predictions.json', {})
    completed = subprocess.run(
        [PYTHON, SCRIPT, dataset_path, predictions_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        universal_newlines=True, timeout=1200)
    assert completed.returncode != 0
    assert dataset_path in completed.stderr
    assert completed.stdout == ''


# ---------------------------------------------------------------- bad input


def test_dataset_without_data_key(tmp_path):
    dataset_path = _write_json(tmp_path / 'no_data.json', {'version': 'x'})
    predictions_path = _write_json(tmp_path / 'predictions.json', {})
    with pytest.raises(ValueError, match=re.escape(dataset_path)) as error:
        ce.evaluate_files(dataset_path, predictions_path)
    assert '"data"' in str(error.value)


def test_question_without_id(tmp_path):
    dataset = _small_dataset()
    del dataset['data'][0]['paragraphs'][1]['qas'][0]['id']
    dataset_path = _write_json(tmp_path / 'no_id.json', dataset)
    predictions_path = _write_json(tmp_path / 'predictions.json', {})
    with pytest.raises(ValueError, match=re.escape(dataset_path)) as error:
        ce.evaluate_files(dataset_path, predictions_path)
    assert 'paragraph 1' in str(error.value)
    assert '"id"' in str(error.value)


def test_question_without_answers(tmp_path):
    dataset = _small_dataset()
    dataset['data'][0]['paragraphs'][0]['qas'][1]['answers'] = []
    dataset_path = _write_json(tmp_path / 'no_answers.json', dataset)
    predictions_path = _write_json(tmp_path / 'predictions.json', {})
    with pytest.raises(ValueError, match=re.escape(dataset_path)) as error:
        ce.evaluate_files(dataset_path, predictions_path)
    assert 'Q2' in str(error.value)


@pytest.mark.parametrize('predictions', [['Q1', 'x'], 'text', 3])
def test_predictions_not_a_json_object(tmp_path, predictions):
    dataset_path = _write_json(tmp_path / 'dataset.json', _small_dataset())
    predictions_path = _write_json(tmp_path / 'predictions.json', predictions)
    with pytest.raises(ValueError, match=re.escape(predictions_path)) as error:
        ce.evaluate_files(dataset_path, predictions_path)
    assert 'JSON object' in str(error.value)


def test_evaluate_rejects_non_dict_predictions():
    with pytest.raises(ValueError, match='JSON object'):
        ce.evaluate(_small_dataset(), [('Q1', '北京大学')])


def test_invalid_json_names_the_file(tmp_path):
    dataset_path = _write_json(tmp_path / 'dataset.json', _small_dataset())
    broken = tmp_path / 'broken.json'
    broken.write_text('{"Q1": ', encoding='utf-8')
    with pytest.raises(ValueError, match=re.escape(str(broken))):
        ce.evaluate_files(dataset_path, str(broken))
