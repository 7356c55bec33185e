# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Frozen serving graphs and the exact rewrites applied to them.

  frozen_signature / freeze_saved_model(saved_model_dir) -> frozen GraphDef
      of a SavedModel's serving signature, variables folded into constants.
  write_frozen_saved_model(saved_model_dir, output_dir) -> str
      That graph written as a SavedModel with the same signature: the
      faster graph to serve (nothing reads a variable per call; a student's
      projected word embeddings are read from precomputed tables, see
      precompute_word_projections).
  guard_constant_operands(graph_def)
      Works around the TF 1.15 converter folding a non-bias constant added
      after a dense layer (`dense(x) + position_table[:S]`) into that
      layer's bias, keeping only its first row.
  keep_learnt_ranges(graph_def)
      Carries the ranges learnt by quantization-aware training through the
      reshapes, splits and slices that read a fake-quantized tensor, so the
      int8 converter keeps them.

Every rewrite keeps the numbers (to float rounding) and is tested against
the graph it rewrites.
"""

import copy

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import serving_graph


SIGNATURE_KEY = "serving_default"


def frozen_signature(saved_model_dir, signature_key=SIGNATURE_KEY):
    """Loads a SavedModel and folds its variables into constants.

    Returns:
      (GraphDef of what the signature's outputs need, the SignatureDef);
      the signature's tensor names are valid in the GraphDef.

    Raises:
      ValueError: the SavedModel has no such signature.
    """
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        meta_graph = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING], saved_model_dir)
        if signature_key not in meta_graph.signature_def:
            raise ValueError(
                "%s: no signature %r (has %s)" %
                (saved_model_dir, signature_key,
                 ", ".join(sorted(meta_graph.signature_def))))
        signature = meta_graph.signature_def[signature_key]
        graph_def = tf.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), output_node_names(signature))
    return graph_def, signature


def output_node_names(signature):
    """Names of the nodes of a SignatureDef's outputs, in key order."""
    return [info.name.split(":")[0]
            for _, info in sorted(signature.outputs.items())]


def freeze_saved_model(saved_model_dir, signature_key=SIGNATURE_KEY):
    """frozen_signature with the signature as tensor names.

    Returns:
      (GraphDef, input tensor names, output tensor names), the names in the
      signature's key order.
    """
    graph_def, signature = frozen_signature(saved_model_dir, signature_key)
    return (graph_def,
            [info.name for _, info in sorted(signature.inputs.items())],
            [info.name for _, info in sorted(signature.outputs.items())])


def write_frozen_saved_model(saved_model_dir, output_dir,
                             signature_key=SIGNATURE_KEY,
                             precompute_word_projection=True):
    """Writes a SavedModel's signature again, variables folded into constants.

    The same inputs, outputs and numbers as `saved_model_dir`, in a graph
    without variables: a session reads no variable at each call, and the
    graph optimizer folds what depends on weights alone (the concatenated
    kernels of joint projections) once when the model loads.  It is the
    graph to serve (README, Serving); `saved_model_dir` stays the one to
    convert and to inspect by variable name.

    Args:
      saved_model_dir: a SavedModel (from export_saved_model).
      output_dir: where to write the frozen SavedModel; must not exist.
      precompute_word_projection: a student's projected word embeddings
        are looked up from tables computed here
        (precompute_word_projections): no MatMul per call for them, for
        tables of 3 x V x H floats (trigram input; V x H without) in
        place of the V x E word embeddings.

    Returns:
      output_dir.
    """
    graph_def, signature = frozen_signature(saved_model_dir, signature_key)
    if precompute_word_projection:
        graph_def = precompute_word_projections(graph_def,
                                                output_node_names(signature))
    with tf.Graph().as_default(), tf.Session() as sess:
        tf.import_graph_def(graph_def, name="")
        builder = tf.saved_model.builder.SavedModelBuilder(output_dir)
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.tag_constants.SERVING],
            signature_def_map={signature_key: signature})
        builder.save()
    tf.logging.info("Frozen SavedModel of %s written to %s", saved_model_dir,
                    output_dir)
    return output_dir


def precompute_word_projections(graph_def, output_names):
    """Replaces each projection of the word embeddings by table lookups.

    A MobileBERT student projects its word embeddings (with trigram input:
    those of the next, current and previous token side by side) to the
    hidden width with one dense layer; the teacher has no such layer.  Its
    kernel K = [K_next; K_current; K_previous] and the table T are
    constants in a frozen graph, so the projection of token t is

        T[id(t+1)] K_next + T[id(t)] K_current + T[id(t-1)] K_previous + b,

    three lookups in the tables T K_next, T K_current + b and T K_previous
    (one, T K + b, without trigram input), each [V, H], computed here once.
    The next and previous tables get an extra all-zero row (id V), read
    past either end of the sequence, where the model pads with zeros.  The
    same numbers up to float rounding (sums in another order), no MatMul
    of [B*S, 3E] x [3E, H] per call (base-f2 and base-f4: 0.45 GFLOP per
    128 tokens), tables of 3 x V x H floats in place of V x E.

    Args:
      graph_def: a frozen GraphDef of a model from serving_graph.ServingModel.
      output_names: the names of the nodes to keep (with what they need).

    Returns:
      A new GraphDef; `graph_def` itself when it has no projection.

    Raises:
      ValueError: a projection's table, kernel or bias is not a constant
        of the graph (it was not frozen).
    """
    suffix = "/embeddings/" + serving_graph.WORD_PROJECTION
    projections = [node for node in graph_def.node
                   if node.name.endswith(suffix)]
    if not projections:
        return graph_def
    graph_def = copy.deepcopy(graph_def)
    nodes = {node.name: node for node in graph_def.node}
    for projection in projections:
        scope = projection.name[:-len(serving_graph.WORD_PROJECTION)]
        table, kernel, bias = [
            constant_value(nodes, scope + name)
            for name in ("word_embeddings",
                         "embedding_transformation/kernel",
                         "embedding_transformation/bias")
        ]
        ids = nodes[scope + serving_graph.WORD_IDS]
        lookup = projection_lookup_graph(
            projection_tables(table, kernel, bias),
            tf.as_dtype(ids.attr["T"].type))
        prefix = scope + "projection_lookup/"
        for node in lookup.node:
            if node.name == "ids":
                continue
            node.name = prefix + node.name
            node.input[:] = [
                ids.name + name[len("ids"):]
                if name.split(":")[0] == "ids" else prefix + name
                for name in node.input
            ]
            graph_def.node.extend([node])
        nodes[projection.name].input[:] = [prefix + "output"]
    return tf.graph_util.extract_sub_graph(graph_def, output_names)


def constant_value(nodes, name):
    """The value of Const node `name` of a frozen graph, as an array."""
    if name not in nodes or nodes[name].op != "Const":
        raise ValueError("the frozen graph has no constant %s (the word "
                         "projection's tables are computed from it)" % name)
    return tf.make_ndarray(nodes[name].attr["value"].tensor)


def projection_tables(table, kernel, bias):
    """Lookup tables of the projected word embeddings (see
    precompute_word_projections).

    Args:
      table: [V, E] word embeddings.
      kernel: [3E, H] (trigram input) or [E, H].
      bias: [H].

    Returns:
      {"current": [V, H]} and with trigram input also "next" and
      "previous", [V + 1, H], whose last row is zeros.
    """
    width = table.shape[1]
    if kernel.shape[0] == width:
        return {"current": np.dot(table, kernel) + bias}
    zeros = np.zeros([1, kernel.shape[1]], table.dtype)
    return {
        "next": np.concatenate([np.dot(table, kernel[:width]), zeros]),
        "current": np.dot(table, kernel[width:2 * width]) + bias,
        "previous": np.concatenate([np.dot(table, kernel[2 * width:]),
                                    zeros]),
    }


def projection_lookup_graph(tables, ids_dtype):
    """GraphDef reading `tables` at placeholder `ids` [B, S] into `output`.

    Returns:
      A GraphDef whose node `output` is [B, S, H]: the sum of the current
      table's rows at the ids and, with trigram tables, the next table's at
      the ids shifted one left and the previous table's at the ids shifted
      one right (the zero row V where they run past the sequence).
    """
    with tf.Graph().as_default() as graph:
        ids = tf.placeholder(ids_dtype, [None, None], name="ids")
        output = tf.gather(tf.constant(tables["current"], name="current"),
                           ids)  # [B, S, H]
        if "next" in tables:
            outside = tables["next"].shape[0] - 1
            next_ids = tf.pad(ids[:, 1:], [[0, 0], [0, 1]],
                              constant_values=outside)
            previous_ids = tf.pad(ids[:, :-1], [[0, 0], [1, 0]],
                                  constant_values=outside)
            output += tf.gather(tf.constant(tables["next"], name="next"),
                                next_ids)
            output += tf.gather(
                tf.constant(tables["previous"], name="previous"),
                previous_ids)
        tf.identity(output, name="output")
    return graph.as_graph_def()


def guard_constant_operands(graph_def):
    """Keeps the converter from folding non-bias constants into a layer.

    TF 1.15's converter fuses an element-wise Add/Sub/Mul with a constant
    into the preceding fully-connected layer even when the constant is not a
    per-channel vector: `dense(x) + position_table[:S]` (the embedding sum of
    modeling.py) becomes `dense(x) + position_table[0]` on every position.
    Each such operation gets its other operand routed through
    `Maximum(x, lowest float)`, an exact identity for finite values that the
    fusion does not look through. Constants that broadcast along the last
    axis only (scalars, biases) are left alone, so ordinary bias fusion
    still happens.

    Args:
      graph_def: a frozen GraphDef.

    Returns:
      A new GraphDef.
    """
    graph_def = copy.deepcopy(graph_def)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
    constant = set()
    for op in graph.get_operations():  # Topological order.
        if op.type == "Const" or (op.inputs and all(
                t.op.name in constant for t in op.inputs)):
            constant.add(op.name)
    guard_name = "tflite_guard/lowest"
    guarded = 0
    for node in graph_def.node:
        if (node.op not in ("Add", "AddV2", "Sub", "Mul") or
                node.attr["T"].type != tf.float32.as_datatype_enum):
            continue
        data_inputs = node.input[:2]
        names = [tensor_name(i) for i in data_inputs]
        is_const = [graph.get_tensor_by_name(n).op.name in constant
                    for n in names]
        if is_const.count(True) != 1:
            continue
        shape = graph.get_tensor_by_name(names[is_const.index(True)]).shape
        if shape.rank is not None and shape.is_fully_defined() and all(
                d == 1 for d in shape.as_list()[:-1]):
            continue
        other = is_const.index(False)
        guard = tf.NodeDef(name=node.name + "/tflite_guard",
                           op="Maximum",
                           input=[node.input[other], guard_name])
        guard.attr["T"].type = tf.float32.as_datatype_enum
        graph_def.node.extend([guard])
        node.input[other] = guard.name
        guarded += 1
    if guarded:
        lowest = tf.NodeDef(name=guard_name, op="Const")
        lowest.attr["dtype"].type = tf.float32.as_datatype_enum
        lowest.attr["value"].tensor.CopyFrom(
            tf.make_tensor_proto(np.finfo(np.float32).min, tf.float32))
        graph_def.node.extend([lowest])
    return graph_def


# Ops that only move values: an int8 model gives their output the scale of
# their input.
DATA_MOVEMENT_OPS = frozenset([
    "Reshape", "Transpose", "Split", "SplitV", "StridedSlice", "Slice",
    "GatherV2", "Squeeze", "ExpandDims", "Unpack", "Identity"
])


FAKE_QUANT_OP = "FakeQuantWithMinMaxVars"


def keep_learnt_ranges(graph_def):
    """Carries each learnt activation range through the ops that move data.

    In a quantization-aware graph a `FakeQuantWithMinMaxVars` fixes its
    tensor's int8 range. TF 2.15's int8 converter also calibrates the
    output of a reshape, transpose, split or slice that reads that tensor
    and then finds the two ranges differ, which such an op does not allow
    ("quantization parameters violate the same scale constraint"). Each
    output of such an op (and of the ops that move it further) gets a
    FakeQuant with the source's range: an exact identity on values that are
    already on that grid, so the graph computes the same numbers.

    Args:
      graph_def: a frozen GraphDef.

    Returns:
      A new GraphDef (the same one when it has no FakeQuant).
    """
    graph_def = copy.deepcopy(graph_def)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
    nodes = {node.name: node for node in graph_def.node}
    # (FakeQuant node whose range to copy, tensor it fixes): its readers
    # are visited.
    pending = [(nodes[op.name], op.outputs[0])
               for op in graph.get_operations()
               if op.type == FAKE_QUANT_OP and
               op.inputs[0].dtype == tf.float32]
    added = []
    while pending:
        source, tensor = pending.pop()
        movers = {op.name: op for op in tensor.consumers()
                  if op.type in DATA_MOVEMENT_OPS}
        for _, mover in sorted(movers.items()):
            for index, output in enumerate(mover.outputs):
                name = "%s/learnt_range_%d" % (mover.name, index)
                if output.dtype != tf.float32 or name in nodes:
                    continue
                for reader in output.consumers():
                    node = nodes[reader.name]
                    node.input[:] = [name if tensor_name(i) == output.name
                                     else i for i in node.input]
                copy_node = tf.NodeDef(name=name, op=FAKE_QUANT_OP)
                copy_node.input.extend([output.name] + list(source.input[1:3]))
                for key in ("num_bits", "narrow_range"):
                    copy_node.attr[key].CopyFrom(source.attr[key])
                nodes[name] = copy_node
                added.append(copy_node)
                pending.append((copy_node, output))
    graph_def.node.extend(added)
    return graph_def


def tensor_name(graph_input):
    """NodeDef input string ("node" or "node:1") to a tensor name."""
    return graph_input if ":" in graph_input else graph_input + ":0"
