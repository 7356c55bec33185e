# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The model card (README.md) of a converted Hugging Face model folder.

convert_to_pytorch.py writes one into every folder it converts: what the
model is (architecture and every config value), how its tokenizer is set
up, where its weights came from (source checkpoint and training step) and
how the conversion was checked, under the Apache-2.0 licence.
`verify_pytorch.py outputs` fills in the differences it measured
(with_parity). Plain Python: the PyTorch environment imports it too.
"""

import os
import re

CARD_FILE = "README.md"
CHECKS_HEADING = "## Checks"
LICENSE = "apache-2.0"
PIPELINE_TAGS = {
    "ForSequenceClassification": "text-classification",
    "ForTokenClassification": "token-classification",
    "ForQuestionAnswering": "question-answering",
    "ForMaskedLM": "fill-mask",
}


def checkpoint_step(checkpoint):
    """The training step in a checkpoint prefix (`model.ckpt-1200`), or
    None."""
    match = re.search(r"-(\d+)$", checkpoint or "")
    return int(match.group(1)) if match else None


def pipeline_tag(architecture):
    """The Hub pipeline tag of an architecture, or None."""
    for suffix, tag in PIPELINE_TAGS.items():
        if architecture.endswith(suffix):
            return tag
    return None


def front_matter(architecture):
    """The card's YAML header (language, licence, tags)."""
    lines = ["---", "language: zh", "license: %s" % LICENSE, "tags:",
             "- mobilebert" if "MobileBert" in architecture else "- bert"]
    tag = pipeline_tag(architecture)
    if tag:
        lines.append("pipeline_tag: %s" % tag)
    return lines + ["---", ""]


def config_table(config):
    """A markdown table of every config value but the label maps."""
    lines = ["| field | value |", "|---|---|"]
    for key, value in config.items():
        if key in ("id2label", "label2id"):
            continue
        lines.append("| `%s` | `%s` |" % (key, value))
    return lines


def label_lines(config):
    """The labels of a classification head, in id order."""
    id2label = config.get("id2label")
    if not id2label:
        return []
    labels = [id2label[k] for k in sorted(id2label, key=int)]
    return ["", "Labels (`id2label`, in id order): %s." %
            ", ".join("`%s`" % label for label in labels)]


def check_lines(parity, reference_npz):
    """How the converted weights were checked."""
    if parity:
        lines = ["This model's outputs were compared with the TensorFlow "
                 "model's on the fixed inputs in `%s` (largest absolute "
                 "difference per output):" % reference_npz, "",
                 "| output | max abs difference |", "|---|---|"]
        lines += ["| `%s` | %.3g |" % (name, value)
                  for name, value in sorted(parity.items())]
        return lines
    lines = ["The converter did not compare outputs itself."]
    if reference_npz:
        lines.append(
            "It saved the TensorFlow model's outputs on fixed inputs in "
            "`%s`; `python scripts/verify_pytorch.py outputs` compares this "
            "folder against them (every hidden state and the head logits; "
            "the project's tests require 1e-4)." % reference_npz)
    else:
        lines.append(
            "Convert with `--reference_npz` and run `python "
            "scripts/verify_pytorch.py outputs` to compare every hidden "
            "state and the head logits with the TensorFlow model.")
    return [" ".join(lines)]


def card_text(config, tokenizer_settings, source_checkpoint,
              source_config, parity=None, reference_npz=None):
    """The card's markdown.

    Args:
      config: the config.json contents written.
      tokenizer_settings: the tokenizer_config.json contents written.
      source_checkpoint: the TensorFlow checkpoint prefix converted.
      source_config: the config file it was read with.
      parity: {output: max abs difference} when measured, or None.
      reference_npz: the TensorFlow reference outputs file, or None.
    """
    architecture = config["architectures"][0]
    step = checkpoint_step(source_checkpoint)
    lines = front_matter(architecture)
    lines += [
        "# %s (Chinese)" % architecture, "",
        "A Chinese %s converted from a TensorFlow checkpoint of the Chinese "
        "MobileBERT project to the Hugging Face transformers format. Load it "
        "with `AutoModel.from_pretrained`, `AutoTokenizer.from_pretrained` "
        "or `%s.from_pretrained`." % (
            "MobileBERT" if config["model_type"] == "mobilebert" else "BERT",
            architecture), "",
        "## Architecture", "",
        "`%s` (model type `%s`): %d layers, hidden size %d, %d attention "
        "heads, intermediate size %d, vocabulary of %d tokens, up to %d "
        "positions." % (architecture, config["model_type"],
                        config["num_hidden_layers"], config["hidden_size"],
                        config["num_attention_heads"],
                        config["intermediate_size"], config["vocab_size"],
                        config["max_position_embeddings"]), "",
    ]
    lines += config_table(config)
    lines += label_lines(config)
    lines += ["", "## Tokenizer", "",
              "`%s` with `vocab.txt` (%s): %s." % (
                  tokenizer_settings.get("tokenizer_class"),
                  "lower-cased" if tokenizer_settings.get("do_lower_case")
                  else "cased",
                  ", ".join("`%s=%s`" % (k, v)
                            for k, v in tokenizer_settings.items()
                            if k != "tokenizer_class")),
              "Every CJK character is its own token, as in Chinese BERT.",
              "", "## Weights", "",
              "Converted from the TensorFlow checkpoint `%s`%s, read with "
              "the config `%s`; float32, in `model.safetensors`." % (
                  source_checkpoint,
                  " (training step %d)" % step if step is not None else
                  " (training step not recorded in its name)",
                  os.path.basename(source_config)),
              "", CHECKS_HEADING, ""]
    lines += check_lines(parity, reference_npz)
    lines += ["", "## Licence", "",
              "Apache License 2.0, like the code that produced it. Check "
              "the terms of the data the model was trained on before "
              "redistributing it.", ""]
    return "\n".join(lines)


def with_parity(card, parity, reference_npz):
    """The card with its Checks section stating measured differences.

    Args:
      card: the card's text (card_text).
      parity: {output: max abs difference}.
      reference_npz: the reference file they were measured against.

    Raises:
      ValueError: the text has no Checks section.
    """
    start = card.find("\n" + CHECKS_HEADING + "\n")
    if start < 0:
        raise ValueError("the model card has no %r section" %
                         CHECKS_HEADING)
    end = card.find("\n## ", start + 1)
    end = len(card) if end < 0 else end
    section = "\n".join(["", CHECKS_HEADING, ""] +
                        check_lines(parity, reference_npz) + [""])
    return card[:start] + section + card[end:]
