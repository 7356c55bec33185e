# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""bfloat16 serving on CPUs that have it: oneDNN's mixed-precision rewrite.

TensorFlow 2.15's grappler can rewrite a float32 graph to compute its
MatMuls (and what oneDNN supports beside them) in bfloat16, keeping
float32 where precision matters; it is a session option
(`auto_mixed_precision_onednn_bfloat16`), so the exported SavedModel is
served as it is. It only pays on CPUs with bfloat16 instructions
(AVX512_BF16, AMX); elsewhere it is refused here with a clear message.

  session_config(config=None) -> ConfigProto with the rewrite on
  check_support() -> raises ValueError where TF or the CPU lacks it
  PLATFORM_CONFIG: the TF Serving --platform_config_file with the rewrite
"""

import tensorflow.compat.v1 as tf

CPU_FLAGS = ("avx512_bf16", "amx_bf16")
REWRITE_OPTION = "auto_mixed_precision_onednn_bfloat16"
CPUINFO = "/proc/cpuinfo"
# TF Serving (tensorflow_model_server --platform_config_file=FILE): the
# same session option for every SavedModel it serves.
PLATFORM_CONFIG = """platform_configs {
  key: "tensorflow"
  value {
    source_adapter_config {
      [type.googleapis.com/tensorflow.serving.SavedModelBundleSourceAdapterConfig] {
        legacy_config {
          session_config {
            graph_options {
              rewrite_options { auto_mixed_precision_onednn_bfloat16: ON }
            }
          }
        }
      }
    }
  }
}
"""


def cpu_flags(cpuinfo=CPUINFO):
    """The bfloat16 flags of CPU_FLAGS this machine's CPU lists."""
    try:
        with open(cpuinfo) as f:
            words = set(f.read().split())
    except IOError:
        return []
    return [flag for flag in CPU_FLAGS if flag in words]


def check_support(cpuinfo=CPUINFO):
    """Raises ValueError unless this TF and CPU can serve in bfloat16.

    Returns:
      The CPU's bfloat16 flags.
    """
    # pylint: disable=import-outside-toplevel
    from tensorflow.core.protobuf import rewriter_config_pb2
    fields = rewriter_config_pb2.RewriterConfig.DESCRIPTOR.fields_by_name
    if REWRITE_OPTION not in fields:
        raise ValueError(
            "bfloat16 serving needs TensorFlow 2.9 or later (oneDNN's "
            "%s rewrite); this is TensorFlow %s: use the modern stack "
            "(.venv-tf2)" % (REWRITE_OPTION, tf.__version__))
    flags = cpu_flags(cpuinfo)
    if not flags:
        raise ValueError(
            "bfloat16 serving refused: this CPU lists neither %s in %s; "
            "without bfloat16 instructions oneDNN emulates bfloat16 and is "
            "slower than float32" % (" nor ".join(CPU_FLAGS), cpuinfo))
    return flags


def session_config(config=None, cpuinfo=CPUINFO):
    """A ConfigProto (a copy of `config`) with the bfloat16 rewrite on.

    Raises:
      ValueError: see check_support.
    """
    check_support(cpuinfo)
    # pylint: disable=import-outside-toplevel
    from tensorflow.core.protobuf import rewriter_config_pb2
    result = tf.ConfigProto()
    if config is not None:
        result.CopyFrom(config)
    setattr(result.graph_options.rewrite_options, REWRITE_OPTION,
            rewriter_config_pb2.RewriterConfig.ON)
    return result
