# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Reading inputs and writing outputs with errors that name their source.

Every reader of the project (configs, TSV and JSON datasets, predictions,
vocabularies, pretraining text) goes through these functions, so every file
is read the same way:

  - UTF-8; a leading byte-order mark is dropped; lines end at "\\n" and a
    trailing "\\r" is removed (CRLF files read as LF files);
  - a failure is a ValueError whose message starts with the path (and the
    flag that gave it), names the line or record, and says what was
    expected.

Outputs are written under a per-process temporary name and renamed into
place (`atomic_output`), so a killed or concurrent run never leaves a
truncated file under a final name. `report_errors` wraps an entry script's
`main` so that such errors end the run with one line instead of a traceback.

TensorFlow is imported only for remote paths (gs://...): the CMRC 2018
metric reads local files without loading it.
"""

import contextlib
import functools
import hashlib
import io
import json
import os
import socket
import sys
import traceback
import uuid

from absl import logging

BOM = u"\ufeff"


def _gfile():
    """tf.io.gfile, imported on first use (it is slow to load)."""
    import tensorflow.compat.v1 as tf
    return tf.io.gfile


def _is_remote(path):
    return "://" in path


def source(path, flag=None):
    """How messages name a file: `path` or `path (--flag)`."""
    return "%s (--%s)" % (path, flag) if flag else str(path)


def exists(path):
    """Whether `path` exists (local or remote)."""
    return _gfile().exists(path) if _is_remote(path) else os.path.exists(path)


def read_bytes(path, flag=None, what="file"):
    """The bytes of a file.

    Args:
      path: a local path or a URL tf.io.gfile understands.
      flag: the flag that gave the path, for messages.
      what: what the file is, for messages ("vocabulary file", ...).

    Raises:
      ValueError: the file does not exist or is a folder.
    """
    if not path:
        raise ValueError("%s: no path given" %
                         (("--" + flag) if flag else what))
    if not exists(path):
        raise ValueError("%s: %s not found" % (source(path, flag), what))
    if _is_remote(path):
        if _gfile().isdir(path):
            raise ValueError("%s: is a folder, expected a %s" %
                             (source(path, flag), what))
        with _gfile().GFile(path, "rb") as reader:
            return reader.read()
    if os.path.isdir(path):
        raise ValueError("%s: is a folder, expected a %s" %
                         (source(path, flag), what))
    with io.open(path, "rb") as reader:
        return reader.read()


def file_digest(path):
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks; "" for None."""
    if not path:
        return ""
    if not exists(path):
        raise ValueError("%s: file not found" % path)
    digest = hashlib.sha256()
    opener = _gfile().GFile if _is_remote(path) else io.open
    with opener(path, "rb") as reader:
        while True:
            chunk = reader.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def decode_utf8(raw, path, flag=None, first_line=1):
    """Decodes UTF-8 bytes of `path`, dropping a leading byte-order mark.

    Args:
      raw: the bytes (a whole file, or one line of it).
      path, flag: name the file in messages.
      first_line: the line number `raw` starts on.

    Raises:
      ValueError: naming the line and byte offset of the first bad byte.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = first_line + raw[:error.start].count(b"\n")
        raise ValueError(
            "%s, line %d: not valid UTF-8 (%s at byte %d); expected a UTF-8 "
            "text file" % (source(path, flag), line, error.reason,
                           error.start))
    if first_line == 1 and text.startswith(BOM):
        text = text[len(BOM):]
    return text


def read_text(path, flag=None, what="file"):
    """A whole UTF-8 text file as a string, CRLF line ends read as LF."""
    text = decode_utf8(read_bytes(path, flag, what), path, flag)
    return text.replace("\r\n", "\n")


def read_lines(path, flag=None, what="file"):
    """The lines of a UTF-8 text file, without their line ends.

    Lines are split at "\\n" only (U+2028 and other Unicode breaks are text);
    a trailing "\\r" is removed; the newline ending the last line does not
    make an extra empty line.

    Returns:
      A list of strings; line i + 1 of the file is item i.
    """
    lines = decode_utf8(read_bytes(path, flag, what), path, flag).split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def load_json(path, flag=None, expected_type=dict, what="JSON file"):
    """Parses a UTF-8 JSON file whose top-level value is `expected_type`.

    Raises:
      ValueError: not UTF-8, not JSON (with line and column), nested too
        deep to parse, or a top-level value of another kind.
    """
    text = read_text(path, flag, what)
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("%s: JSON nested too deep to parse; expected a %s" %
                         (source(path, flag), what))
    except ValueError as error:
        raise ValueError("%s: not valid JSON (%s); expected a %s" %
                         (source(path, flag), error, what))
    if expected_type is not None and not isinstance(value, expected_type):
        raise ValueError(
            "%s: the top-level value is a JSON %s; expected a JSON %s (a %s)"
            % (source(path, flag), json_kind(value),
               json_kind(expected_type()), what))
    return value


def json_kind(value):
    """The JSON name of a parsed value's kind ("object", "string", ...)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "number"


# ---------------------------------------------------------------------------
# Outputs.
# ---------------------------------------------------------------------------


def check_writable_dir(path, flag):
    """Creates folder `path` if needed and checks that files can be written.

    Called before any work is done, so a read-only output folder stops the
    run at once. Remote folders are only created (their permissions show
    on the first write).

    Raises:
      ValueError: naming the folder and the flag.
    """
    try:
        _gfile().makedirs(path)
    except Exception as error:  # pylint: disable=broad-except
        raise ValueError("%s: cannot create the folder (%s)" %
                         (source(path, flag), error_line(error)))
    if _is_remote(path):
        return
    probe = os.path.join(path, ".write_test." + _unique_suffix())
    try:
        with io.open(probe, "wb"):
            pass
        os.remove(probe)
    except (IOError, OSError) as error:
        raise ValueError("%s: the folder is not writable (%s)" %
                         (source(path, flag), error.strerror or error))


def _unique_suffix():
    """host.pid.random: unique among every process sharing a folder."""
    return "%s.%d.%s" % (socket.gethostname(), os.getpid(),
                         uuid.uuid4().hex[:8])


def temporary_name(path):
    """A per-process temporary name next to `path` (same folder)."""
    return "%s.tmp.%s" % (path, _unique_suffix())


@contextlib.contextmanager
def atomic_output(path):
    """Yields a temporary path; on success it is renamed to `path`.

    The rename replaces `path` in one step, so readers see either the old
    file or the complete new one, and two processes writing the same file
    each write their own temporary. On an exception the temporary is
    removed and `path` is left as it was.
    """
    gfile = _gfile()
    temporary = temporary_name(path)
    try:
        yield temporary
        gfile.rename(temporary, path, overwrite=True)
    except BaseException:
        if gfile.exists(temporary):
            gfile.remove(temporary)
        raise


def write_text_atomically(path, text):
    """Writes `text` (UTF-8) to `path` through atomic_output."""
    with atomic_output(path) as temporary:
        with _gfile().GFile(temporary, "w") as writer:
            writer.write(text)


# ---------------------------------------------------------------------------
# Entry scripts.
# ---------------------------------------------------------------------------


def _reported_errors():
    """The exception types that describe bad input or a bad environment."""
    types = (ValueError, IOError, OSError, RecursionError)
    if "tensorflow" in sys.modules:
        import tensorflow.compat.v1 as tf
        types += (tf.errors.OpError,)
    return types


def error_line(error):
    """`error` as one line: TensorFlow's node traces after the first line
    are dropped, the lines of a multi-line message are joined with "; "."""
    text = str(error).strip() or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if type(error).__module__.startswith("tensorflow"):
        lines = lines[:1]
    return "; ".join(lines)


def report_errors(main):
    """Wraps an entry script's `main`: input errors end with one line.

    A ValueError, I/O error or TensorFlow error ends the run with one line
    on stderr, `ERROR: <message>`, and exit status 1 (the traceback is
    logged at debug level: `--verbosity=1` shows it). Other exceptions
    (bugs) propagate with their traceback.
    """

    @functools.wraps(main)
    def main_reporting_errors(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except _reported_errors() as error:
            logging.debug("Traceback:\n%s", traceback.format_exc())
            sys.stderr.write("ERROR: %s\n" % error_line(error))
            sys.stderr.flush()
            sys.exit(1)

    return main_reporting_errors
