# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Converts any serving SavedModel (a fine-tuned model, an encoder) to ONNX.

Writes OUTPUT_DIR/model.onnx (float32, same inputs and outputs as the
SavedModel's serving signature, checked against it to 1e-4 on random
token ids or on --calibration_npz) and, with --int8, model_int8.onnx
(ONNX Runtime int8: dynamic by default; static QDQ calibrated on
--calibration_npz). Prints the written paths as one JSON line.

Usage:
  python scripts/export_onnx.py --saved_model_dir EXPORT/frozen/TIMESTAMP \\
      --output_dir /tmp/onnx --int8
Under TF 1.15 the conversion runs in the modern stack's environment
(.venv-tf2, or --converter_python) on the same SavedModel.
"""

import argparse
import json
import os
import sys

if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
import tensorflow.compat.v1 as tf

from finetune import onnx_export
from finetune import tflite_util
from pretrain import file_io


def parse_args(argv):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saved_model_dir", required=True,
                        help="serving SavedModel (signature "
                        "serving_default), e.g. an export's frozen copy")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--int8", action="store_true",
                        help="also write model_int8.onnx")
    parser.add_argument("--int8_method", default=onnx_export.
                        DEFAULT_INT8_METHOD, choices=onnx_export.INT8_METHODS)
    parser.add_argument("--calibration_npz",
                        help="{input name: int array [N, S]}: calibrates "
                        "static int8 and is the float check's input")
    parser.add_argument("--converter_python",
                        help="under TF 1.15, the modern stack's interpreter "
                        "(default .venv-tf2/bin/python)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    tf.logging.set_verbosity(tf.logging.INFO)
    if not tf.io.gfile.exists(os.path.join(args.saved_model_dir,
                                           "saved_model.pb")):
        raise ValueError("--saved_model_dir: %s holds no saved_model.pb" %
                         args.saved_model_dir)
    if args.int8 and args.int8_method == "static" and not args.calibration_npz:
        raise ValueError("--int8_method=static needs --calibration_npz "
                         "(examples that calibrate the activation ranges)")
    features = None
    if args.calibration_npz:
        file_io.read_bytes(args.calibration_npz, "calibration_npz",
                           ".npz file")
        features = tflite_util.rows_of(args.calibration_npz)
    paths = onnx_export.export_onnx(
        args.saved_model_dir, args.output_dir, int8=args.int8,
        calibration_features=features, method=args.int8_method,
        python=args.converter_python)
    print(json.dumps(paths, sort_keys=True))


if __name__ == "__main__":
    file_io.report_errors(main)()
