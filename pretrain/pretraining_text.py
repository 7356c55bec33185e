# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Reading pretraining text: documents of sentences, as token ids.

Input files hold one sentence per line, with blank lines between documents
(UTF-8, with or without a byte-order mark, CRLF or LF). Every sentence is
tokenized once; with whole-word masking its Chinese text is also segmented
into jieba's words (`word_segmentation`: jieba's algorithm in C), and each
token carries a flag saying whether it continues the word of the token
before it (every WordPiece `##` piece does).
"""

import collections
import functools

import tensorflow.compat.v1 as tf

from pretrain import file_io
from pretrain import tokenization
from pretrain import word_segmentation

# How many documents between two progress messages.
LOG_EVERY_DOCUMENTS = 10000
# Distinct non-CJK runs (punctuation, numbers, Latin words) whose token ids
# are remembered while reading.
RUN_CACHE_SIZE = 2**16

# One input line: its token ids and, per token, whether the token continues
# the word started by the token before it (whole-word masking units), as
# bytes: 1 where it does, 0 where it starts a word. Flags are bytes all the
# way to the masking, where bytes.translate turns them into word starts in
# one C call (this runs for every instance).
Sentence = collections.namedtuple("Sentence", ["token_ids", "continues_word"])
CONTINUES = word_segmentation.CONTINUES
STARTS = word_segmentation.STARTS


@functools.lru_cache(maxsize=None)
def word_segmenter():
    """Returns the process's `word_segmentation.WordSegmenter` (created
    once, on first use: it loads jieba's dictionary)."""
    segmenter = word_segmentation.WordSegmenter()
    if not segmenter.is_native:
        tf.logging.warning(
            "%s is not built (scripts/setup_env.sh builds it): Chinese words "
            "are segmented by jieba's Python code, with the same words but "
            "several times slower.", word_segmentation.LIBRARY_PATH)
    return segmenter


def _text_runs(text):
    """Splits `text` into maximal runs of CJK / non-CJK characters.

    Yields:
        (run, is_cjk) pairs whose runs concatenate to `text`.
    """
    end = 0
    for match in tokenization.CJK_RUN_PATTERN.finditer(text):
        if match.start() > end:
            yield text[end:match.start()], False
        yield match.group(), True
        end = match.end()
    if end < len(text):
        yield text[end:], False


class SentenceEncoder(object):
    """Turns lines into `Sentence`s: the tokenizer's ids and word flags.

    The WordPiece tokenizer puts every CJK ideograph in a token of its own,
    so a line tokenizes to the tokens of its CJK and non-CJK runs one after
    the other, and a CJK character always gives the same single token. The
    encoder therefore looks CJK characters up one by one (remembering each
    character's id) and tokenizes each non-CJK run (remembering the most
    recent distinct runs); the ids are exactly those of
    `tokenizer.tokenize(text)`.

    With whole-word masking, CJK runs are segmented into words with jieba;
    each character after the first of a word continues it. In other runs a
    WordPiece `##` piece continues the word before it.
    """

    def __init__(self, tokenizer, do_whole_word_mask):
        """Creates the encoder.

        Args:
            tokenizer: A WordPiece `tokenization.FullTokenizer`.
            do_whole_word_mask: Whether to record word boundaries.

        Raises:
            ValueError: If whole-word masking is asked for with a
              SentencePiece tokenizer.
        """
        if do_whole_word_mask and tokenizer.sp_model:
            raise ValueError(
                "--do_whole_word_mask segments Chinese words with jieba over "
                "WordPiece tokens; it cannot be combined with "
                "--spm_model_file, whose pieces already span words.")
        self._tokenizer = tokenizer
        self._do_whole_word_mask = do_whole_word_mask
        self._cjk_ids = {}
        self._run_encoding = functools.lru_cache(maxsize=RUN_CACHE_SIZE)(
            self._encode_other_run)

    def encode(self, text):
        """Returns the `Sentence` of one line of text.

        Raises:
            ValueError: If a token is unknown and the vocabulary has no UNK
              token.
        """
        if self._tokenizer.sp_model:
            token_ids = tuple(self._tokenizer.convert_tokens_to_ids(
                self._tokenizer.tokenize(text)))
            return Sentence(token_ids, STARTS * len(token_ids))
        token_ids = []
        continues_word = bytearray()
        for run, is_cjk in _text_runs(text):
            if is_cjk:
                run_ids, run_continues = self._encode_cjk_run(run)
            else:
                run_ids, run_continues = self._run_encoding(run)
            token_ids.extend(run_ids)
            continues_word += run_continues
        return Sentence(tuple(token_ids), bytes(continues_word))

    def _encode_cjk_run(self, run):
        """Ids (one per character) and word flags of a CJK run."""
        cjk_ids = self._cjk_ids
        for char in run:
            if char not in cjk_ids:
                cjk_ids[char], = self._tokenizer.convert_tokens_to_ids(
                    self._tokenizer.tokenize(char))
        run_ids = [cjk_ids[char] for char in run]
        if not self._do_whole_word_mask:
            return run_ids, STARTS * len(run)
        return run_ids, word_segmenter().continues_word(run)

    def _encode_other_run(self, run):
        """Ids and word flags of a run without CJK characters."""
        tokens = self._tokenizer.tokenize(run)
        run_ids = tuple(self._tokenizer.convert_tokens_to_ids(tokens))
        if not self._do_whole_word_mask:
            return run_ids, STARTS * len(tokens)
        return run_ids, b"".join(
            CONTINUES if token.startswith("##") else STARTS
            for token in tokens)


def _decode_line(raw_line, path, line_number):
    """Decodes one UTF-8 input line (the file's BOM dropped), naming the file
    and line on failure."""
    return file_io.decode_utf8(raw_line, path, "input_file", line_number)


def read_file_documents(path, sentence_fn):
    """Reads the documents of one text file.

    Args:
        path: A text file, one sentence per line, blank lines between
          documents.
        sentence_fn: Maps a stripped, non-blank line to a `Sentence`
          (e.g. `SentenceEncoder.encode`).

    Returns:
        (documents, num_characters): a list of documents, each a non-empty
        list of `Sentence`s, and the number of characters in the file.

    Raises:
        ValueError: If a line is not UTF-8 or cannot be tokenized, or the
          file holds no document.
    """
    documents = [[]]
    skipped_lines = 0
    num_characters = 0
    with tf.io.gfile.GFile(path, "rb") as reader:
        for line_number, raw_line in enumerate(reader, start=1):
            line = _decode_line(raw_line, path, line_number)
            num_characters += len(line)
            line = line.strip()
            if not line:
                if documents[-1]:
                    documents.append([])
                continue
            try:
                sentence = sentence_fn(line)
            except ValueError as error:
                raise ValueError("%s, line %d: %s" % (path, line_number,
                                                      error))
            if not sentence.token_ids:
                skipped_lines += 1
                continue
            starts_document = not documents[-1]
            if starts_document and len(documents) % LOG_EVERY_DOCUMENTS == 0:
                tf.logging.info("%s: reading document %d", path,
                                len(documents))
            documents[-1].append(sentence)
    if skipped_lines:
        tf.logging.warning("%s: skipped %d non-blank lines that have no "
                           "tokens.", path, skipped_lines)
    documents = [document for document in documents if document]
    if not documents:
        raise ValueError(
            "%s holds no documents: expected text with one sentence per line "
            "and blank lines between documents." % path)
    return documents, num_characters


def read_documents(input_files, tokenizer, do_whole_word_mask):
    """Reads and tokenizes every document of the input files, in order.

    Args:
        input_files: List of text files.
        tokenizer: A `tokenization.FullTokenizer`.
        do_whole_word_mask: Whether to record word boundaries (jieba for
          Chinese, `##` for WordPiece continuations).

    Returns:
        A list of documents, each a list of `Sentence`s.

    Raises:
        ValueError: If a file holds no document, or whole-word masking is
          asked for with a SentencePiece tokenizer.
    """
    encoder = SentenceEncoder(tokenizer, do_whole_word_mask)
    documents = []
    for path in input_files:
        file_documents, _ = read_file_documents(path, encoder.encode)
        documents.extend(file_documents)
    return documents
