# coding=utf-8
# Copyright 2024 The Chinese MobileBERT Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Text to token conversion compatible with Google BERT checkpoints.

Two tokenization schemes are offered through `FullTokenizer`:

* WordPiece (the default): a `BasicTokenizer` cleans the text, isolates every
  CJK character, optionally lower-cases and removes accents and splits off
  punctuation; a `WordpieceTokenizer` then breaks every remaining word into
  the longest vocabulary pieces it can find.
* SentencePiece: when a SentencePiece model is supplied, the raw text is
  segmented by that model instead.

Chinese BERT vocabularies contain entries made of the U+2028 LINE SEPARATOR
character, so vocabulary files are split on "\\n" alone.
"""

import collections
import os
import re
import unicodedata

from pretrain import file_io

# Code-point ranges of the "CJK Unified Ideographs" blocks and their extensions
# plus the compatibility ideographs. Hangul, Hiragana and Katakana are not in
# this list on purpose: BERT treats them like any other alphabet.
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)

# Maximal runs of the ideographs above (`is_chinese_char`), for code that
# treats the CJK parts of a text apart from the rest.
CJK_RUN_PATTERN = re.compile("[%s]+" % "".join(
    "\\U%08x-\\U%08x" % (low, high) for low, high in _CJK_RANGES))

# Every non-alphanumeric ASCII symbol counts as punctuation, including
# characters such as "$", "^" or "`" that Unicode files under symbols.
_ASCII_PUNCTUATION_RANGES = ((33, 47), (58, 64), (91, 96), (123, 126))

# Checkpoint directory names whose vocabulary was built from lower-cased text
# and those whose vocabulary keeps case.
_LOWER_CASED_MODELS = frozenset([
    "uncased_L-24_H-1024_A-16",
    "uncased_L-12_H-768_A-12",
    "uncased_L-24_H-128_B-512_A-4_F-4_OPT",
    "multilingual_L-12_H-768_A-12",
    "chinese_L-12_H-768_A-12",
    "chinese_wwm_L-12_H-768_A-12",
    "chinese_wwm_ext_L-12_H-768_A-12",
    "chinese_roberta_wwm_ext_L-12_H-768_A-12",
    "chinese_roberta_wwm_large_ext_L-24_H-1024_A-16",
])
_CASED_MODELS = frozenset([
    "cased_L-12_H-768_A-12",
    "cased_L-24_H-1024_A-16",
    "multi_cased_L-12_H-768_A-12",
])

_DEFAULT_UNK_TOKEN = "[UNK]"


def validate_case_matches_checkpoint(do_lower_case, init_checkpoint):
    """Checks that `do_lower_case` agrees with a well-known checkpoint.

    The model name is the directory that holds the checkpoint, e.g.
    `chinese_L-12_H-768_A-12` for
    `.../chinese_L-12_H-768_A-12/bert_model.ckpt`. Checkpoints with other
    names are not checked.

    Args:
        do_lower_case: Whether the input text will be lower-cased.
        init_checkpoint: Path of the checkpoint, or None/empty.

    Raises:
        ValueError: If the checkpoint is known to need the opposite setting.
    """
    if not init_checkpoint:
        return
    model_name = os.path.basename(os.path.dirname(init_checkpoint))
    if model_name in _LOWER_CASED_MODELS and not do_lower_case:
        actual_flag, case_name, opposite_flag = "False", "lower-cased", "True"
    elif model_name in _CASED_MODELS and do_lower_case:
        actual_flag, case_name, opposite_flag = "True", "cased", "False"
    else:
        return
    raise ValueError(
        "You passed in `--do_lower_case=%s` with `--init_checkpoint=%s`. "
        "`%s` is a %s model, so the tokenizer must be run with "
        "`--do_lower_case=%s`. If you really meant this combination, use a "
        "checkpoint directory with a different name to skip this check." %
        (actual_flag, init_checkpoint, model_name, case_name, opposite_flag))


def convert_to_unicode(text):
    """Returns `text` as `str`, decoding UTF-8 bytes (bad bytes are dropped).

    Args:
        text: A `str` or `bytes` object.

    Raises:
        ValueError: If `text` is of any other type.
    """
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "ignore")
    raise ValueError("Unsupported string type: %s" % type(text))


def printable_text(text):
    """Returns `text` in a form suitable for printing or logging."""
    return convert_to_unicode(text)


def load_vocab(vocab_file, flag="vocab_file"):
    """Loads a one-token-per-line vocabulary file.

    Lines are separated by "\\n" only: other Unicode line breaks such as U+2028
    are legitimate vocabulary entries. A trailing "\\r" and surrounding spaces
    and tabs are removed; blank lines at the end of the file are ignored.

    Args:
        vocab_file: Path of the vocabulary (any `tf.io.gfile` path).
        flag: The flag that gave the path, for messages.

    Returns:
        A `collections.OrderedDict` mapping each token to its line index.

    Raises:
        ValueError: If the file is missing or empty, is not UTF-8, has a blank
          line before its last token, or lists a token twice.
    """
    where = file_io.source(vocab_file, flag)
    tokens = [line.strip(" \t") for line in
              file_io.read_lines(vocab_file, flag, "vocabulary file")]
    while tokens and not tokens[-1]:
        tokens.pop()
    if not tokens:
        raise ValueError("%s: the vocabulary file is empty." % where)
    vocab = collections.OrderedDict()
    for index, token in enumerate(tokens):
        if not token:
            raise ValueError(
                "%s, line %d: blank line; every line of a vocabulary must "
                "hold one token." % (where, index + 1))
        if token in vocab:
            raise ValueError(
                "%s, line %d: token %r already appears on line %d." %
                (where, index + 1, token, vocab[token] + 1))
        vocab[token] = index
    return vocab


def whitespace_tokenize(text):
    """Splits `text` on runs of whitespace, dropping empty pieces."""
    return text.split()


def is_chinese_char(cp):
    """Returns True if code point `cp` is a CJK ideograph."""
    return any(low <= cp <= high for low, high in _CJK_RANGES)


def _is_whitespace(char):
    """Returns True for space, tab, newline, carriage return and Zs chars."""
    if char in " \t\n\r":
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char):
    """Returns True for Unicode C* characters other than \\t, \\n, \\r."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char):
    """Returns True for ASCII symbols and Unicode punctuation (P*)."""
    cp = ord(char)
    if any(low <= cp <= high for low, high in _ASCII_PUNCTUATION_RANGES):
        return True
    return unicodedata.category(char).startswith("P")


class BasicTokenizer(object):
    """Cleans text and splits it on whitespace, punctuation and CJK chars."""

    def __init__(self, do_lower_case=True):
        """Creates the tokenizer.

        Args:
            do_lower_case: Whether to lower-case the text and strip accents.
        """
        self.do_lower_case = do_lower_case

    def tokenize(self, text):
        """Splits `text` (str or UTF-8 bytes) into a list of basic tokens."""
        text = self._clean_text(convert_to_unicode(text))
        text = self._space_out_chinese_chars(text)
        tokens = []
        for word in whitespace_tokenize(text):
            if self.do_lower_case:
                word = self._strip_accents(word.lower())
            tokens.extend(self._split_on_punctuation(word))
        return tokens

    @staticmethod
    def _clean_text(text):
        """Drops NUL, U+FFFD and control chars; maps whitespace to a space."""
        output = []
        for char in text:
            if char in "\x00\ufffd" or _is_control(char):
                continue
            output.append(" " if _is_whitespace(char) else char)
        return "".join(output)

    @staticmethod
    def _space_out_chinese_chars(text):
        """Surrounds every CJK ideograph with spaces."""
        output = []
        for char in text:
            if is_chinese_char(ord(char)):
                output.extend((" ", char, " "))
            else:
                output.append(char)
        return "".join(output)

    @staticmethod
    def _strip_accents(text):
        """Removes combining marks (Mn) after canonical decomposition (NFD)."""
        decomposed = unicodedata.normalize("NFD", text)
        return "".join(char for char in decomposed
                       if unicodedata.category(char) != "Mn")

    @staticmethod
    def _split_on_punctuation(word):
        """Splits `word` so that every punctuation char stands alone."""
        pieces = []
        start_new_piece = True
        for char in word:
            if _is_punctuation(char):
                pieces.append(char)
                start_new_piece = True
            elif start_new_piece:
                pieces.append(char)
                start_new_piece = False
            else:
                pieces[-1] += char
        return pieces


class WordpieceTokenizer(object):
    """Greedy longest-match-first WordPiece segmentation."""

    def __init__(self, vocab, unk_token=_DEFAULT_UNK_TOKEN,
                 max_input_chars_per_word=200):
        """Creates the tokenizer.

        Args:
            vocab: Container of known tokens (e.g. the dict from `load_vocab`).
              Pieces that continue a word carry the prefix "##".
            unk_token: Token emitted for a word that cannot be segmented.
            max_input_chars_per_word: Longer words become `unk_token` directly.
        """
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize(self, text):
        """Splits basic-tokenized, whitespace-separated text into pieces.

        For example, with a vocabulary holding "un", "##aff" and "##able",
        "unaffable" becomes ["un", "##aff", "##able"]. A word that cannot be
        covered completely by vocabulary pieces becomes a single `unk_token`.

        Args:
            text: A str or UTF-8 bytes; words are separated by whitespace.

        Returns:
            A list of word pieces.
        """
        output_tokens = []
        for word in whitespace_tokenize(convert_to_unicode(text)):
            pieces = None
            if len(word) <= self.max_input_chars_per_word:
                pieces = self._segment_word(word)
            output_tokens.extend(pieces or [self.unk_token])
        return output_tokens

    def _segment_word(self, word):
        """Returns the pieces of `word`, or None if it cannot be covered."""
        pieces = []
        start = 0
        while start < len(word):
            end = self._longest_match_end(word, start)
            if end is None:
                return None
            pieces.append(self._piece(word, start, end))
            start = end
        return pieces

    def _longest_match_end(self, word, start):
        """Returns the largest `end` making word[start:end] a known piece."""
        for end in range(len(word), start, -1):
            if self._piece(word, start, end) in self.vocab:
                return end
        return None

    @staticmethod
    def _piece(word, start, end):
        """Returns word[start:end], with "##" unless it starts the word."""
        return ("##" if start > 0 else "") + word[start:end]


class FullTokenizer(object):
    """End-to-end tokenizer: text to vocabulary tokens and ids and back."""

    def __init__(self, vocab_file, do_lower_case=True, spm_model_file=None):
        """Creates the tokenizer.

        Args:
            vocab_file: WordPiece vocabulary file. May be None when
              `spm_model_file` is given; the SentencePiece model's own pieces
              then form the vocabulary.
            do_lower_case: Whether to lower-case the input text (WordPiece mode
              also strips accents).
            spm_model_file: Optional SentencePiece model; when given, text is
              segmented by this model instead of BasicTokenizer + WordPiece.

        Raises:
            ValueError: If neither a vocabulary nor a SentencePiece model is
              given.
        """
        if not vocab_file and not spm_model_file:
            raise ValueError("FullTokenizer needs a vocab_file, an "
                             "spm_model_file or both.")
        self.do_lower_case = do_lower_case
        self.sp_model = None
        self.basic_tokenizer = None
        self.wordpiece_tokenizer = None
        self.unk_token = _DEFAULT_UNK_TOKEN
        if spm_model_file:
            self.sp_model = _load_sentencepiece_model(spm_model_file)
        if vocab_file:
            self.vocab = load_vocab(vocab_file)
        else:
            self.vocab = _sentencepiece_vocab(self.sp_model)
            self.unk_token = self.sp_model.id_to_piece(self.sp_model.unk_id())
        if not self.sp_model:
            self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case)
            self.wordpiece_tokenizer = WordpieceTokenizer(
                vocab=self.vocab, unk_token=self.unk_token)
        self.inv_vocab = {index: token for token, index in self.vocab.items()}

    def tokenize(self, text):
        """Splits `text` into tokens; every token is in `vocab` (or is UNK)."""
        if self.sp_model:
            return self._sentencepiece_tokenize(text)
        tokens = []
        for word in self.basic_tokenizer.tokenize(text):
            tokens.extend(self.wordpiece_tokenizer.tokenize(word))
        return tokens

    def _sentencepiece_tokenize(self, text):
        """Segments `text` with the SentencePiece model."""
        text = " ".join(whitespace_tokenize(convert_to_unicode(text)))
        if self.do_lower_case:
            text = text.lower()
        pieces = self.sp_model.encode_as_pieces(text)
        return [piece if piece in self.vocab else self.unk_token
                for piece in pieces]

    def convert_tokens_to_ids(self, tokens):
        """Maps tokens to ids; unknown tokens map to the UNK token's id.

        Raises:
            ValueError: If a token is unknown and the vocabulary has no UNK
              token.
        """
        unk_id = self.vocab.get(self.unk_token)
        ids = []
        for token in tokens:
            token_id = self.vocab.get(token, unk_id)
            if token_id is None:
                raise ValueError(
                    "Token %r is not in the vocabulary, which has no %r "
                    "token to stand for it." % (token, self.unk_token))
            ids.append(token_id)
        return ids

    def convert_ids_to_tokens(self, ids):
        """Maps ids back to tokens.

        Raises:
            ValueError: If an id is outside the vocabulary.
        """
        tokens = []
        for token_id in ids:
            if token_id not in self.inv_vocab:
                raise ValueError(
                    "Token id %r is outside the vocabulary (size %d)." %
                    (token_id, len(self.inv_vocab)))
            tokens.append(self.inv_vocab[token_id])
        return tokens


def _load_sentencepiece_model(spm_model_file):
    """Loads a SentencePiece model from any `tf.io.gfile` path."""
    import sentencepiece as spm  # Only needed in SentencePiece mode.
    model_proto = file_io.read_bytes(spm_model_file, "spm_model_file",
                                     "SentencePiece model")
    sp_model = spm.SentencePieceProcessor()
    try:
        sp_model.load_from_serialized_proto(model_proto)
    except RuntimeError as error:
        raise ValueError("%s: not a SentencePiece model (%s)" %
                         (file_io.source(spm_model_file, "spm_model_file"),
                          file_io.error_line(error)))
    return sp_model


def _sentencepiece_vocab(sp_model):
    """Returns the SentencePiece pieces as an OrderedDict piece -> id."""
    return collections.OrderedDict(
        (sp_model.id_to_piece(index), index)
        for index in range(sp_model.get_piece_size()))
