# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Generates the small Chinese data set that ships with the demo.

Everything here is synthetic: sentences come from hand-written templates whose
slots are filled from hand-written word banks (both in demo_word_banks.json
beside this script), with a seeded random generator, so the output is
identical on every run. It contains

* `corpus.txt`: a pretraining corpus in BERT's format (one sentence per
  line, a blank line between documents) about weather, travel, food, school,
  technology, sports, history, city life, shopping, nature and people;
* `sentiment/{train,dev}.tsv`: hotel, restaurant and product reviews in the
  ChnSentiCorp layout (`label<TAB>text_a`, 1 = positive), balanced, some of
  them turning with "但是" so that the final clause decides the label;
* `mrc/{train,dev}.json`: span-extraction questions in the CMRC 2018 format
  over generated paragraphs (biographies, companies and their products, small
  towns, marathons); dev questions carry one to three reference answers;
* `ner/{train,dev}.txt`: sentences with tagged person, place and company
  names, one character and its BIO tag per line;
* `vocab.txt`: a WordPiece vocabulary that covers every text above;
* `README.md`: what the files are, with their sizes.

The data is regular enough for a tiny model to learn something measurable in
a few minutes on a CPU. Usage:

    python scripts/make_demo_data.py [--output_dir=scripts/demo_data]
"""

import collections
import functools
import json
import os
import random
import re
import string
import sys

from absl import app
from absl import flags
from absl import logging
import tensorflow.compat.v1 as tf

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pretrain import tokenization

DEFAULT_OUTPUT_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "demo_data")
DEFAULT_SEED = 20261125

NUM_DOCUMENTS = 240
MIN_SENTENCES, MAX_SENTENCES = 3, 8
REVIEWS_PER_LABEL = {"train": 400, "dev": 100}
MIXED_REVIEW_RATE = 0.25
MRC_PARAGRAPHS = {"train": 32, "dev": 10}
QUESTIONS_PER_PARAGRAPH = 5
MAX_DEV_REFERENCES = 3
MAX_DRAWS_PER_ITEM = 50

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SPELLING_CHARACTERS = string.ascii_lowercase + string.digits

_FORMATTER = string.Formatter()


class Phrase(str):
    """A slot value that also names shorter spans accepted as answers.

    For example `Phrase("1987年", ["1987"])` renders as "1987年" while a
    reference answer may also be just the number.
    """

    def __new__(cls, text, variants=()):
        phrase = super(Phrase, cls).__new__(cls, text)
        for variant in variants:
            if variant not in text:
                raise ValueError("Answer variant %r is not part of %r." %
                                 (variant, text))
        phrase.variants = tuple(variants)
        return phrase


def with_unit(numbers, unit):
    """Returns Phrases "<n><unit>" that also accept the bare number."""
    return [Phrase("%s%s" % (number, unit), [str(number)])
            for number in numbers]


def as_text(numbers):
    """Returns the numbers as strings."""
    return [str(number) for number in numbers]


# ---------------------------------------------------------------------------
# Word banks and templates: the lists are data (demo_word_banks.json); what
# is built from them or from numbers is built here.

WORD_BANKS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "demo_word_banks.json")


def load_word_banks(path=WORD_BANKS_FILE):
    """The word lists, templates and their slot banks of the demo data."""
    with open(path, encoding="utf-8") as reader:
        return json.load(reader)


WORDS = load_word_banks()
CITIES = WORDS["cities"]
COMPANIES = WORDS["companies"]
DEVICE_CATEGORIES = WORDS["device_categories"]
CAREERS = WORDS["careers"]
HOBBIES = WORDS["hobbies"]
DISHES = WORDS["dishes"]
PERSON_NAMES = [surname + given for surname in WORDS["surnames"]
                for given in WORDS["given_names"]]
PRODUCTS = ["%s %s" % (brand, model) for brand in WORDS["product_brands"]
            for model in WORDS["product_models"]]
WORKS = [modifier + noun for modifier in WORDS["work_modifiers"]
         for noun in WORDS["work_nouns"]]
TOWN_PREFIXES = WORDS["town_prefixes"]
SIGHT_PREFIXES = WORDS["sight_prefixes"]
MONTHS = as_text(range(1, 13))

# Pretraining corpus: sentence templates per topic and their slot banks. A
# slot such as {city2} or {home_city} draws from the bank "city" (see
# `bank_name`); slots sharing a bank get different values in one document,
# and every slot keeps its value for the whole document.
CORPUS_TOPICS = collections.OrderedDict(WORDS["corpus_topics"])
CORPUS_BANKS = {
    **WORDS["corpus_words"],
    "city": CITIES,
    "person": PERSON_NAMES,
    "month": MONTHS,
    "day": as_text(range(1, 29)),
    "temp_low": as_text(range(0, 16)),
    "temp_high": as_text(range(18, 37)),
    "wind": as_text(range(3, 8)),
    "hours": as_text(range(2, 10)),
    "visitors": as_text(range(50, 550, 50)),
    "dish": DISHES,
    "money": as_text(range(1500, 8500, 500)),
    "portions": as_text([50, 80, 100, 120, 150, 200, 300]),
    "class_size": as_text(range(30, 51)),
    "company": COMPANIES,
    "product": PRODUCTS,
    "percent": as_text(range(10, 55, 5)),
    "mah": as_text([3800, 4000, 4500, 5000, 5500]),
    "base_count": as_text(range(1, 10)),
    "fans": as_text(range(1, 7)),
    "runners": as_text([5000, 10000, 20000, 30000]),
    "times": as_text(range(2, 6)),
    "relic_count": as_text([50, 80, 120, 200, 300]),
    "minutes": as_text([15, 20, 30, 40, 45, 60]),
    "km": as_text([5, 8, 10, 12, 15, 20]),
    "days": as_text(range(1, 6)),
    "price": as_text([39, 59, 99, 129, 199, 299, 399, 599]),
    "height": as_text([1200, 1500, 1860, 2100, 2450]),
    "trees": as_text([100, 200, 500, 1000]),
    "career": CAREERS,
    "work": WORKS,
    "years": as_text(range(2, 9)),
    "hobby": HOBBIES,
}

# Sentiment reviews. Each aspect lists predicates that praise or criticise it.
Aspect = collections.namedtuple("Aspect", ["name", "positive", "negative"])
ReviewDomain = collections.namedtuple(
    "ReviewDomain",
    ["subjects", "aspects", "positive_closings", "negative_closings"])
REVIEW_DOMAINS = collections.OrderedDict(
    (name, ReviewDomain(subjects=domain["subjects"],
                        aspects=[Aspect(**aspect)
                                 for aspect in domain["aspects"]],
                        positive_closings=domain["positive_closings"],
                        negative_closings=domain["negative_closings"]))
    for name, domain in WORDS["review_domains"].items())
# Words that turn a review around; the clause after them decides the label.
TURNS = {int(label): words for label, words in WORDS["turns"].items()}

# Reading comprehension paragraphs. Each kind has a title, a context template
# and questions naming the slot (or "slot[key]") that holds their answer.
MrcKind = collections.namedtuple("MrcKind", ["title", "context", "questions"])
MRC_KINDS = collections.OrderedDict(
    (name, MrcKind(title=kind["title"], context=kind["context"],
                   questions=[tuple(q) for q in kind["questions"]]))
    for name, kind in WORDS["mrc_kinds"].items())
MRC_BANKS = {
    **WORDS["mrc_words"],
    "name": PERSON_NAMES,
    "winner": PERSON_NAMES,
    "founder": PERSON_NAMES,
    "city": CITIES,
    "birth_year": with_unit(range(1955, 1991), "年"),
    "join_year": with_unit(range(1995, 2013), "年"),
    "award_year": with_unit(range(2013, 2024), "年"),
    "career": CAREERS,
    "work": WORKS,
    "hobby": HOBBIES,
    "company": COMPANIES,
    "found_year": with_unit(range(1998, 2013), "年"),
    "release_year": with_unit(range(2015, 2021), "年"),
    "count_year": with_unit(range(2021, 2024), "年"),
    "category": DEVICE_CATEGORIES,
    "product": PRODUCTS,
    "price": with_unit([999, 1299, 1599, 1999, 2499, 2999, 3499, 3999, 4999,
                        5999], "元"),
    "screen": with_unit(["5.8", "6.1", "6.4", "6.7", "10.9", "13.3"], "英寸"),
    "battery": with_unit([3800, 4000, 4500, 5000, 5500, 8000], "毫安时"),
    "weight": with_unit([168, 175, 182, 189, 195, 203, 210, 226], "克"),
    "staff": with_unit([800, 1200, 1500, 2300, 3600, 4800, 6500], "人"),
    "town": [prefix + suffix for prefix in TOWN_PREFIXES
             for suffix in ("镇", "县", "市")],
    "area": with_unit([320, 560, 780, 1150, 1600, 2300], "平方公里"),
    "population": [Phrase("%d万人" % number, ["%d万" % number])
                   for number in (12, 18, 25, 36, 48, 65)],
    "sight": [prefix + suffix for prefix in SIGHT_PREFIXES
              for suffix in ("山", "湖", "古镇", "瀑布", "峡谷")],
    "festival_month": with_unit(range(1, 13), "月"),
    "race_year": with_unit(range(2015, 2024), "年"),
    "race_date": ["%d月%d日" % (month, day)
                  for month, day in ((3, 19), (4, 9), (10, 15), (10, 29),
                                     (11, 5), (11, 26), (12, 3))],
    "runners": with_unit([8000, 10000, 12000, 15000, 18000, 20000], "名"),
    "men_time": ["2小时%02d分%02d秒" % (minutes, seconds)
                 for minutes, seconds in ((8, 31), (9, 5), (10, 47), (11, 12),
                                          (12, 58), (14, 20))],
    "women_time": ["2小时%02d分%02d秒" % (minutes, seconds)
                   for minutes, seconds in ((24, 16), (26, 3), (27, 49),
                                            (29, 35), (31, 8), (33, 41))],
    "next_runners": as_text([25000, 32000, 35000, 40000]),
}


# ---------------------------------------------------------------------------
# Template filling.

def template_fields(template):
    """Returns the field names of `template` ("city", "career[org]", ...)."""
    return [field for _, field, _, _ in _FORMATTER.parse(template)
            if field is not None]


def field_root(field):
    """Returns the slot a field reads: "career[org]" -> "career"."""
    return field.split("[", 1)[0]


def bank_name(slot, banks):
    """Returns the bank a slot draws from.

    A slot uses the bank of its own name if there is one; otherwise trailing
    digits are dropped ("city2" -> "city"), and then everything up to the
    last underscore ("home_city" -> "city").

    Raises:
        KeyError: If no bank matches.
    """
    candidates = (slot, slot.rstrip(string.digits), slot.split("_")[-1])
    for candidate in candidates:
        if candidate in banks:
            return candidate
    raise KeyError("Template slot {%s} has no word bank (tried %s)." %
                   (slot, ", ".join(sorted(set(candidates)))))


def check_templates(templates, banks):
    """Raises KeyError naming the first template slot without a bank."""
    for template in templates:
        for field in template_fields(template):
            bank_name(field_root(field), banks)


class SlotFiller(object):
    """Chooses slot values for one document or paragraph.

    Every slot keeps its value once chosen; slots that draw from the same bank
    get different values.
    """

    def __init__(self, rng, banks):
        """Creates an empty filler.

        Args:
            rng: The `random.Random` to draw with.
            banks: Dict bank name -> list of values (strings or dicts).
        """
        self._rng = rng
        self._banks = banks
        self.values = {}
        self._used = collections.defaultdict(list)

    def value(self, slot):
        """Returns the value of `slot`, choosing it on first use."""
        if slot not in self.values:
            bank = bank_name(slot, self._banks)
            unused = [value for value in self._banks[bank]
                      if value not in self._used[bank]]
            if not unused:
                raise ValueError("Word bank %r has too few values for the "
                                 "slots of one template set." % bank)
            choice = self._rng.choice(unused)
            self._used[bank].append(choice)
            self.values[slot] = choice
        return self.values[slot]

    def resolve(self, field):
        """Returns the text of a field such as "city" or "career[org]"."""
        self.value(field_root(field))
        return _FORMATTER.get_field(field, (), self.values)[0]

    def fill(self, template):
        """Returns `template` with every field replaced by its value."""
        text, _ = self.fill_with_offsets(template)
        return text

    def fill_with_offsets(self, template):
        """Fills `template` and records where each field first appears.

        Returns:
            (text, offsets): the filled text and a dict field -> character
            offset of the field's first occurrence in the text.
        """
        pieces = []
        offsets = {}
        length = 0
        for literal, field, _, _ in _FORMATTER.parse(template):
            pieces.append(literal)
            length += len(literal)
            if field is None:
                continue
            value = self.resolve(field)
            offsets.setdefault(field, length)
            pieces.append(value)
            length += len(value)
        return "".join(pieces), offsets


def draw_unique(rng, make_item, key, count, seen, what):
    """Calls `make_item(rng)` until `count` items with new keys are found.

    Args:
        rng: The `random.Random` passed to `make_item`.
        make_item: Function rng -> item.
        key: Function item -> hashable identity (e.g. the text).
        count: How many items to return.
        seen: Set of keys already taken; updated in place.
        what: Description used in the error message.

    Returns:
        A list of `count` items.

    Raises:
        ValueError: If the templates cannot produce enough distinct items.
    """
    items = []
    attempts = 0
    while len(items) < count:
        attempts += 1
        if attempts > MAX_DRAWS_PER_ITEM * count:
            raise ValueError("Could only generate %d distinct %s of %d "
                             "requested: add templates or word-bank values." %
                             (len(items), what, count))
        item = make_item(rng)
        if key(item) not in seen:
            seen.add(key(item))
            items.append(item)
    return items


# ---------------------------------------------------------------------------
# The three data sets.

def make_document(rng, templates):
    """Returns a document: 3-8 filled templates of one topic, in order."""
    count = rng.randint(MIN_SENTENCES, min(MAX_SENTENCES, len(templates)))
    chosen = sorted(rng.sample(range(len(templates)), count))
    filler = SlotFiller(rng, CORPUS_BANKS)
    return [filler.fill(templates[index]) for index in chosen]


def make_corpus(rng, num_documents):
    """Returns `num_documents` documents (lists of sentences), topics mixed.

    Topics take turns so that each gets the same share, then the documents
    are shuffled.
    """
    topics = list(CORPUS_TOPICS.values())
    documents = [make_document(rng, topics[index % len(topics)])
                 for index in range(num_documents)]
    rng.shuffle(documents)
    return documents


def aspect_clauses(rng, domain, label, count, exclude=()):
    """Returns (clauses, aspect names) praising (1) or criticising (0)."""
    aspects = rng.sample([aspect for aspect in domain.aspects
                          if aspect.name not in exclude], count)
    clauses = [aspect.name + rng.choice(aspect.positive if label
                                        else aspect.negative)
               for aspect in aspects]
    return clauses, [aspect.name for aspect in aspects]


def closing(rng, domain, label):
    """Returns a closing remark of the given polarity."""
    return rng.choice(domain.positive_closings if label
                      else domain.negative_closings)


def plain_review(rng, domain, label):
    """Returns a review whose every clause has the polarity `label`."""
    clauses, _ = aspect_clauses(rng, domain, label, rng.randint(1, 3))
    subject = rng.choice(domain.subjects)
    ending = closing(rng, domain, label)
    return "%s的%s，%s" % (subject, "，".join(clauses), ending)


def turning_review(rng, domain, label):
    """Returns a review that opens with the opposite polarity and turns.

    For example "虽然这家酒店的房间又小又暗，但是前台服务热情周到。" is
    positive: the clause after the turning word decides the label.
    """
    opening, names = aspect_clauses(rng, domain, 1 - label,
                                    rng.randint(1, 2))
    final, _ = aspect_clauses(rng, domain, label, 1, exclude=names)
    subject = rng.choice(domain.subjects)
    concession = rng.choice(["虽然", ""])
    turn = rng.choice(TURNS[label])
    text = "%s%s的%s，%s%s" % (concession, subject, "，".join(opening), turn,
                             final[0])
    if rng.random() < 0.5:
        text += "，" + closing(rng, domain, label)
    return text


def make_review(rng, label):
    """Returns the text of one review with the given label (1 = positive)."""
    domain = rng.choice(list(REVIEW_DOMAINS.values()))
    if rng.random() < MIXED_REVIEW_RATE:
        text = turning_review(rng, domain, label)
    else:
        text = plain_review(rng, domain, label)
    return text + rng.choice(["。", "。", "！"])


def make_sentiment(rng):
    """Returns {"train": rows, "dev": rows}, rows being (label, text).

    Both splits are balanced, and no text occurs twice in either or both.
    """
    seen = set()
    splits = {split: [] for split in REVIEWS_PER_LABEL}
    for label in (0, 1):
        total = sum(REVIEWS_PER_LABEL.values())
        texts = draw_unique(rng, functools.partial(make_review, label=label),
                            lambda text: text, total, seen,
                            "reviews with label %d" % label)
        start = 0
        for split in sorted(REVIEWS_PER_LABEL):
            end = start + REVIEWS_PER_LABEL[split]
            splits[split].extend((label, text) for text in texts[start:end])
            start = end
    for split in sorted(splits):
        rng.shuffle(splits[split])
    return splits


def reference_answers(rng, text, start, count):
    """Returns `count` reference answers for the span `text` at `start`.

    The first is the span itself; the others are drawn from the span and the
    shorter variants its `Phrase` allows (annotators often agree exactly).
    """
    choices = [{"text": str(text), "answer_start": start}]
    for variant in getattr(text, "variants", ()):
        choices.append({"text": variant,
                        "answer_start": start + text.index(variant)})
    return [choices[0]] + [dict(rng.choice(choices))
                           for _ in range(count - 1)]


def make_paragraph(rng, kind, num_references):
    """Returns (title, context, [(question, answers)]) for one paragraph.

    Args:
        rng: The `random.Random` to draw with.
        kind: The `MrcKind` to fill.
        num_references: Function rng -> number of reference answers.
    """
    filler = SlotFiller(rng, MRC_BANKS)
    context, offsets = filler.fill_with_offsets(kind.context)
    chosen = sorted(rng.sample(range(len(kind.questions)),
                               QUESTIONS_PER_PARAGRAPH))
    questions = []
    for index in chosen:
        question, field = kind.questions[index]
        answer = filler.resolve(field)
        answers = reference_answers(rng, answer, offsets[field],
                                    num_references(rng))
        questions.append((filler.fill(question), answers))
    return filler.fill(kind.title), context, questions


def mrc_dataset(paragraphs, prefix):
    """Wraps paragraphs in the CMRC 2018 JSON structure."""
    data = []
    for index, (title, context, questions) in enumerate(paragraphs):
        paragraph_id = "%s_%d" % (prefix, index)
        qas = [{"question": question,
                "id": "%s_QUERY_%d" % (paragraph_id, number),
                "answers": answers}
               for number, (question, answers) in enumerate(questions)]
        data.append({"paragraphs": [{"id": paragraph_id, "context": context,
                                     "qas": qas}],
                     "id": paragraph_id, "title": title})
    return {"version": "demo-v1.0", "data": data}


def make_mrc(rng):
    """Returns {"train": dataset, "dev": dataset} in CMRC 2018 format.

    Paragraph kinds take turns; no context occurs in both splits. Training
    questions have one answer, dev questions one to three.
    """
    kinds = list(MRC_KINDS.values())
    references = {"train": lambda r: 1,
                  "dev": lambda r: r.randint(1, MAX_DEV_REFERENCES)}
    seen = set()
    datasets = {}
    for split in ("train", "dev"):
        paragraphs = []
        for index in range(MRC_PARAGRAPHS[split]):
            make_item = functools.partial(
                make_paragraph, kind=kinds[index % len(kinds)],
                num_references=references[split])
            paragraphs.extend(draw_unique(
                rng, make_item, lambda paragraph: paragraph[1], 1, seen,
                "%s paragraphs" % split))
        datasets[split] = mrc_dataset(paragraphs, "DEMO_%s" % split.upper())
    return datasets


# ---------------------------------------------------------------------------
# Vocabulary.

def mrc_texts(dataset):
    """Yields every title, context, question and answer of a dataset."""
    for article in dataset["data"]:
        yield article["title"]
        for paragraph in article["paragraphs"]:
            yield paragraph["context"]
            for qa in paragraph["qas"]:
                yield qa["question"]
                for answer in qa["answers"]:
                    yield answer["text"]


def build_vocab(texts):
    """Returns a WordPiece vocabulary (list of tokens) covering `texts`.

    Order: the special tokens ([PAD] = 0, [UNK], [CLS], [SEP], [MASK]); every
    character of the lower-cased texts plus a-z and 0-9, by code point;
    "##"-pieces of a-z and 0-9, so that any lower-cased Latin word or number
    can be spelled; then each multi-character word (Latin words, numbers)
    found in the texts.
    """
    basic_tokenizer = tokenization.BasicTokenizer(do_lower_case=True)
    characters = set(SPELLING_CHARACTERS)
    words = set()
    for text in texts:
        for token in basic_tokenizer.tokenize(text):
            characters.update(token)
            if len(token) > 1:
                words.add(token)
    pieces = ["##" + char for char in SPELLING_CHARACTERS]
    return list(SPECIAL_TOKENS) + sorted(characters) + pieces + sorted(words)


# ---------------------------------------------------------------------------
# Named entities: sentences with people (PER), places (LOC) and companies
# (ORG) from the shared banks, one character and its BIO tag per line.

NER_SENTENCES = {"train": 300, "dev": 60}
NER_TEMPLATES = tuple(WORDS["ner_templates"])
NER_BANKS = {"PER": PERSON_NAMES, "LOC": CITIES, "ORG": COMPANIES}
NER_SLOT = re.compile(r"\{(PER|LOC|ORG)\}")


def tagged_sentence(rng, template, banks):
    """Fills a template from `banks`; returns [(character, BIO tag)]."""
    pairs, position = [], 0
    for match in NER_SLOT.finditer(template):
        pairs.extend((c, "O") for c in template[position:match.start()])
        kind = match.group(1)
        entity = rng.choice(banks[kind])
        pairs.extend((c, ("B-" if i == 0 else "I-") + kind)
                     for i, c in enumerate(entity))
        position = match.end()
    pairs.extend((c, "O") for c in template[position:])
    return pairs


def make_ner(rng, vocab):
    """{"train", "dev"}: lists of tagged sentences, no sentence in both.

    Only entities whose characters are all in `vocab` are drawn, so the
    NER files add nothing to the vocabulary of the other demo data.
    """
    known = set(vocab)
    banks = {kind: [e for e in bank if set(e) <= known]
             for kind, bank in NER_BANKS.items()}
    seen = set()
    splits = {}
    for split in ("train", "dev"):
        splits[split] = draw_unique(
            rng, lambda r: tagged_sentence(r, r.choice(NER_TEMPLATES),
                                           banks),
            lambda pairs: "".join(c for c, _ in pairs),
            NER_SENTENCES[split], seen, "NER sentence")
    return splits


def check_ner_characters(ner, vocab):
    """Raises ValueError for a NER character the vocabulary lacks (the NER
    files reuse the other data's characters, so the vocabulary and the
    demo configs stay as they are)."""
    known = set(vocab)
    missing = sorted(set(c for split in ner.values() for pairs in split
                         for c, _ in pairs) - known)
    if missing:
        raise ValueError("NER templates use characters outside the demo "
                         "vocabulary: %s" % "".join(missing))


# ---------------------------------------------------------------------------
# Writing.

def corpus_text(documents):
    """Formats documents: one sentence per line, blank line between them."""
    return "\n\n".join("\n".join(document) for document in documents) + "\n"


def sentiment_text(rows):
    """Formats (label, text) rows as a ChnSentiCorp TSV with header."""
    lines = ["label\ttext_a"]
    lines.extend("%d\t%s" % (label, text) for label, text in rows)
    return "\n".join(lines) + "\n"


def ner_text(sentences):
    """Formats tagged sentences: `char tag` lines, blank line between."""
    return "".join("".join("%s %s\n" % pair for pair in pairs) + "\n"
                   for pairs in sentences)


def json_text(dataset):
    """Formats a dataset as indented UTF-8 JSON."""
    return json.dumps(dataset, ensure_ascii=False, indent=1) + "\n"


# The README of the generated files: a header, then one row per file, with
# the counts filled in (demo_word_banks.json).
README_HEADER = WORDS["readme_header"]
README_ROWS = [tuple(row) for row in WORDS["readme_rows"]]


def count_questions(dataset):
    """Returns the number of questions of a CMRC 2018 style dataset."""
    return sum(len(paragraph["qas"]) for article in dataset["data"]
               for paragraph in article["paragraphs"])


def readme_text(documents, sentiment, mrc, ner, vocab_size, seed):
    """Returns the README describing the generated files."""
    template = README_HEADER + "".join(
        "| %s | %s |\n" % row for row in README_ROWS)
    return template.format(
        seed=seed,
        documents=len(documents),
        sentences=sum(len(document) for document in documents),
        train_reviews=len(sentiment["train"]),
        dev_reviews=len(sentiment["dev"]),
        train_questions=count_questions(mrc["train"]),
        dev_questions=count_questions(mrc["dev"]),
        train_paragraphs=len(mrc["train"]["data"]),
        dev_paragraphs=len(mrc["dev"]["data"]),
        train_ner=len(ner["train"]),
        dev_ner=len(ner["dev"]),
        vocab_size=vocab_size)


def write_text(path, text):
    """Writes `text` to `path` as UTF-8 with "\\n" line ends."""
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "wb") as writer:
        writer.write(text.encode("utf-8"))


def generate_files(seed):
    """Generates every demo file.

    Args:
        seed: Random seed; each data set draws from its own stream.

    Returns:
        An ordered dict relative path -> file content (str).
    """
    check_templates([template for templates in CORPUS_TOPICS.values()
                     for template in templates], CORPUS_BANKS)
    check_templates([template for kind in MRC_KINDS.values()
                     for template in [kind.title, kind.context] +
                     [question for question, _ in kind.questions]],
                    MRC_BANKS)
    documents = make_corpus(random.Random("%d-corpus" % seed), NUM_DOCUMENTS)
    sentiment = make_sentiment(random.Random("%d-sentiment" % seed))
    mrc = make_mrc(random.Random("%d-mrc" % seed))

    texts = [sentence for document in documents for sentence in document]
    for split in ("train", "dev"):
        texts.extend(text for _, text in sentiment[split])
        texts.extend(mrc_texts(mrc[split]))

    files = collections.OrderedDict()
    files["corpus.txt"] = corpus_text(documents)
    for split in ("train", "dev"):
        files["sentiment/%s.tsv" % split] = sentiment_text(sentiment[split])
    for split in ("train", "dev"):
        files["mrc/%s.json" % split] = json_text(mrc[split])
    vocab = build_vocab(texts)
    ner = make_ner(random.Random("%d-ner" % seed), vocab)
    check_ner_characters(ner, vocab)
    for split in ("train", "dev"):
        files["ner/%s.txt" % split] = ner_text(ner[split])
    files["vocab.txt"] = "\n".join(vocab) + "\n"
    files["README.md"] = readme_text(documents, sentiment, mrc, ner,
                                     len(vocab), seed)
    return files


def write_demo_data(output_dir, seed=DEFAULT_SEED):
    """Generates the demo files and writes them under `output_dir`.

    Returns:
        The ordered dict relative path -> content that was written.
    """
    files = generate_files(seed)
    for relative_path, text in files.items():
        write_text(os.path.join(output_dir, relative_path), text)
    return files


def main(argv):
    """Writes the demo files and logs their sizes."""
    del argv  # Unused.
    files = write_demo_data(FLAGS.output_dir, FLAGS.random_seed)
    total_bytes = 0
    for relative_path, text in files.items():
        size = len(text.encode("utf-8"))
        total_bytes += size
        logging.info("Wrote %s (%d lines, %d bytes).",
                     os.path.join(FLAGS.output_dir, relative_path),
                     text.count("\n"), size)
    logging.info("Vocabulary size: %d. All files: %d bytes.",
                 files["vocab.txt"].count("\n"), total_bytes)


def define_flags():
    """Defines the command-line flags."""
    flags.DEFINE_string("output_dir", DEFAULT_OUTPUT_DIR,
                        "Directory to write the demo data into.")
    flags.DEFINE_integer("random_seed", DEFAULT_SEED,
                         "Seed of the generator; the committed files use the "
                         "default.")


FLAGS = flags.FLAGS

if __name__ == "__main__":
    define_flags()
    app.run(main)
