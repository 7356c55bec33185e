"""Conversion to transformers: parity with TF, names, tokenizer.

TF checkpoints with random weights (every variable, norms included, so a
swapped or untransposed tensor shows) are exported and converted here; the
PyTorch side runs in the modern stack's environment (.venv-tf2, built by
`STACK=tf2 bash scripts/setup_env.sh`, which also holds torch and
transformers) through scripts/verify_pytorch.py, with data passed in
.npz/.json files.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from pretrain import modeling
from pretrain import tokenization
from scripts import convert_to_pytorch
from scripts import export_checkpoint
from scripts import model_card
from scripts import transformers_format
from conftest import REPO, SQUAD_SLICES, VARIABLES_DIR, VOCAB, run_ok

VERIFY = os.path.join(REPO, "scripts", "verify_pytorch.py")
ATOL = 1e-4
PUBLISHED = ("student_base_f2", "student_base_f4", "student_large_f2",
             "student_large_f4", "roberta_wwm_ext", "roberta_wwm_large_ext")


def config_dict(name):
    with open(os.path.join(REPO, "config", name + ".json")) as f:
        return json.load(f)


# Each case: a config, the heads its checkpoint carries, and whether it is
# converted from the published layout (optimizer and teacher variables still
# inside) instead of an export_checkpoint.py release folder. Together they
# cover f2 and f4 students, E < H (extra output weights), the teacher, and
# the three fine-tuned heads.
CASES = {
    "student_f2": (config_dict("tiny_student_f2"), ("mlm",), False),
    "student_f4_squad_published": (config_dict("tiny_student_f4"),
                                   ("squad",), True),
    "student_emb32_classifier": (dict(config_dict("tiny_student_f4"),
                                      embedding_size=32),
                                 ("mlm", "classifier"), False),
    "teacher_classifier": (config_dict("tiny_teacher"),
                           ("mlm", "classifier"), False),
    "student_f2_ner": (config_dict("tiny_student_f2"), ("ner",), False),
}
LABELS = ["contradiction", "entailment", "neutral"]
TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def random_value(name, shape, rng):
    """A random value of the right scale for each kind of variable."""
    if name.endswith("gamma"):
        return 1.0 + 0.2 * rng.standard_normal(shape)
    if name.endswith(("beta", "bias")):
        return 0.1 * rng.standard_normal(shape)
    return 0.1 * rng.standard_normal(shape)


def build_random_checkpoint(config_json, heads, directory, extras, seed):
    """Saves a checkpoint of the model (+ heads) with random weights.

    Args:
      extras: also save variables that are not part of the model (an Adam
        moment, a teacher variable, global_step), as published files have.

    Returns:
      checkpoint prefix.
    """
    config = modeling.BertConfig.from_dict(config_json)
    rng = np.random.RandomState(seed)
    with tf.Graph().as_default():
        input_ids = tf.placeholder(tf.int32, [1, 4])
        model = modeling.BertModel(config, False, input_ids)
        if "mlm" in heads:
            modeling.masked_lm_logits(config, model.get_sequence_output(),
                                      model.get_embedding_table(),
                                      tf.placeholder(tf.int32, [1, 1]))
        if "classifier" in heads:
            tf.get_variable("output_weights",
                            [len(LABELS), config.hidden_size])
            tf.get_variable("output_bias", [len(LABELS)])
        if "squad" in heads:
            tf.get_variable("cls/squad/output_weights",
                            [2, config.hidden_size])
            tf.get_variable("cls/squad/output_bias", [2])
        if "ner" in heads:
            tf.get_variable("cls/ner/output_weights",
                            [len(TAGS), config.hidden_size])
            tf.get_variable("cls/ner/output_bias", [len(TAGS)])
        if extras:
            tf.get_variable("bert/embeddings/word_embeddings/adam_m",
                            [config.vocab_size, config.embedding_size])
            tf.get_variable("teacher/bert/pooler/dense/bias", [4])
            tf.train.get_or_create_global_step()
        with tf.Session() as session:
            for variable in tf.global_variables():
                shape = variable.shape.as_list()
                if variable.dtype.base_dtype == tf.float32:
                    variable.load(
                        random_value(variable.op.name, shape,
                                     rng).astype(np.float32), session)
                else:
                    variable.load(np.zeros(shape), session)
            return tf.train.Saver().save(
                session, os.path.join(directory, "mobilebert.ckpt"))


def prepare_release(name, root):
    """Checkpoint -> release folder (or published layout) for one case."""
    config_json, heads, published = CASES[name]
    source = os.path.join(root, name + "_tf")
    os.makedirs(source)
    prefix = build_random_checkpoint(config_json, heads, source, published,
                                     seed=len(name))
    config_path = os.path.join(source, "mobilebert_config.json")
    with open(config_path, "w") as f:
        json.dump(config_json, f)
    if "ner" in heads:  # Saved beside its checkpoints by run_ner.py.
        with open(os.path.join(source, "label_list.txt"), "w") as f:
            f.write("\n".join(TAGS) + "\n")
    if published:
        os.remove(os.path.join(source, "checkpoint"))
        shutil.copy(VOCAB, os.path.join(source, "vocab.txt"))
        return source
    release = os.path.join(root, name + "_release")
    export_checkpoint.export_release(
        export_checkpoint.ReleaseInputs(prefix, config_path, VOCAB), release)
    return release


def run_torch(torch_python, args):
    result = subprocess.run([torch_python, VERIFY] + args,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            universal_newlines=True,
                            check=False)
    return result


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """{case: (release dir, converted dir, reference npz, summary)}."""
    root = str(tmp_path_factory.mktemp("conversion"))
    out = {}
    for name in CASES:
        release = prepare_release(name, root)
        converted_dir = os.path.join(root, name + "_pt")
        reference = os.path.join(root, name + ".npz")
        if name == "teacher_classifier":
            command = [
                sys.executable,
                os.path.join(REPO, "scripts", "convert_to_pytorch.py"),
                "--input_dir", release, "--output_dir", converted_dir,
                "--reference_npz", reference
            ]
            result = run_ok(command)
            assert "BertForSequenceClassification (bert)" in result.stdout
            summary = None
        else:
            labels = LABELS if "classifier" in CASES[name][1] else None
            summary = convert_to_pytorch.convert_release(
                release, converted_dir, label_names=labels,
                reference_npz=reference)
        out[name] = (release, converted_dir, reference, summary)
    return out


def perturbed_reference(reference, directory):
    """A copy of `reference` with one hidden state off by 1e-3."""
    data = dict(np.load(reference))
    data["output/hidden_states_1"] = data["output/hidden_states_1"] + 1e-3
    path = os.path.join(directory, "perturbed.npz")
    np.savez(path, **data)
    return path


@pytest.fixture(scope="module")
def parity_report(converted, torch_python, tmp_path_factory):
    """One verify_pytorch.py run over every case, plus a perturbed one.

    Returns:
      ({case: report}, report of the perturbed reference, CompletedProcess).
    """
    directory = str(tmp_path_factory.mktemp("report"))
    report_path = os.path.join(directory, "parity.json")
    args = ["outputs", "--report_json", report_path]
    for _, converted_dir, reference, _ in converted.values():
        args += ["--model_dir", converted_dir, "--reference", reference]
    # The same converted model against a reference it cannot match: the
    # checker must notice (the run then exits 1).
    args += ["--model_dir", os.path.join(converted["student_f2"][1], "."),
             "--reference",
             perturbed_reference(converted["student_f2"][2], directory)]
    result = run_torch(torch_python, args)
    print(result.stdout)
    assert os.path.exists(report_path), result.stderr[-3000:]
    with open(report_path) as f:
        report = json.load(f)
    perturbed = report[os.path.join(converted["student_f2"][1], ".")]
    return ({name: report[converted[name][1]] for name in converted},
            perturbed, result)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_pytorch_reproduces_tf_outputs(name, converted, parity_report):
    report = parity_report[0][name]
    config = modeling.BertConfig.from_dict(CASES[name][0])
    diffs = report["max_abs_diff"]
    hidden = [k for k in diffs if k.startswith("output/hidden_states_")]
    assert len(hidden) == config.num_hidden_layers + 1
    heads = CASES[name][1]
    expected = {"mlm": "output/mlm_logits",
                "classifier": "output/classifier_logits",
                "squad": "output/squad_start_logits",
                "ner": "output/token_logits"}
    for head in heads:
        assert expected[head] in diffs
    assert report["not_compared"] == []
    for output, diff in diffs.items():
        assert diff <= ATOL, (output, diff)
    for cls, info in report["loading"].items():
        assert info["mismatched"] == [], cls
        if cls.endswith("ForPreTraining"):
            assert info["missing"] == [
                "cls.seq_relationship.bias", "cls.seq_relationship.weight"
            ]
        else:
            assert info["missing"] == [], cls
    assert report["ok"]
    # The outputs are not trivially small: the comparison means something.
    reference = np.load(converted[name][2])
    last = reference["output/hidden_states_%d" % config.num_hidden_layers]
    assert np.abs(last).max() > 0.5


@pytest.mark.slow
def test_verify_fails_on_a_reference_it_does_not_match(parity_report):
    _, perturbed, result = parity_report
    assert not perturbed["ok"]
    assert perturbed["max_abs_diff"]["output/hidden_states_1"] > 9e-4
    assert perturbed["max_abs_diff"]["output/hidden_states_0"] <= ATOL
    assert result.returncode == 1
    assert "FAILED" in result.stdout


@pytest.mark.slow
def test_config_json_fields(converted):
    def read(name):
        with open(os.path.join(converted[name][1], "config.json")) as f:
            return json.load(f)

    student = read("student_f2")
    assert student["model_type"] == "mobilebert"
    assert student["architectures"] == ["MobileBertForMaskedLM"]
    assert student["hidden_act"] == "relu"
    ours = modeling.BertConfig.from_dict(CASES["student_f2"][0])
    for field in ("vocab_size", "hidden_size", "num_hidden_layers",
                  "num_attention_heads", "intermediate_size",
                  "embedding_size", "trigram_input", "use_bottleneck",
                  "intra_bottleneck_size", "use_bottleneck_attention",
                  "key_query_shared_bottleneck", "num_feedforward_networks",
                  "normalization_type", "classifier_activation"):
        assert student[field] == getattr(ours, field), field
    teacher = read("teacher_classifier")
    assert teacher["model_type"] == "bert"
    assert teacher["hidden_act"] == "gelu_new"
    assert "trigram_input" not in teacher
    assert teacher["architectures"] == ["BertForSequenceClassification"]
    assert teacher["id2label"] == {"0": "LABEL_0", "1": "LABEL_1",
                                   "2": "LABEL_2"}
    classifier = read("student_emb32_classifier")
    assert classifier["architectures"] == [
        "MobileBertForSequenceClassification"
    ]
    assert classifier["id2label"] == {
        str(i): label for i, label in enumerate(LABELS)}
    assert classifier["embedding_size"] == 32
    assert read("student_f4_squad_published")["architectures"] == [
        "MobileBertForQuestionAnswering"
    ]
    tagger = read("student_f2_ner")
    assert tagger["architectures"] == ["MobileBertForTokenClassification"]
    # The tags come from the label_list.txt that run_ner.py saved beside
    # the checkpoint (carried into the release folder by the export).
    assert tagger["id2label"] == {str(i): t for i, t in enumerate(TAGS)}
    assert tagger["label2id"] == {t: i for i, t in enumerate(TAGS)}
    with open(os.path.join(converted["teacher_classifier"][1],
                           "tokenizer_config.json")) as f:
        tokenizer = json.load(f)
    assert tokenizer["do_lower_case"] is True
    assert tokenizer["tokenize_chinese_chars"] is True
    assert tokenizer["tokenizer_class"] == "BertTokenizer"


def read_safetensors(path):
    """(header dict, data bytes) of a safetensors file, parsed by hand.

    An oracle independent of the safetensors library that wrote the file.
    """
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length).decode("utf-8"))
        return header, f.read()


@pytest.mark.slow
def test_safetensors_file_layout_and_values(converted):
    release, converted_dir, _, _ = converted["student_f4_squad_published"]
    header, data = read_safetensors(
        os.path.join(converted_dir, "model.safetensors"))
    assert header.pop("__metadata__") == {"format": "pt"}
    spans = sorted(v["data_offsets"] for v in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end == start
    entry = header["mobilebert.encoder.layer.1.ffn.2.intermediate.dense."
                   "weight"]
    begin, end = entry["data_offsets"]
    value = np.frombuffer(data[begin:end], "<f4").reshape(entry["shape"])
    reader = tf.train.NewCheckpointReader(
        os.path.join(release, "mobilebert.ckpt"))
    kernel = reader.get_tensor(
        "bert/encoder/layer_1/ffn_layer_2/intermediate/dense/kernel")
    np.testing.assert_array_equal(value, kernel.T)
    # Nothing from the optimizer or the teacher reached the PyTorch file.
    assert not any("adam" in k or "teacher" in k or "global_step" in k
                   for k in header)


@pytest.mark.slow
def test_convert_summary_counts_what_was_written(converted):
    for name, (_, converted_dir, _, summary) in converted.items():
        if summary is None:  # converted through the command line
            continue
        assert summary["heads"] == list(CASES[name][1])
        header, data = read_safetensors(
            os.path.join(converted_dir, "model.safetensors"))
        del header["__metadata__"]
        assert summary["tensors"] == len(header)
        assert summary["parameters"] * 4 == len(data)
        assert summary["weights_size"] == os.path.getsize(
            os.path.join(converted_dir, "model.safetensors"))


@pytest.mark.slow
def test_tokenizer_matches_full_tokenizer_on_cmrc2018(converted,
                                                      torch_python,
                                                      tmp_path):
    # Every context and question of the CMRC 2018 and DRCD (traditional
    # Chinese) slices: over 50,000 tokens.
    contexts = []
    for path in SQUAD_SLICES:
        with open(path, encoding="utf-8") as f:
            for article in json.load(f)["data"]:
                for paragraph in article["paragraphs"]:
                    contexts.append(paragraph["context"])
                    contexts.extend(q["question"] for q in paragraph["qas"])
    # Plus full-width Latin letters and an accent, which lower-casing folds.
    texts = contexts + [u"MobileBERT 的 Ｆｕｌｌ-width ＡＢＣ and Café 测"]
    texts_path = str(tmp_path / "texts.json")
    with open(texts_path, "w", encoding="utf-8") as f:
        json.dump(texts, f, ensure_ascii=False)
    ids_path = str(tmp_path / "ids.json")
    result = run_torch(torch_python, [
        "tokenize", "--model_dir", converted["student_f2"][1], "--texts",
        texts_path, "--output", ids_path
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    with open(ids_path) as f:
        hf = json.load(f)
    ours = tokenization.FullTokenizer(VOCAB, do_lower_case=True)
    expected = [
        ours.convert_tokens_to_ids(ours.tokenize(t)) for t in texts
    ]
    assert hf["slow_vocab_size"] == 21128
    assert hf["auto_class"] == "BertTokenizerFast"
    for kind in ("auto", "slow"):
        mismatches = [
            i for i, (a, b) in enumerate(zip(hf[kind], expected)) if a != b
        ]
        assert mismatches == [], (kind, mismatches[:5])
    # The slice's 40 contexts hold about 18,000 tokens.
    assert sum(len(e) for e in expected) > 15000


def published_plan(name):
    """The transformers tensors planned from a spec variable list."""
    config = modeling.BertConfig.from_json_file(
        os.path.join(REPO, "config", name + ".json"))
    shapes = {}
    with open(os.path.join(VARIABLES_DIR, name + ".variables.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            var, shape = line.rstrip("\n").split("\t")
            shapes[var] = [int(d) for d in shape.split(",")]
    kind = transformers_format.model_type(config)
    hf = transformers_format.hf_config(config, ["mlm"])
    plan = transformers_format.hf_tensor_shapes(shapes, config, kind)
    prefix = transformers_format.CLASS_PREFIX[kind]
    return {
        "name": name,
        "config": hf,
        "class": prefix + "ForPreTraining",
        # The Chinese recipe has no next-sentence head.
        "allowed_missing": ["cls.seq_relationship."],
        "tensors": {k: v[1] for k, v in plan.items()},
    }, sum(int(np.prod(s)) for s in shapes.values())


@pytest.mark.slow
def test_name_mapping_fits_transformers_for_published_configs(
        torch_python, tmp_path):
    specs, totals = [], {}
    for name in PUBLISHED:
        spec, totals[name] = published_plan(name)
        specs.append(spec)
    assert [s["config"]["model_type"] for s in specs
            ] == ["mobilebert"] * 4 + ["bert"] * 2
    specs_path = str(tmp_path / "specs.json")
    with open(specs_path, "w") as f:
        json.dump(specs, f)
    report_path = str(tmp_path / "shapes.json")
    result = run_torch(torch_python, [
        "shapes", "--specs", specs_path, "--report_json", report_path
    ])
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    with open(report_path) as f:
        report = json.load(f)
    for name in PUBLISHED:
        assert report[name]["missing"] == [], name
        assert report[name]["allowed_missing"] == [
            "cls.seq_relationship.bias", "cls.seq_relationship.weight"
        ], name
        assert report[name]["unexpected"] == [], name
        assert report[name]["mismatched"] == [], name
        assert report[name]["parameters"] == totals[name]


def test_tensor_names():
    name = transformers_format.hf_tensor_name
    assert name("bert/encoder/layer_3/ffn_layer_1/output/FakeLayerNorm/gamma",
                "mobilebert") == (
                    "mobilebert.encoder.layer.3.ffn.1.output.LayerNorm."
                    "weight", False)
    assert name("bert/encoder/layer_0/output/bottleneck/dense/kernel",
                "mobilebert") == (
                    "mobilebert.encoder.layer.0.output.bottleneck.dense."
                    "weight", True)
    assert name("bert/embeddings/word_embeddings", "bert") == (
        "bert.embeddings.word_embeddings.weight", False)
    assert name("cls/predictions/extra_output_weights", "mobilebert") == (
        "cls.predictions.dense.weight", True)
    with pytest.raises(ValueError, match="not a model variable"):
        name("teacher/bert/pooler/dense/bias", "bert")


def test_unconvertible_models_are_rejected_clearly():
    layer_norm_student = modeling.BertConfig.from_dict(
        dict(config_dict("tiny_student_f2"), normalization_type="layer_norm"))
    with pytest.raises(ValueError, match="normalization_type"):
        transformers_format.model_type(layer_norm_student)
    teacher = modeling.BertConfig.from_dict(config_dict("tiny_teacher"))
    with pytest.raises(ValueError, match="several task heads"):
        transformers_format.hf_config(teacher, ["classifier", "squad"],
                                      num_labels=2)
    with pytest.raises(ValueError, match="--label_names: 2 names"):
        transformers_format.hf_config(teacher, ["classifier"], ["a", "b"], 3)


def test_model_card_names_the_config_source_and_checks(converted,
                                                       parity_report):
    for name in ("student_f2_ner", "teacher_classifier"):
        release, converted_dir, reference, _ = converted[name]
        with open(os.path.join(converted_dir, "README.md"),
                  encoding="utf-8") as f:
            card = f.read()
        with open(os.path.join(converted_dir, "config.json")) as f:
            config = json.load(f)
        assert card.startswith("---\nlanguage: zh\nlicense: apache-2.0\n")
        assert "# %s (Chinese)" % config["architectures"][0] in card
        for field in ("hidden_size", "num_hidden_layers", "vocab_size",
                      "hidden_act"):
            assert "| `%s` | `%s` |" % (field, config[field]) in card
        assert os.path.join(release, "model.ckpt") in card
        # verify_pytorch.py outputs wrote the differences it measured.
        assert os.path.basename(reference) in card
        measured = parity_report[0][name]["max_abs_diff"]
        for output, diff in measured.items():
            assert "| `%s` | %.3g |" % (output, diff) in card
        assert "Apache License 2.0" in card
        assert "do_lower_case=True" in card
    with open(os.path.join(converted["student_f2_ner"][1], "README.md"),
              encoding="utf-8") as f:
        card = f.read()
    assert "pipeline_tag: token-classification" in card
    assert "`B-PER`" in card and "num_feedforward_networks" in card
    assert "| `output/token_logits` |" in card
    # Before the check, the card says how to run it.
    fresh = model_card.card_text(
        {"architectures": ["BertModel"], "model_type": "bert",
         "num_hidden_layers": 2, "hidden_size": 8, "num_attention_heads": 2,
         "intermediate_size": 8, "vocab_size": 10,
         "max_position_embeddings": 16}, {"tokenizer_class": "BertTokenizer"},
        "ckpt/model.ckpt-1200", "cfg/bert_config.json")
    assert "training step 1200" in fresh and "verify_pytorch.py" in fresh
    with pytest.raises(ValueError, match="no '## Checks' section"):
        model_card.with_parity("# card\n", {"a": 0.0}, "x.npz")
