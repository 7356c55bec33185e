# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Reads a `pytorch_model.bin` state dict into NumPy (needs torch).

This is the one part of convert_from_pytorch.py that needs PyTorch. That
script imports it where torch is importable (the modern stack, .venv-tf2)
and otherwise runs it there as

    .venv-tf2/bin/python scripts/pytorch_bin.py IN.bin OUT.safetensors

which rewrites the weights as a safetensors file that the TensorFlow side
reads without torch. bfloat16 tensors become float32 (exactly; NumPy has no
bfloat16); everything else keeps its dtype. It imports no TensorFlow.
"""

import collections
import sys

import numpy as np
from safetensors.numpy import save_file
import torch


def load_state_dict(path):
    """The tensors of a `torch.save`d state dict as NumPy arrays.

    Args:
      path: a pytorch_model.bin (or one shard of it).

    Returns:
      OrderedDict {name: numpy array}, in the file's order.

    Raises:
      ValueError: naming the file, when it holds something else than a
        dict of tensors (weights_only loading refuses pickled code).
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError("%s: holds a %s, not a state dict" %
                         (path, type(state).__name__))
    arrays = collections.OrderedDict()
    for name, value in state.items():
        if not torch.is_tensor(value):
            raise ValueError("%s: %s is a %s, not a tensor" %
                             (path, name, type(value).__name__))
        if value.dtype == torch.bfloat16:
            value = value.float()
        arrays[name] = np.ascontiguousarray(value.detach().cpu().numpy())
    return arrays


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: pytorch_bin.py IN.bin OUT.safetensors")
    save_file(load_state_dict(argv[1]), argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
