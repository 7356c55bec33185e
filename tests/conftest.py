"""Shared pytest setup: import paths and the location of ../shared."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, os.pardir, "shared")
for sub in ("pretrain", "finetune", "scripts"):
    path = os.path.join(REPO, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
