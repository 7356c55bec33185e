# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Checks converted models with PyTorch + transformers (run in .venv-tf2).

This script runs in the modern stack's environment, built by
`STACK=tf2 bash scripts/setup_env.sh` (Python 3.11, TensorFlow 2.15, torch,
transformers); it imports no TensorFlow itself. Four commands:

  outputs   load converted folders with transformers and compare every hidden
            state, the pooled output, the MLM logits and any head logits
            with the TF reference written by
            `convert_to_pytorch.py --reference_npz`:
              .venv-tf2/bin/python scripts/verify_pytorch.py outputs \\
                  --model_dir OUT --reference OUT.npz [--atol 1e-4]
            Exit status 1 when a difference exceeds --atol or a class
            reports missing weights; a folder that passes gets the
            measured differences in its model card (README.md).
  hf_outputs
            the other direction: transformers' outputs of a model folder
            on real text, tokenized by the folder's tokenizer, saved with
            the inputs for `convert_from_pytorch.py --compare_npz`:
              .venv-tf2/bin/python scripts/verify_pytorch.py hf_outputs \
                  --model_dir HF --texts texts.json --output HF.npz
            (texts.json: a list of texts or of [text, text] pairs).
  tokenize  token ids of the converted tokenizer (AutoTokenizer, which is the
            fast one, and the pure-Python BertTokenizer) for a JSON list of
            texts, written as JSON.
  shapes    instantiate the transformers classes on the meta device (no
            memory, no weights) from planned configs and tensor shapes, and
            report parameters that are missing (beyond each spec's
            "allowed_missing" prefixes), unexpected or mis-shaped.
  time      wall-clock times of the converted AutoModel on the inputs of an
            .npz (input/input_ids, input/input_mask, input/token_type_ids)
            with --threads threads, after one warm-up run; JSON with every
            time in ms and the last hidden state's file (scripts/benchmark.py
            compares it with its own output).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

# The environment also holds TensorFlow: keep transformers on PyTorch alone.
os.environ.setdefault("USE_TF", "0")
import transformers  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from scripts import model_card  # pylint: disable=wrong-import-position

PREFIX = {"bert": "Bert", "mobilebert": "MobileBert"}
# Heads and the output that holds their logits.
HEAD_OUTPUTS = {
    "mlm": "output/mlm_logits",
    "classifier": "output/classifier_logits",
    "squad": "output/squad_start_logits",
    "ner": "output/token_logits",
}
# transformers class suffixes -> the heads they have.
ARCHITECTURE_HEADS = {
    "ForPreTraining": ["mlm"],
    "ForMaskedLM": ["mlm"],
    "ForSequenceClassification": ["classifier"],
    "ForQuestionAnswering": ["squad"],
    "ForTokenClassification": ["ner"],
    "Model": [],
}
MASKED_PER_ROW = 3


def load(cls_name, model_dir):
    """Loads `cls_name` from `model_dir`; returns (model, loading info)."""
    cls = getattr(transformers, cls_name)
    model, info = cls.from_pretrained(model_dir, output_loading_info=True)
    model.eval()
    return model, {
        "missing": sorted(info["missing_keys"]),
        "unexpected": sorted(info["unexpected_keys"]),
        "mismatched": [list(map(str, m)) for m in info["mismatched_keys"]],
    }


def torch_inputs(reference):
    """The reference's int32 inputs as the long tensors transformers takes."""
    return {
        "input_ids": torch.from_numpy(reference["input/input_ids"]).long(),
        "attention_mask": torch.from_numpy(
            reference["input/input_mask"]).long(),
        "token_type_ids": torch.from_numpy(
            reference["input/token_type_ids"]).long(),
    }


def gather_positions(logits, positions):
    """[B, S, V] logits at [B, P] positions -> [B * P, V], as TF gathers."""
    index = torch.from_numpy(positions).long()
    batch = torch.arange(index.shape[0])[:, None]
    return logits[batch, index].reshape(-1, logits.shape[-1])


def reference_heads(reference):
    """The heads whose logits a reference file holds."""
    return [head for head, output in HEAD_OUTPUTS.items()
            if output in reference]


def model_outputs(model_dir, reference, heads):
    """PyTorch outputs named like the reference; plus loading info.

    Args:
      model_dir: transformers folder.
      reference: {"input/...": arrays} (see torch_inputs).
      heads: among "mlm", "classifier", "squad", "ner".
    """
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        prefix = PREFIX[json.load(f)["model_type"]]
    inputs = torch_inputs(reference)
    outputs, loading = {}, {}
    with torch.no_grad():
        model, loading["AutoModel"] = load("AutoModel", model_dir)
        result = model(**inputs, output_hidden_states=True)
        for i, hidden in enumerate(result.hidden_states):
            outputs["output/hidden_states_%d" % i] = hidden
        outputs["output/pooled_output"] = result.pooler_output
        if "mlm" in heads:
            for suffix in ("ForMaskedLM", "ForPreTraining"):
                model, loading[prefix + suffix] = load(prefix + suffix,
                                                       model_dir)
                result = model(**inputs)
                logits = (result.logits if suffix == "ForMaskedLM" else
                          result.prediction_logits)
                outputs["output/mlm_logits" + ("" if suffix == "ForMaskedLM"
                                               else "@ForPreTraining")] = (
                    gather_positions(logits,
                                     reference["input/masked_lm_positions"]))
        if "classifier" in heads:
            model, loading["AutoModelForSequenceClassification"] = load(
                "AutoModelForSequenceClassification", model_dir)
            outputs["output/classifier_logits"] = model(**inputs).logits
        if "squad" in heads:
            model, loading["AutoModelForQuestionAnswering"] = load(
                "AutoModelForQuestionAnswering", model_dir)
            result = model(**inputs)
            outputs["output/squad_start_logits"] = result.start_logits
            outputs["output/squad_end_logits"] = result.end_logits
        if "ner" in heads:
            model, loading["AutoModelForTokenClassification"] = load(
                "AutoModelForTokenClassification", model_dir)
            outputs["output/token_logits"] = model(**inputs).logits
    return {k: v.numpy() for k, v in outputs.items()}, loading


def compare(model_dir, reference_path, atol):
    """Max abs differences against the reference; (report, ok)."""
    reference = dict(np.load(reference_path))
    outputs, loading = model_outputs(model_dir, reference,
                                     reference_heads(reference))
    diffs = {}
    for name, value in outputs.items():
        expected = reference[name.split("@")[0]]
        if value.shape != expected.shape:
            raise ValueError("%s: %s has shape %s, the reference %s" %
                             (model_dir, name, value.shape, expected.shape))
        diffs[name] = float(np.abs(value - expected).max())
    absent = sorted(
        k for k in reference
        if k.startswith("output/") and k not in outputs)
    # ForPreTraining has a next-sentence head the Chinese recipe never
    # trains; it is the one weight allowed to be missing.
    missing = {
        cls: [k for k in info["missing"]
              if not (cls.endswith("ForPreTraining") and
                      k.startswith("cls.seq_relationship."))]
        for cls, info in loading.items()
    }
    ok = (all(d <= atol for d in diffs.values()) and not absent and
          not any(missing.values()))
    return {
        "max_abs_diff": diffs,
        "worst": max(diffs.values()),
        "not_compared": absent,
        "loading": loading,
        "ok": ok,
    }, ok


def command_outputs(args):
    """`outputs`: compares each --model_dir with its --reference."""
    if len(args.model_dir) != len(args.reference):
        sys.exit("outputs: give one --reference per --model_dir")
    report, all_ok = {}, True
    for model_dir, reference in zip(args.model_dir, args.reference):
        report[model_dir], ok = compare(model_dir, reference, args.atol)
        all_ok = all_ok and ok
        print("%s: %s, max abs diff %.3g over %d outputs" %
              (model_dir, "OK" if ok else "FAILED", report[model_dir]["worst"],
               len(report[model_dir]["max_abs_diff"])))
        for name, diff in sorted(report[model_dir]["max_abs_diff"].items()):
            print("    %-40s %.3g" % (name, diff))
        if ok:
            record_parity(model_dir, report[model_dir]["max_abs_diff"],
                          reference)
    write_report(args.report_json, report)
    return 0 if all_ok else 1


def record_parity(model_dir, diffs, reference):
    """Writes the measured differences into the folder's model card."""
    path = os.path.join(model_dir, model_card.CARD_FILE)
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        card = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(model_card.with_parity(card, diffs,
                                       os.path.basename(reference)))


def text_inputs(tokenizer, texts, seq_length, seed=12345):
    """Model inputs for texts (or [text, text] pairs), as reference arrays.

    Each row is padded to `seq_length`; MASKED_PER_ROW positions among its
    real tokens are chosen for the masked-LM logits (the ids stay).
    """
    pairs = [t if isinstance(t, list) else [t, None] for t in texts]
    encoded = tokenizer([a for a, _ in pairs],
                        [b for _, b in pairs] if all(
                            b is not None for _, b in pairs) else None,
                        padding="max_length", truncation=True,
                        max_length=seq_length, return_token_type_ids=True,
                        return_attention_mask=True)
    mask = np.array(encoded["attention_mask"], np.int32)
    rng = np.random.RandomState(seed)
    positions = np.stack([
        rng.choice(int(row.sum()), MASKED_PER_ROW, replace=False)
        for row in mask
    ])
    return {
        "input/input_ids": np.array(encoded["input_ids"], np.int32),
        "input/input_mask": mask,
        "input/token_type_ids": np.array(encoded["token_type_ids"],
                                         np.int32),
        "input/masked_lm_positions": positions.astype(np.int32),
    }


def architecture_heads(model_dir):
    """The heads of a folder's model, from its config.json architectures."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    heads = []
    for architecture in config.get("architectures") or ["Model"]:
        suffix = architecture[len(PREFIX[config["model_type"]]):]
        if suffix not in ARCHITECTURE_HEADS:
            raise ValueError("%s: architecture %s has no known heads" %
                             (model_dir, architecture))
        heads += ARCHITECTURE_HEADS[suffix]
    return heads


def hf_reference(model_dir, inputs, heads):
    """Inputs and transformers' outputs of `model_dir`, as one dict.

    A model saved without a pooler (`...ForMaskedLM`,
    `...ForQuestionAnswering`) has no pooled output to compare: AutoModel
    initialises its pooler at random.
    """
    outputs, loading = model_outputs(model_dir, inputs, heads)
    if loading["AutoModel"]["missing"] and all(
            k.startswith("pooler.") for k in loading["AutoModel"]["missing"]):
        del outputs["output/pooled_output"]
        loading["AutoModel"]["missing"] = []
    for cls, info in loading.items():
        missing = [k for k in info["missing"]
                   if not k.startswith("cls.seq_relationship.")]
        if missing or info["mismatched"]:
            raise ValueError("%s: %s does not load it fully: missing %s, "
                             "mismatched %s" % (model_dir, cls, missing,
                                                info["mismatched"]))
    return dict(inputs, **outputs)


def command_hf_outputs(args):
    """`hf_outputs`: transformers' outputs on texts, with the inputs."""
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model_dir)
    inputs = text_inputs(tokenizer, texts, args.seq_length)
    arrays = hf_reference(args.model_dir, inputs,
                          architecture_heads(args.model_dir))
    np.savez(args.output, **arrays)
    print("%s: %d outputs on %d texts -> %s" %
          (args.model_dir, sum(k.startswith("output/") for k in arrays),
           len(texts), args.output))
    return 0


def command_tokenize(args):
    """`tokenize`: ids from AutoTokenizer and BertTokenizer for --texts."""
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    fast = transformers.AutoTokenizer.from_pretrained(args.model_dir)
    slow = transformers.BertTokenizer.from_pretrained(args.model_dir)
    result = {
        "auto_class": type(fast).__name__,
        "auto": [fast.encode(t, add_special_tokens=False) for t in texts],
        "slow": [slow.encode(t, add_special_tokens=False) for t in texts],
        "slow_vocab_size": len(slow.vocab),
    }
    write_report(args.output, result)
    print("tokenized %d texts with %s and BertTokenizer" %
          (len(texts), result["auto_class"]))
    return 0


def planned_model_report(spec):
    """Meta-device model of `spec["class"]` against the planned tensors."""
    config = transformers.AutoConfig.for_model(**spec["config"])
    with torch.device("meta"):
        model = getattr(transformers, spec["class"])(config)
    params = {k: list(v.shape) for k, v in model.state_dict().items()}
    planned = spec["tensors"]
    # Tied weights (the MLM decoder shares the word embeddings and the
    # bias) are never stored; transformers lists some without the "cls."
    # prefix, so they are matched as suffixes.
    tied = tuple(getattr(model, "_tied_weights_keys", None) or ())
    absent = sorted(k for k in params
                    if k not in planned and not k.endswith(tied))
    allowed = tuple(spec.get("allowed_missing", ()))
    return {
        "missing": [k for k in absent if not k.startswith(allowed)],
        "allowed_missing": [k for k in absent if k.startswith(allowed)],
        "unexpected": sorted(k for k in planned if k not in params),
        "mismatched": sorted("%s: model %s, planned %s" %
                             (k, params[k], planned[k])
                             for k in planned
                             if k in params and params[k] != planned[k]),
        "parameters": int(sum(np.prod(s) for s in planned.values())),
    }


def command_shapes(args):
    """`shapes`: checks planned tensors against meta-device models."""
    with open(args.specs, encoding="utf-8") as f:
        specs = json.load(f)
    report = {s["name"]: planned_model_report(s) for s in specs}
    write_report(args.report_json, report)
    bad = [n for n, r in report.items()
           if r["missing"] or r["unexpected"] or r["mismatched"]]
    print("shapes: %d models, %d with problems %s" %
          (len(report), len(bad), bad))
    return 1 if bad else 0


def command_time(args):
    """Times the converted AutoModel; writes times and output to JSON/npz."""
    torch.set_num_threads(args.threads)
    reference = dict(np.load(args.inputs))
    model, _ = load("AutoModel", args.model_dir)
    inputs = torch_inputs(reference)
    times = []
    with torch.inference_mode():
        output = model(**inputs).last_hidden_state
        for _ in range(args.iterations):
            start = time.time()
            model(**inputs)
            times.append(1000.0 * (time.time() - start))
    np.save(args.output, output.numpy())
    write_report(args.report_json, {
        "times_ms": times, "threads": torch.get_num_threads(),
        "torch": torch.__version__, "transformers": transformers.__version__})
    return 0


def write_report(path, data):
    """Writes `data` as JSON to `path` when a path is given."""
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)


def parse_args(argv):
    """The command line: one of the subcommands and its options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    outputs = sub.add_parser("outputs", help="compare with TF references")
    outputs.add_argument("--model_dir", action="append", required=True)
    outputs.add_argument("--reference", action="append", required=True)
    outputs.add_argument("--atol", type=float, default=1e-4)
    outputs.add_argument("--report_json")
    hf_outputs = sub.add_parser("hf_outputs",
                                help="transformers' outputs on texts")
    hf_outputs.add_argument("--model_dir", required=True)
    hf_outputs.add_argument("--texts", required=True)
    hf_outputs.add_argument("--seq_length", type=int, default=64)
    hf_outputs.add_argument("--output", required=True)
    tokenize = sub.add_parser("tokenize", help="token ids of texts")
    tokenize.add_argument("--model_dir", required=True)
    tokenize.add_argument("--texts", required=True)
    tokenize.add_argument("--output", required=True)
    shapes = sub.add_parser("shapes", help="check planned tensor shapes")
    shapes.add_argument("--specs", required=True)
    shapes.add_argument("--report_json")
    timing = sub.add_parser("time", help="time the converted AutoModel")
    timing.add_argument("--model_dir", required=True)
    timing.add_argument("--inputs", required=True)
    timing.add_argument("--iterations", type=int, default=10)
    timing.add_argument("--threads", type=int, default=os.cpu_count())
    timing.add_argument("--output", required=True,
                        help=".npy file for the last hidden state")
    timing.add_argument("--report_json", required=True)
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    transformers.logging.set_verbosity_error()
    commands = {
        "outputs": command_outputs,
        "hf_outputs": command_hf_outputs,
        "tokenize": command_tokenize,
        "shapes": command_shapes,
        "time": command_time,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
