"""Random tiny transformers models for tests/test_convert_from_pytorch.py.

Runs in the PyTorch environment (.venv-tf2):

    .venv-tf2/bin/python tests/hf_models.py SPEC.json

SPEC.json: {"root": folder, "vocab": vocab.txt, "texts": texts.json,
"seq_length": S, "models": [{"name", "class", "config", "seed",
"formats": ["safetensors", "bin", "float16"]}]}. For every model it writes
ROOT/NAME/FORMAT/ (save_pretrained + vocab.txt; "float16" is the
safetensors format of the model cast to float16) and ROOT/NAME.npz, the
inputs (the texts, tokenized by the folder's tokenizer) and transformers'
outputs, as `scripts/verify_pytorch.py hf_outputs` writes them. Also
ROOT/defaults.json (transformers' config defaults) and ROOT/bf16.* (one
bfloat16 tensor in a safetensors file and its float32 values).
"""
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
os.environ.setdefault("USE_TF", "0")
import transformers  # pylint: disable=wrong-import-position
from safetensors.torch import save_file  # pylint: disable=C0413

from scripts import verify_pytorch  # pylint: disable=wrong-import-position


def randomize(model, seed):
    """Every parameter random, norms around 1, so a swap or transpose shows.

    Tied parameters stay tied (named_parameters lists each once).
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if name.endswith("LayerNorm.weight"):
                param.copy_(1.0 + 0.2 * noise)
            else:
                param.copy_(0.1 * noise)


def save(model, directory, fmt, vocab):
    """save_pretrained in one weight format, plus the vocabulary."""
    if fmt == "float16":
        model = model.to(torch.float16)
    model.save_pretrained(directory, safe_serialization=fmt != "bin")
    shutil.copy(vocab, os.path.join(directory, "vocab.txt"))


def build(spec, common, texts):
    """Saves one model in every format and its reference outputs."""
    cls = getattr(transformers, spec["class"])
    config = transformers.AutoConfig.for_model(**spec["config"])
    model = cls(config).eval()
    randomize(model, spec["seed"])
    folder = os.path.join(common["root"], spec["name"])
    for fmt in spec["formats"]:
        save(model, os.path.join(folder, fmt), fmt, common["vocab"])
    # The float32 safetensors folder is the reference (float16 comes last).
    reference_dir = os.path.join(folder, spec["formats"][0])
    tokenizer = transformers.AutoTokenizer.from_pretrained(reference_dir)
    inputs = verify_pytorch.text_inputs(tokenizer, texts,
                                        common["seq_length"])
    arrays = verify_pytorch.hf_reference(
        reference_dir, inputs, verify_pytorch.architecture_heads(
            reference_dir))
    np.savez(os.path.join(common["root"], spec["name"] + ".npz"), **arrays)


def write_defaults(root):
    """transformers' default values of the fields we map."""
    defaults = {}
    for kind, cls in (("bert", transformers.BertConfig),
                      ("mobilebert", transformers.MobileBertConfig)):
        defaults[kind] = cls().to_dict()
    with open(os.path.join(root, "defaults.json"), "w") as f:
        json.dump(defaults, f)


def write_bf16(root):
    """A bfloat16 tensor in a safetensors file, and its float32 values.

    A float32 tensor comes first in the file (wider dtypes first), so the
    bfloat16 one starts at a data offset other than 0.
    """
    value = torch.randn([3, 5], generator=torch.Generator().manual_seed(7))
    value = value.to(torch.bfloat16)
    save_file({"x": value, "y": torch.ones([3])},
              os.path.join(root, "bf16.safetensors"))
    np.save(os.path.join(root, "bf16.npy"), value.float().numpy())


def main(argv):
    with open(argv[1]) as f:
        common = json.load(f)
    with open(common["texts"], encoding="utf-8") as f:
        texts = json.load(f)
    transformers.logging.set_verbosity_error()
    for spec in common["models"]:
        build(spec, common, texts)
    write_defaults(common["root"])
    write_bf16(common["root"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
