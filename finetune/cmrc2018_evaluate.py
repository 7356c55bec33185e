# coding=utf-8
"""CMRC 2018 reading-comprehension metric (EM and F1), as in the official v5.

This is an independent implementation that reproduces the scores of the
official CMRC 2018 evaluation script, version 5. DRCD is scored with the same
metric. What the official script (``cmrc2018_evaluate.py`` in
github.com/ymcui/cmrc2018) does, and this one reproduces:

* every text is normalised with ``str(x).lower().strip()`` first;
* text is segmented into single CJK characters, single punctuation characters
  and NLTK word tokens for everything else (Latin words, numbers, ...);
* F1 uses the longest common *contiguous* run of segments, with punctuation
  removed; EM compares the strings with punctuation removed;
* every question of the dataset counts in ``TOTAL``; a question without a
  prediction scores 0 and counts in ``SKIP``.

Usage:
    python finetune/cmrc2018_evaluate.py DATASET PREDICTIONS

prints one JSON object with the keys AVERAGE, F1, EM, TOTAL, SKIP and FILE.
"""

import argparse
import collections
import json
import os
import re
import sys

from nltk.tokenize import NLTKWordTokenizer

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package import below (`from pretrain import file_io`) resolves.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pretrain import file_io

# The official punctuation list, in the official order. Membership is tested
# one character at a time, so the two-character entry u'\u2026\u2026' ("……")
# can never equal a single character: it never matches, and a text containing
# "……" keeps those characters. It stays in the list to reproduce that.
PUNCTUATION = [
        u'-', u':', u'_', u'*', u'^', u'/', u'\\', u'~', u'`', u'+', u'=',
        u'\uff0c',  # ， full-width comma
        u'\u3002',  # 。 ideographic full stop
        u'\uff1a',  # ： full-width colon
        u'\uff1f',  # ？ full-width question mark
        u'\uff01',  # ！ full-width exclamation mark
        u'\u201c',  # “ left double quotation mark
        u'\u201d',  # ” right double quotation mark
        u'\uff1b',  # ； full-width semicolon
        u'\u2019',  # ’ right single quotation mark
        u'\u300a',  # 《 left double angle bracket
        u'\u300b',  # 》 right double angle bracket
        u'\u2026\u2026',  # …… two characters: never matches (see above)
        u'\u00b7',  # · middle dot
        u'\u3001',  # 、 ideographic comma
        u'\u300c',  # 「 left corner bracket
        u'\u300d',  # 」 right corner bracket
        u'\uff08',  # （ full-width left parenthesis
        u'\uff09',  # ） full-width right parenthesis
        u'\uff0d',  # － full-width hyphen-minus
        u'\uff5e',  # ～ full-width tilde
        u'\u300e',  # 『 left white corner bracket
        u'\u300f',  # 』 right white corner bracket
]

_CJK_CHAR = re.compile(u'[\u4e00-\u9fa5]')

# Needs no downloaded NLTK data (nltk.word_tokenize would need punkt).
_WORD_TOKENIZER = NLTKWordTokenizer()


def normalize_text(text):
    """Applies the official normalisation: ``str(text).lower().strip()``.

    Args:
        text: any value; it is converted with ``str``.

    Returns:
        The lower-cased string without leading and trailing whitespace.
    """
    return str(text).lower().strip()


def is_punctuation(char):
    """Tells whether a single character is in the punctuation list.

    Args:
        char: a one-character string.

    Returns:
        True when ``char`` equals one of the entries of ``PUNCTUATION``.
    """
    return char in PUNCTUATION


def is_cjk(char):
    """Tells whether a character is in the CJK range U+4E00..U+9FA5.

    Args:
        char: a one-character string.

    Returns:
        True for a CJK unified ideograph of that range.
    """
    return _CJK_CHAR.match(char) is not None


def tokenize_run(run):
    """Splits a run of non-CJK, non-punctuation characters into NLTK words.

    Args:
        run: the accumulated characters; whitespace inside it is dropped.

    Returns:
        A list of word tokens (empty for an empty or all-whitespace run).
    """
    if not run:
        return []
    return _WORD_TOKENIZER.tokenize(run)


def mixed_segmentation(text, rm_punc=False):
    """Segments a text the way the official CMRC 2018 metric does.

    Each CJK character and each punctuation character is its own segment; runs
    of other characters are split with the NLTK word tokenizer when they end.
    With ``rm_punc`` a punctuation character is skipped altogether, exactly as
    in the official script: it does not end the current run, so "ab-cd" gives
    the single segment "abcd".

    Args:
        text: the text to segment (normalised with ``normalize_text`` first).
        rm_punc: drop punctuation characters instead of emitting them.

    Returns:
        The list of segments (strings).
    """
    segments = []
    run = u''
    for char in normalize_text(text):
        if rm_punc and is_punctuation(char):
            continue
        if is_cjk(char) or is_punctuation(char):
            segments.extend(tokenize_run(run))
            run = u''
            segments.append(char)
        else:
            run += char
    segments.extend(tokenize_run(run))
    return segments


def remove_punctuation(text):
    """Normalises a text and removes every punctuation character from it.

    Args:
        text: the text (normalised with ``normalize_text`` first).

    Returns:
        The normalised text without characters of the punctuation list.
    """
    return u''.join(
        char for char in normalize_text(text) if not is_punctuation(char))


def find_lcs(first, second):
    """Finds the longest common contiguous run of two sequences.

    Dynamic programming over the two sequences: ``lengths[i][j]`` is the length
    of the common run that ends at ``first[i - 1]`` and ``second[j - 1]``. The
    first longest run found (scanning ``first`` then ``second``) is returned.

    Args:
        first: a sequence (e.g. a list of segments).
        second: another sequence.

    Returns:
        A tuple ``(run, length)``: the common run as a slice of ``first``
        and its length (0 and an empty slice when nothing is shared).
    """
    lengths = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    best_length = 0
    best_end = 0
    for i, first_item in enumerate(first):
        for j, second_item in enumerate(second):
            if first_item == second_item:
                lengths[i + 1][j + 1] = lengths[i][j] + 1
                if lengths[i + 1][j + 1] > best_length:
                    best_length = lengths[i + 1][j + 1]
                    best_end = i + 1
    return first[best_end - best_length:best_end], best_length


def f1_from_segments(reference_segments, prediction_segments):
    """Computes the F1 of one prediction against one reference.

    Args:
        reference_segments: segments of the reference answer.
        prediction_segments: segments of the prediction.

    Returns:
        The F1 in [0, 1]; 0 when the two share no segment.
    """
    _, lcs_length = find_lcs(reference_segments, prediction_segments)
    if lcs_length == 0:
        return 0.0
    precision = lcs_length / len(prediction_segments)
    recall = lcs_length / len(reference_segments)
    return 2.0 * precision * recall / (precision + recall)


def calc_f1_score(answers, prediction):
    """Computes the question F1: the best F1 over the reference answers.

    Args:
        answers: a non-empty list of reference answer texts.
        prediction: the predicted answer text.

    Returns:
        The F1 in [0, 1].
    """
    prediction_segments = mixed_segmentation(prediction, rm_punc=True)
    return max(
        f1_from_segments(mixed_segmentation(answer, rm_punc=True),
                         prediction_segments)
        for answer in answers)


def calc_em_score(answers, prediction):
    """Computes the question EM: 1 if any reference matches exactly.

    Args:
        answers: a list of reference answer texts.
        prediction: the predicted answer text.

    Returns:
        1 when, without punctuation, the prediction equals some reference,
        else 0.
    """
    cleaned_prediction = remove_punctuation(prediction)
    for answer in answers:
        if remove_punctuation(answer) == cleaned_prediction:
            return 1
    return 0


def _question_answers(question, where, source):
    """Returns the reference answer texts of one question.

    Args:
        question: one entry of a paragraph's ``qas`` list.
        where: a description of the question's place, for error messages.
        source: the dataset's name (its path), for error messages.

    Returns:
        The list of answer texts.

    Raises:
        ValueError: when the question has no answers or an answer has no text.
    """
    answers = question.get('answers')
    if not isinstance(answers, list) or not answers:
        raise ValueError(
            '{}: {} (id {}) has no reference answers; expected a non-empty '
            '"answers" list'.format(source, where, question['id']))
    texts = []
    for index, answer in enumerate(answers):
        if not isinstance(answer, dict) or 'text' not in answer:
            raise ValueError('{}: {} (id {}), answer {} has no "text"'.format(
                source, where, question['id'], index))
        texts.append(answer['text'])
    return texts


def _get_list(record, key):
    """Returns ``record[key]`` when it is a list, else None."""
    if isinstance(record, dict) and isinstance(record.get(key), list):
        return record[key]
    return None


def iter_questions(dataset, source='<dataset>'):
    """Yields every question of a squad-style dataset.

    Args:
        dataset: the parsed dataset JSON (``data`` -> ``paragraphs`` ->
            ``qas``).
        source: the dataset's name (its path), for error messages.

    Yields:
        Tuples ``(question_id, answer_texts)``; the id is stripped.

    Raises:
        ValueError: when the structure is not the expected one.
    """
    if not isinstance(dataset, dict) or 'data' not in dataset:
        raise ValueError('{}: expected a JSON object with a "data" key (a '
                         'squad-style dataset)'.format(source))
    if not isinstance(dataset['data'], list):
        raise ValueError('{}: "data" must be a list of articles'.format(
            source))
    for article_index, article in enumerate(dataset['data']):
        paragraphs = _get_list(article, 'paragraphs')
        if paragraphs is None:
            raise ValueError('{}: article {} has no "paragraphs" list'.format(
                source, article_index))
        for paragraph_index, paragraph in enumerate(paragraphs):
            questions = _get_list(paragraph, 'qas')
            if questions is None:
                raise ValueError(
                    '{}: article {}, paragraph {} has no "qas" list'.format(
                        source, article_index, paragraph_index))
            for question_index, question in enumerate(questions):
                where = 'article {}, paragraph {}, question {}'.format(
                    article_index, paragraph_index, question_index)
                if not isinstance(question, dict) or 'id' not in question:
                    raise ValueError('{}: {} has no "id"'.format(
                        source, where))
                answers = _question_answers(question, where, source)
                yield str(question['id']).strip(), answers


def evaluate(ground_truth, predictions, source='<dataset>',
             predictions_source='predictions'):
    """Scores predictions against a dataset with the CMRC 2018 metric.

    The prediction ids are checked against the dataset before anything is
    scored or printed: predictions none of whose ids is a question of the
    dataset belong to another dataset, and say so at once.

    Args:
        ground_truth: the parsed dataset JSON.
        predictions: a dict from question id to predicted answer text.
        source: the dataset's name (its path), for error messages.
        predictions_source: the predictions' name (their path), for error
            messages.

    Returns:
        A tuple ``(f1, em, total, skip)``: F1 and EM as percentages over all
        questions, the number of questions and the number without a prediction.

    Raises:
        ValueError: on a malformed dataset, on predictions that are not a
            dict or whose answer is not a string (naming the file and the
            id), when the dataset has no question, or when no prediction id
            is a question of the dataset (the wrong file was passed).
    """
    if not isinstance(predictions, dict):
        raise ValueError(
            '{}: expected a JSON object mapping question id to answer text, '
            'got {}'.format(predictions_source, type(predictions).__name__))
    questions = list(iter_questions(ground_truth, source))
    if not questions:
        raise ValueError('{}: the dataset has no questions'.format(source))
    check_prediction_ids(predictions, {qid for qid, _ in questions}, source,
                         predictions_source)
    f1_sum = 0.0
    em_sum = 0
    skip = 0
    for question_id, answers in questions:
        if question_id not in predictions:
            sys.stderr.write('Unanswered question: {}\n'.format(question_id))
            skip += 1
            continue
        prediction = predictions[question_id]
        if not isinstance(prediction, str):
            raise ValueError(
                '{}: the answer of question {!r} is {!r}; expected a '
                'string'.format(predictions_source, question_id, prediction))
        f1_sum += calc_f1_score(answers, prediction)
        em_sum += calc_em_score(answers, prediction)
    total = len(questions)
    return 100.0 * f1_sum / total, 100.0 * em_sum / total, total, skip


def check_prediction_ids(predictions, dataset_ids, source,
                         predictions_source='predictions'):
    """Reports prediction ids that are not questions of the dataset.

    They are counted on stderr; when predictions exist but none of their
    ids is in the dataset, the files do not belong together.

    Args:
        predictions: a dict from question id to predicted answer text.
        dataset_ids: the question ids of the dataset.
        source: the dataset's name (its path).
        predictions_source: the predictions' name (their path).

    Raises:
        ValueError: no prediction id is a question id of the dataset.
    """
    unknown = sorted(set(predictions) - dataset_ids)
    if not unknown:
        return
    if len(unknown) == len(predictions):
        raise ValueError(
            '{}: none of its {} prediction ids (e.g. {!r}) is a question of '
            '{}; the predictions belong to another dataset'.format(
                predictions_source, len(unknown), unknown[0], source))
    sys.stderr.write(
        '{} of {} prediction ids are not questions of {} and were not '
        'scored (e.g. {})\n'.format(len(unknown), len(predictions), source,
                                    ', '.join(repr(i) for i in unknown[:3])))


def format_result(f1, em, total, skip, predictions_path):
    """Builds the official output record.

    Args:
        f1: F1 percentage.
        em: EM percentage.
        total: number of questions.
        skip: number of questions without a prediction.
        predictions_path: the predictions file, reported as FILE.

    Returns:
        An OrderedDict with AVERAGE, F1, EM (strings with three decimals),
        TOTAL, SKIP and FILE.
    """
    result = collections.OrderedDict()
    result['AVERAGE'] = '%.3f' % ((em + f1) * 0.5)
    result['F1'] = '%.3f' % f1
    result['EM'] = '%.3f' % em
    result['TOTAL'] = total
    result['SKIP'] = skip
    result['FILE'] = predictions_path
    return result


def load_predictions(path):
    """Reads a predictions file: a JSON object from question id to answer.

    Args:
        path: the file's path.

    Returns:
        The predictions dict.

    Raises:
        ValueError: when the file is not valid JSON or not a JSON object.
    """
    return file_io.load_json(
        path, what='predictions file (an object from question id to answer '
        'text)')


def evaluate_files(dataset_path, predictions_path):
    """Scores a predictions file against a dataset file.

    Args:
        dataset_path: the squad-style dataset JSON with reference answers.
        predictions_path: the predictions JSON (question id -> answer text).

    Returns:
        The record of ``format_result``: AVERAGE, F1, EM, TOTAL, SKIP, FILE.
    """
    dataset = file_io.load_json(dataset_path, what='squad-style dataset')
    predictions = load_predictions(predictions_path)
    f1, em, total, skip = evaluate(dataset, predictions, source=dataset_path,
                                   predictions_source=predictions_path)
    return format_result(f1, em, total, skip, predictions_path)


def parse_args(argv=None):
    """Parses the command line.

    Args:
        argv: the arguments without the program name (default: sys.argv[1:]).

    Returns:
        The argparse namespace with ``dataset_file`` and ``prediction_file``.
    """
    parser = argparse.ArgumentParser(
        description='Official CMRC 2018 evaluation (v5): EM and F1.')
    parser.add_argument('dataset_file',
                        help='dataset JSON with reference answers')
    parser.add_argument('prediction_file',
                        help='predictions JSON: question id -> answer text')
    return parser.parse_args(argv)


def main(argv=None):
    """Runs the evaluation and prints the result as one JSON line.

    Args:
        argv: the arguments without the program name (default: sys.argv[1:]).

    Returns:
        The process exit status.
    """
    args = parse_args(argv)
    try:
        result = evaluate_files(args.dataset_file, args.prediction_file)
    except (IOError, OSError, ValueError) as error:
        sys.stderr.write('cmrc2018_evaluate.py: error: {}\n'.format(error))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
