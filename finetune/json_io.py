# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Reading UTF-8 JSON files, local or remote (gs://...).

Shared by the span-extraction reader (squad_data.py) and the CMRC 2018
metric (cmrc2018_evaluate.py). TensorFlow is imported only for remote paths,
so the metric scores local files without loading it.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import io
import json


def open_text(path):
    """Opens a text file as UTF-8; remote paths (gs://...) go through gfile.

    Args:
        path: a local path or a URL that tf.io.gfile understands.

    Returns:
        A readable text file object.
    """
    if '://' in path:
        # Imported here: TensorFlow is slow to load and local files need none.
        import tensorflow.compat.v1 as tf
        return tf.io.gfile.GFile(path, 'r')
    # utf-8-sig: plain UTF-8, and a leading byte-order mark is tolerated.
    return io.open(path, 'r', encoding='utf-8-sig')


def load_json(path):
    """Reads a UTF-8 JSON file.

    Args:
        path: the file's path.

    Returns:
        The parsed JSON value.

    Raises:
        ValueError: when the file is not valid JSON (the message names the
            file).
    """
    with open_text(path) as reader:
        text = reader.read()
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError('{}: not valid JSON: {}'.format(path, error))
