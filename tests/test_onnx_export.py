"""Tests for finetune/onnx_export.py, bf16_serving.py, scripts/export_onnx.py.

Under TF 1.15 the conversion and ONNX Runtime run in the modern stack's
environment (.venv-tf2), as the int8 TFLite export does; those tests skip
where that environment is missing.
"""
import collections
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from finetune import bf16_serving
from finetune import export_util
from finetune import onnx_export
from finetune import onnx_fusion
from finetune import tflite_util
from pretrain import serving_graph
# The tiny encoder and features of the export tests.
from test_export_util import SEQ, TINY, random_features, trained_encoder

OUTPUTS = ["first", "pooled"]

pytestmark = [pytest.mark.skipif(
    not (onnx_export.has_onnx_runtime() or
         os.path.isfile(tflite_util.DEFAULT_CONVERTER_PYTHON)),
    reason="needs tf2onnx and onnxruntime (the modern stack: STACK=tf2 "
    "bash scripts/setup_env.sh)")]
if not onnx_export.has_onnx_runtime():
    # Every ONNX call starts the modern stack's interpreter.
    pytestmark.append(pytest.mark.slow)
in_modern_stack = pytest.mark.skipif(
    not onnx_export.has_onnx_runtime(),
    reason="inspects ONNX files: needs onnx in this environment")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny SavedModel, its frozen copy and their ONNX models."""
    base = tmp_path_factory.mktemp("onnx")
    estimator = trained_encoder(str(base / "model"))
    paths = export_util.export_models(
        estimator, export_util.serving_input_receiver_fn_builder(SEQ),
        str(base / "export"), quantizations=())
    paths.update(onnx_export.export_onnx(
        paths["saved_model_frozen"], str(base / "export"), int8=True,
        calibration_features=random_features(16, seed=5),
        reference_dir=paths["saved_model"]))
    return paths


def run(path, features, outputs=OUTPUTS, length=SEQ, flag="--flag"):
    return onnx_export.run_checked(path, features, outputs, length, flag)


def test_export_writes_both_models_beside_the_others(exported):
    export_dir = os.path.dirname(exported["onnx_float"])
    assert os.path.basename(exported["onnx_float"]) == "model.onnx"
    assert os.path.basename(exported["onnx_int8"]) == "model_int8.onnx"
    assert os.path.dirname(exported["onnx_int8"]) == export_dir
    assert os.path.isdir(exported["saved_model"])


def test_float_onnx_equals_the_saved_model(exported):
    features = random_features(20, seed=11)
    shapes, outputs = run(exported["onnx_float"], features)
    assert shapes == {"first": [-1, 2], "pooled": [-1, 16]}
    reference = onnx_export.saved_model_outputs(exported["saved_model"],
                                                features)
    assert sorted(reference) == OUTPUTS
    for key in OUTPUTS:
        assert outputs[key].shape == reference[key].shape == (
            (20, 2) if key == "first" else (20, 16))
        np.testing.assert_allclose(outputs[key], reference[key], atol=1e-4)
    assert onnx_export.check_against_saved_model(
        exported["saved_model"], outputs, features, "--x") <= 1e-4


@in_modern_stack
def test_sessions_flush_subnormal_floats_to_zero(tmp_path):
    # Padded inputs drive ONNX Runtime's masked softmax into subnormal
    # floats, which are slow on CPUs; sessions flush them as TF does.
    import onnx  # pylint: disable=import-outside-toplevel
    from onnx import helper  # pylint: disable=import-outside-toplevel
    value = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4])
    square = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [4])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "x"], ["y"])],
                              "square", [value], [square])
    path = str(tmp_path / "square.onnx")
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    sess = onnx_export.session(path, threads=1)
    assert sess.get_session_options().get_session_config_entry(
        "session.set_denormal_as_zero") == "1"
    x = np.array([2.0 ** -70, 2.0 ** -64, 2.0 ** -60, 2.0], np.float32)
    # 2^-140 and 2^-128 are subnormal in float32 (below 2^-126): zero.
    np.testing.assert_array_equal(
        sess.run(["y"], {"x": x})[0],
        np.array([0, 0, 2.0 ** -120, 4], np.float32))


def test_a_float_model_off_by_more_than_the_tolerance_is_refused(exported):
    features = random_features(4, seed=2)
    outputs = onnx_export.saved_model_outputs(exported["saved_model"],
                                              features)
    outputs["pooled"] = outputs["pooled"] + 1e-3
    with pytest.raises(ValueError, match="differs from the SavedModel"):
        onnx_export.check_against_saved_model(exported["saved_model"],
                                              outputs, features, "--x")


def test_int8_onnx_is_close_to_float(exported):
    features = random_features(20, seed=11)
    _, float_outputs = run(exported["onnx_float"], features)
    _, int8_outputs = run(exported["onnx_int8"], features)
    difference = export_util.max_abs_difference(float_outputs, int8_outputs)
    assert 0 < difference < 0.1


@in_modern_stack
def test_onnx_inputs_and_outputs_are_the_signature_keys(exported):
    summary = onnx_export.describe(exported["onnx_float"])
    assert [d["name"] for d in summary["inputs"]] == sorted(
        export_util.DEFAULT_FEATURE_NAMES)
    assert all(d["shape"] == [-1, SEQ] for d in summary["inputs"])
    assert sorted(d["name"] for d in summary["outputs"]) == OUTPUTS


@in_modern_stack
def test_int8_model_has_integer_matmuls(exported):
    import onnx
    ops = {n.op_type for n in onnx.load(exported["onnx_int8"]).graph.node}
    assert "MatMulInteger" in ops or "QLinearMatMul" in ops
    assert "DynamicQuantizeLinear" in ops
    float_ops = {n.op_type
                 for n in onnx.load(exported["onnx_float"]).graph.node}
    assert "MatMulInteger" not in float_ops


def op_counts(path):
    import onnx
    return op_counts_of(onnx.load(path))


def op_counts_of(model):
    return collections.Counter(n.op_type for n in model.graph.node)


@in_modern_stack
def test_int8_model_runs_fused_attention_and_float_stays_portable(exported):
    int8_ops, float_ops = (op_counts(exported["onnx_int8"]),
                           op_counts(exported["onnx_float"]))
    layers = TINY["num_hidden_layers"]
    assert int8_ops["MultiHeadAttention"] == layers == float_ops["Softmax"]
    assert int8_ops["Softmax"] == 0
    assert float_ops["MultiHeadAttention"] == 0


@in_modern_stack
def test_fused_attention_equals_the_float_model(exported, tmp_path):
    import onnx
    from onnx import helper
    model = onnx.load(exported["onnx_float"])
    assert onnx_fusion.sequence_length(model) == SEQ
    assert onnx_fusion.fuse_attention(model, SEQ) == TINY["num_hidden_layers"]
    (node,) = [n for n in model.graph.node
               if n.op_type == "MultiHeadAttention"]
    attributes = {a.name: helper.get_attribute_value(a)
                  for a in node.attribute}
    assert attributes["num_heads"] == TINY["num_attention_heads"]
    assert attributes["mask_filter_value"] == serving_graph.SERVING_MASK_ADDER
    path = str(tmp_path / "fused.onnx")
    onnx.save(model, path)
    # Lengths 3..SEQ: every row but the longest has padding keys.
    features = random_features(12, seed=4)
    assert len({int(f["input_mask"].sum()) for f in features}) > 3
    difference = export_util.max_abs_difference(
        onnx_export.run_onnx(exported["onnx_float"], features),
        onnx_export.run_onnx(path, features))
    assert difference <= 1e-5


@in_modern_stack
def test_separate_query_key_value_projections_fuse_too(tmp_path,
                                                        monkeypatch):
    # The teacher's projections are too wide to share a kernel
    # (serving_graph): three MatMuls joined by a Concat before the heads
    # are split.
    import onnx
    from scripts import benchmark_onnx
    from scripts import benchmark_serving
    monkeypatch.setattr(serving_graph, "_MAX_JOINT_KERNEL", 0)
    path, _ = benchmark_onnx.encoder_onnx("tiny_teacher", str(tmp_path))
    config = benchmark_serving.load_config("tiny_teacher")
    model = onnx.load(path)
    assert op_counts(path)["Concat"] >= config.num_hidden_layers
    assert onnx_fusion.fuse_attention(model, 128) == config.num_hidden_layers
    assert op_counts_of(model)["Split"] == 0
    fused = str(tmp_path / "fused.onnx")
    onnx.save(model, fused)
    features = onnx_export.padded_features(128, count=4)
    assert export_util.max_abs_difference(
        onnx_export.run_onnx(path, features),
        onnx_export.run_onnx(fused, features)) <= 1e-5


@in_modern_stack
def test_attention_masked_by_another_input_is_left_alone(exported):
    import onnx
    model = onnx.load(exported["onnx_float"])
    before = [n.name for n in model.graph.node]
    assert onnx_fusion.fuse_attention(model, SEQ, "segment_ids") == 0
    assert [n.name for n in model.graph.node] == before


@in_modern_stack
def test_a_fusion_that_changes_the_outputs_is_refused(exported, tmp_path,
                                                      monkeypatch):
    # Padding keys left unmasked: the check on padded inputs must see it.
    monkeypatch.setattr(onnx_fusion, "mask_value",
                        lambda graph, name, mask_input: 0.0)
    with pytest.raises(ValueError, match="fused attention, folded NoNorm"):
        onnx_export.quantize(exported["onnx_float"],
                             str(tmp_path / "q.onnx"))


@pytest.fixture(scope="module")
def student_onnx(tmp_path_factory):
    """The tiny MobileBERT student (NoNorm, bottlenecks, two FFNs) with
    random weights as float ONNX, and its layer count."""
    from scripts import benchmark_onnx
    from scripts import benchmark_serving
    work = str(tmp_path_factory.mktemp("student_onnx"))
    path, _ = benchmark_onnx.encoder_onnx("tiny_student_f2", work)
    config = benchmark_serving.load_config("tiny_student_f2")
    return path, config


@in_modern_stack
def test_no_norm_folds_into_the_kernels_before_it(student_onnx, tmp_path):
    import onnx
    path, config = student_onnx
    model = onnx.load(path)
    # Per layer: the input bottleneck's (no residual), then the residual
    # sums of attention, every FFN and the output bottleneck.
    expected = config.num_hidden_layers * (
        3 + config.num_feedforward_networks)
    assert onnx_fusion.fold_no_norm(model) == expected
    folded = str(tmp_path / "folded.onnx")
    onnx.save(model, folded)
    features = onnx_export.padded_features(128, count=6)
    float_outputs = onnx_export.run_onnx(path, features)
    assert export_util.max_abs_difference(
        float_outputs, onnx_export.run_onnx(folded, features)) <= 1e-5
    before, after = op_counts(path), op_counts(folded)
    # A residual form keeps one Mul (residual * gamma), the other none.
    assert before["Mul"] - after["Mul"] == config.num_hidden_layers
    assert before["Add"] - after["Add"] == expected


@in_modern_stack
def test_folded_int8_student_stays_close_to_float(student_onnx, tmp_path):
    path, _ = student_onnx
    features = onnx_export.padded_features(128, count=6, seed=3)
    float_outputs = onnx_export.run_onnx(path, features)
    rewritten = onnx_export.quantize(path, str(tmp_path / "a.onnx"))
    plain = onnx_export.quantize(path, str(tmp_path / "b.onnx"),
                                 rewrite=False, per_channel=True)
    error = export_util.max_abs_difference(
        float_outputs, onnx_export.run_onnx(rewritten, features))
    reference_error = export_util.max_abs_difference(
        float_outputs, onnx_export.run_onnx(plain, features))
    assert 0 < error <= 1.5 * reference_error
    assert op_counts(rewritten)["MultiHeadAttention"] > 0


@in_modern_stack
def test_static_int8_needs_calibration_and_runs_with_it(exported, tmp_path):
    with pytest.raises(ValueError, match="needs calibration features"):
        onnx_export.quantize(exported["onnx_float"], str(tmp_path / "s.onnx"),
                             "static")
    with pytest.raises(ValueError, match="must be one of dynamic, static"):
        onnx_export.quantize(exported["onnx_float"], str(tmp_path / "s.onnx"),
                             "float16")
    path = onnx_export.quantize(exported["onnx_float"],
                                str(tmp_path / "s.onnx"), "static",
                                random_features(8, seed=1), per_channel=True)
    features = random_features(10, seed=3)
    outputs = onnx_export.run_onnx(path, features)
    reference = onnx_export.run_onnx(exported["onnx_float"], features)
    assert export_util.max_abs_difference(reference, outputs) < 0.2
    # Shape inference reaches past the fused attention: the layer's
    # projections after it are quantized too.
    import onnx
    graph = onnx.load(path).graph
    producers = {out: n.op_type for n in graph.node for out in n.output}
    matmuls = [n for n in graph.node if n.op_type == "MatMul"]
    assert op_counts(path)["MultiHeadAttention"] == TINY["num_hidden_layers"]
    assert len(matmuls) >= 4
    for node in matmuls:
        assert [producers.get(name) for name in node.input] == [
            "DequantizeLinear"] * 2, node.name


def test_another_task_length_or_input_set_is_named(exported):
    path = exported["onnx_float"]
    with pytest.raises(ValueError, match="a model of another task: it has "
                       "the outputs first, pooled"):
        run(path, [], outputs=["probabilities"])
    with pytest.raises(ValueError, match="input input_ids has length 16, "
                       "--max_seq_length is 128"):
        run(path, [], length=128)
    features = [{k: v for k, v in f.items() if k != "segment_ids"}
                for f in random_features(2)]
    with pytest.raises(ValueError, match="input 'segment_ids' the task's "
                       "features lack"):
        run(path, features)


def test_a_file_that_is_not_onnx_is_named(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"TFL3 not an onnx file at all")
    with pytest.raises(ValueError, match="--onnx_model_path .*model.onnx: "
                       "not an ONNX model"):
        run(str(bad), [], flag="--onnx_model_path")
    with pytest.raises(ValueError, match="not found"):
        run(str(tmp_path / "missing.onnx"), [], flag="--onnx_model_path")


@pytest.mark.slow
def test_export_script_converts_a_saved_model(exported, tmp_path):
    import subprocess
    import sys
    script = os.path.join(tflite_util.REPO_ROOT, "scripts", "export_onnx.py")
    result = subprocess.run(
        [sys.executable, script, "--saved_model_dir",
         exported["saved_model"], "--output_dir", str(tmp_path), "--int8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(os.listdir(str(tmp_path))) == ["model.onnx",
                                                 "model_int8.onnx"]
    result = subprocess.run(
        [sys.executable, script, "--saved_model_dir", str(tmp_path),
         "--output_dir", str(tmp_path / "x")], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode == 1
    assert "--saved_model_dir: %s holds no saved_model.pb" % tmp_path in (
        result.stderr)


def test_bf16_is_refused_without_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    with pytest.raises(ValueError, match="bfloat16|TensorFlow 2.9"):
        bf16_serving.session_config(cpuinfo=str(cpuinfo))
    assert bf16_serving.cpu_flags(str(cpuinfo)) == []


def test_bf16_config_turns_the_rewrite_on(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx512f avx512_bf16 amx_bf16\n")
    assert bf16_serving.cpu_flags(str(cpuinfo)) == ["avx512_bf16",
                                                    "amx_bf16"]
    if tf.__version__.startswith("1."):
        with pytest.raises(ValueError, match="TensorFlow 2.9 or later"):
            bf16_serving.session_config(cpuinfo=str(cpuinfo))
        return
    base = tf.ConfigProto(inter_op_parallelism_threads=2)
    config = bf16_serving.session_config(base, cpuinfo=str(cpuinfo))
    options = config.graph_options.rewrite_options
    assert options.auto_mixed_precision_onednn_bfloat16 == 1  # ON
    assert config.inter_op_parallelism_threads == 2
    assert (base.graph_options.rewrite_options.
            auto_mixed_precision_onednn_bfloat16 == 0)  # DEFAULT: unchanged


@pytest.mark.skipif(not bf16_serving.cpu_flags() or
                    tf.__version__.startswith("1."),
                    reason="needs TF 2 and a CPU with AVX512_BF16 or AMX")
def test_bf16_serving_is_close_to_float(exported):
    features = random_features(8, seed=4)
    reference = onnx_export.saved_model_outputs(
        exported["saved_model_frozen"], features)
    bf16 = onnx_export.saved_model_outputs(
        exported["saved_model_frozen"], features,
        config=bf16_serving.session_config())
    difference = export_util.max_abs_difference(reference, bf16)
    assert difference < 0.1
