# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""A converted serving graph rewritten for ONNX Runtime's CPU kernels.

Two rewrites, each exact up to float rounding: fuse_attention and
fold_no_norm.

tf2onnx writes each layer's self-attention the way the TensorFlow graph
computes it, eleven ops of which only two do arithmetic worth the name
(W: all heads' width, N heads of H, S the sequence length):

    qkv [B*S, 3W] -Reshape-> [B, S, 3N, H] -Transpose(0,2,1,3)-> -Split->
    q, k, v [B, N, S, H]       (qkv: one MatMul, or three joined by Concat)
    scores = MatMul(q, Transpose(k)) * scale + adder          [B, N, S, S]
    context = MatMul(Softmax(scores), v)                       [B, N, S, H]
    -Transpose(0,2,1,3)-> -Reshape-> [B*S, W]

where adder = (1 - input_mask) * mask_value, from the graph input. Each
such chain becomes ONNX Runtime's contrib op MultiHeadAttention on q, k, v
[B, S, W] with input_mask as its key padding mask: the same arithmetic in
one kernel (no transposes, the mask added inside, heads spread over the
intra-op threads). Only ONNX Runtime runs the result, so the exports apply
it to the int8 model (already ONNX Runtime's own) and leave model.onnx
portable.

A chain that does not match exactly (other ops, row groups, a mask built
from something else) is left as it is.

fold_no_norm moves MobileBERT's NoNorm (x * gamma + beta, per channel)
into the dense layer before it, where that is exact algebra:

    NoNorm(x W + b)      = x (W gamma) + (b gamma + beta)
    NoNorm(x W + b + r)  = x (W gamma) + (b gamma + beta) + r * gamma

(the first after a bottleneck, the second after a residual sum; the bias
add runs inside ONNX Runtime's MatMul kernels either way), so two
elementwise ops become none, or three become two. Scaling a
kernel's columns changes how a per-tensor int8 scale fits them, so the
exports quantize a folded model per channel: each column then gets the same
int8 values it had before the fold.
"""

import collections

import numpy as np

CONTRIB_DOMAIN = "com.microsoft"
# Ops between the mask adder and the input_mask graph input.
MASK_PATH_OPS = ("Mul", "Sub", "Cast", "Reshape", "Unsqueeze", "Expand")

# One matched chain: the nodes it replaces, where q, k and v come from
# ((projection [B*S, parts * W], part, parts) each), the score scale, the
# value added at padding keys, the mask input and the context's name.
Attention = collections.namedtuple(
    "Attention", ["removed", "sources", "scale", "mask_value", "mask_input",
                  "output"])


class Graph(object):
    """Producer, consumer and constant lookups over an ONNX GraphProto."""

    def __init__(self, graph):
        from onnx import numpy_helper  # pylint: disable=import-outside-toplevel
        self.graph = graph
        self.producer = {out: node for node in graph.node
                         for out in node.output}
        self.consumers = collections.defaultdict(list)
        for node in graph.node:
            for name in node.input:
                self.consumers[name].append(node)
        self.initializers = {init.name: init for init in graph.initializer}
        self._to_array = numpy_helper.to_array

    def const(self, name):
        """The value of an initializer or Constant output, else None."""
        if name in self.initializers:
            return self._to_array(self.initializers[name])
        node = self.producer.get(name)
        if node is not None and node.op_type == "Constant":
            return self._to_array(node.attribute[0].t)
        return None

    def source(self, name, op_type):
        """The node producing `name` if it is an `op_type`, else None."""
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None

    def only_consumer(self, name, op_type):
        """The single node reading `name` if it is an `op_type`."""
        readers = self.consumers.get(name, [])
        if len(readers) == 1 and readers[0].op_type == op_type:
            return readers[0]
        return None


def attribute(node, name):
    """A node attribute's value, or None."""
    from onnx import helper  # pylint: disable=import-outside-toplevel
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return None


def head_source(graph, name):
    """Where one of q, k, v [B, N, S, H] comes from.

    Returns:
      (nodes, (projection output [B*S, width], part, parts)) for
      Reshape -> Transpose(0,2,1,3) [-> Split on the heads axis, part of
      parts], or None.
    """
    split = graph.source(name, "Split")
    part, parts = 0, 1
    if split is not None:
        if attribute(split, "axis") != 1 or len(split.input) != 1:
            return None
        part, parts = list(split.output).index(name), len(split.output)
        name = split.input[0]
    transpose = graph.source(name, "Transpose")
    if transpose is None or attribute(transpose, "perm") != [0, 2, 1, 3]:
        return None
    reshape = graph.source(transpose.input[0], "Reshape")
    if reshape is None:
        return None
    nodes = [n for n in (split, transpose, reshape) if n is not None]
    return nodes, (reshape.input[0], part, parts)


def mask_value(graph, adder_name, mask_input):
    """The value added at padding keys, if `adder_name` is
    (1 - mask_input) * value; else None."""
    adder = graph.source(adder_name, "Mul")
    if adder is None:
        return None
    values = [graph.const(name) for name in adder.input]
    constants = [v for v in values if v is not None and v.size == 1]
    if len(constants) != 1:
        return None
    seen, frontier = set(), [n for n in adder.input
                             if graph.const(n) is None]
    while frontier:
        name = frontier.pop()
        if name == mask_input:
            return float(constants[0].reshape(()))
        node = graph.producer.get(name)
        if node is None or node.op_type not in MASK_PATH_OPS or name in seen:
            continue
        seen.add(name)
        frontier.extend(n for n in node.input if graph.const(n) is None)
    return None


def match_attention(graph, softmax, mask_input):
    """The Attention of the chain around one Softmax node, or None."""
    # pylint: disable=too-many-return-statements
    add = graph.source(softmax.input[0], "Add")
    scaled = add and graph.source(add.input[0], "Mul")
    scale = scaled and graph.const(scaled.input[1])
    if scale is None or scale.size != 1:
        return None
    scores = graph.source(scaled.input[0], "MatMul")
    key_t = scores and graph.source(scores.input[1], "Transpose")
    if key_t is None or attribute(key_t, "perm") != [0, 1, 3, 2]:
        return None
    weighted = graph.only_consumer(softmax.output[0], "MatMul")
    back = weighted and graph.only_consumer(weighted.output[0], "Transpose")
    if back is None or attribute(back, "perm") != [0, 2, 1, 3]:
        return None
    joined = graph.only_consumer(back.output[0], "Reshape")
    filler = mask_value(graph, add.input[1], mask_input)
    if joined is None or filler is None or weighted.input[0] != \
            softmax.output[0]:
        return None
    sources = [head_source(graph, name) for name in
               (scores.input[0], key_t.input[0], weighted.input[1])]
    if None in sources:
        return None
    removed = [add, scaled, scores, key_t, softmax, weighted, back, joined]
    for nodes, _ in sources:
        removed.extend(nodes)
    return Attention(removed=removed, sources=[s for _, s in sources],
                     scale=float(scale.reshape(())), mask_value=filler,
                     mask_input=mask_input, output=joined.output[0])


def sequence_length(model):
    """The fixed length of the model's input_ids, or None."""
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if value.name == "input_ids" and len(dims) == 2 and \
                dims[1].HasField("dim_value"):
            return dims[1].dim_value
    return None


def fuse_attention(model, seq_length, mask_input="input_mask"):
    """Replaces every matching self-attention chain of `model` in place.

    Args:
      model: an onnx.ModelProto from tf2onnx (finetune.onnx_export.convert).
      seq_length: the fixed sequence length of the model's inputs.
      mask_input: the graph input the attention mask is built from.

    Returns:
      The number of chains replaced.
    """
    from onnx import helper  # pylint: disable=import-outside-toplevel
    graph = Graph(model.graph)
    matches = [m for m in (match_attention(graph, node, mask_input)
                           for node in model.graph.node
                           if node.op_type == "Softmax") if m is not None]
    removed, added, fused = set(), [], 0
    for index, match in enumerate(matches):
        prefix = "fused_attention_%d" % index
        nodes = attention_nodes(graph, match, prefix, seq_length)
        if nodes is None:
            continue
        added.extend(nodes)
        removed.update(id(node) for node in match.removed)
        fused += 1
    if not fused:
        return 0
    replace_nodes(model.graph, removed, added)
    if not any(o.domain == CONTRIB_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(CONTRIB_DOMAIN, 1))
    return fused


def attention_nodes(graph, match, prefix, seq_length):
    """The nodes that compute `match` with MultiHeadAttention, or None."""
    # pylint: disable=import-outside-toplevel
    from onnx import TensorProto
    from onnx import helper
    widths = set()
    for projection, _, parts in match.sources:
        total = projection_width(graph, projection)
        if total is None or total % parts:
            return None
        widths.add(total // parts)
    head_size = int(round(match.scale ** -2))
    if len(widths) != 1 or not head_size:
        return None
    (width,) = widths
    if width % head_size:
        return None
    nodes, inputs, split_outputs = [], [], {}
    for projection, part, parts in match.sources:
        if projection not in split_outputs:
            split_outputs[projection] = split_projection(
                nodes, graph, prefix + "/%d" % len(split_outputs),
                projection, seq_length, width, parts)
        inputs.append(split_outputs[projection][part])
    nodes.append(helper.make_node(
        "MultiHeadAttention", inputs + ["", match.mask_input],
        [prefix + "/context"], prefix, domain=CONTRIB_DOMAIN,
        num_heads=width // head_size, scale=match.scale,
        mask_filter_value=match.mask_value))
    # Shape inference knows no contrib op: the context's type is given.
    graph.graph.value_info.append(helper.make_tensor_value_info(
        prefix + "/context", TensorProto.FLOAT, ["batch", seq_length, width]))
    nodes.append(helper.make_node(
        "Reshape", [prefix + "/context",
                    add_constant(graph, prefix + "/rows", [-1, width])],
        [match.output], prefix + "/rows"))
    return nodes


def joined_parts(graph, name):
    """The inputs of the Concat (on the last axis of [B*S, width])
    producing `name`, or None."""
    concat = graph.source(name, "Concat")
    if concat is None or attribute(concat, "axis") not in (1, -1):
        return None
    return list(concat.input)


def projection_width(graph, name):
    """The width of a projection output [B*S, width]: the length of its
    bias (Add) or, without one, its kernel's columns (MatMul); the sum of
    those of the projections a Concat joins."""
    parts = joined_parts(graph, name)
    if parts:
        widths = [projection_width(graph, part) for part in parts]
        return None if None in widths else sum(widths)
    node = graph.producer.get(name)
    if node is None or node.op_type not in ("Add", "MatMul"):
        return None
    for operand in node.input:
        value = graph.const(operand)
        if value is not None and value.ndim == (1 if node.op_type == "Add"
                                                else 2):
            return int(value.shape[-1])
    return None


def split_projection(nodes, graph, prefix, projection, seq_length, width,
                     parts):
    """Appends Reshape [B, S, parts * width] (and Split) nodes; returns the
    names of the `parts` tensors [B, S, width]. Projections joined by a
    Concat (too wide to share a kernel) are reshaped one by one."""
    from onnx import helper  # pylint: disable=import-outside-toplevel
    joined = joined_parts(graph, projection)
    if joined and len(joined) == parts and parts > 1:
        shape = add_constant(graph, prefix + "/shape",
                             [-1, seq_length, width])
        outputs = ["%s/part_%d" % (prefix, i) for i in range(parts)]
        for i, (part, output) in enumerate(zip(joined, outputs)):
            nodes.append(helper.make_node("Reshape", [part, shape], [output],
                                          "%s/Reshape_%d" % (prefix, i)))
        return outputs
    shape = add_constant(graph, prefix + "/shape",
                         [-1, seq_length, parts * width])
    nodes.append(helper.make_node("Reshape", [projection, shape],
                                  [prefix + "/sequence"], prefix + "/Reshape"))
    if parts == 1:
        return [prefix + "/sequence"]
    outputs = ["%s/part_%d" % (prefix, i) for i in range(parts)]
    sizes = add_constant(graph, prefix + "/sizes", [width] * parts)
    nodes.append(helper.make_node("Split", [prefix + "/sequence", sizes],
                                  outputs, prefix + "/Split", axis=2))
    return outputs


def add_constant(graph, name, values, dtype=np.int64):
    """Adds an initializer (int64: a shape or sizes); returns its name."""
    from onnx import numpy_helper  # pylint: disable=import-outside-toplevel
    graph.graph.initializer.append(
        numpy_helper.from_array(np.asarray(values, dtype), name))
    return name


def replace_nodes(graph, removed, added):
    """Drops the nodes whose id() is in `removed`, adds `added`, puts the
    nodes in topological order and prunes what no output needs."""
    kept = [node for node in graph.node if id(node) not in removed]
    ordered = topological_order(kept + added, graph)
    del graph.node[:]
    graph.node.extend(ordered)
    prune(graph)


def topological_order(nodes, graph):
    """`nodes` sorted so that every input is produced before it is read."""
    ready = {value.name for value in graph.input}
    ready.update(init.name for init in graph.initializer)
    ready.add("")
    ordered, pending = [], list(nodes)
    while pending:
        waiting = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            raise ValueError("fused graph: no producer for the inputs of %s"
                             % waiting[0].name)
        pending = waiting
    return ordered


def prune(graph):
    """Drops the nodes, initializers and value infos no graph output
    depends on."""
    needed = {value.name for value in graph.output}
    kept = []
    for node in reversed(list(graph.node)):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(node.input)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    used = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)
    produced = {name for node in kept for name in node.output}
    known = [info for info in graph.value_info if info.name in produced]
    del graph.value_info[:]
    graph.value_info.extend(known)


def fold_no_norm(model):
    """Folds every NoNorm after a dense layer into its kernel and bias.

    Args:
      model: an onnx.ModelProto from tf2onnx; changed in place (new
        initializers; the old ones are pruned when unused).

    Returns:
      The number of NoNorms folded.
    """
    graph = Graph(model.graph)
    removed, added, folded = set(), [], 0
    for node in list(model.graph.node):
        match = match_no_norm(graph, node)
        if match is None:
            continue
        dense, bias, residual_add, scale, shift = match
        gamma = graph.const(scale.input[1])
        dense.input[1] = add_constant(
            graph, dense.name + "/folded_kernel",
            graph.const(dense.input[1]) * gamma, np.float32)
        bias.input[1] = add_constant(
            graph, dense.name + "/folded_bias",
            graph.const(bias.input[1]) * gamma + graph.const(shift.input[1]),
            np.float32)
        if residual_add is None:
            bias.output[0] = shift.output[0]
        else:
            added.append(scaled_residual(residual_add, bias, scale))
            residual_add.output[0] = shift.output[0]
        removed.update((id(scale), id(shift)))
        folded += 1
    if folded:
        replace_nodes(model.graph, removed, added)
    return folded


def match_no_norm(graph, dense):
    """(dense, bias Add, residual Add or None, Mul by gamma, Add of beta)
    when `dense` is MatMul -> bias [-> + residual] -> * gamma -> + beta,
    each step the only reader of the one before; else None."""
    kernel = graph.const(dense.input[1]) if dense.op_type == "MatMul" \
        else None
    if kernel is None or kernel.ndim != 2:
        return None
    bias = graph.only_consumer(dense.output[0], "Add")
    if bias is None or not is_vector(graph, bias.input[1], kernel.shape[1]):
        return None
    residual_add = graph.only_consumer(bias.output[0], "Add")
    after = residual_add.output[0] if residual_add is not None \
        else bias.output[0]
    if residual_add is not None and (
            residual_add.input[0] != bias.output[0] or
            graph.const(residual_add.input[1]) is not None):
        return None
    scale = graph.only_consumer(after, "Mul")
    shift = scale and graph.only_consumer(scale.output[0], "Add")
    if shift is None or scale.input[0] != after or \
            shift.input[0] != scale.output[0]:
        return None
    if not (is_vector(graph, scale.input[1], kernel.shape[1]) and
            is_vector(graph, shift.input[1], kernel.shape[1])):
        return None
    return dense, bias, residual_add, scale, shift


def is_vector(graph, name, length):
    """Whether `name` is a constant vector of `length` values."""
    value = graph.const(name)
    return value is not None and value.shape == (length,)


def scaled_residual(residual_add, bias, scale):
    """Rewires `residual_add` to read residual * gamma; returns that Mul."""
    from onnx import helper  # pylint: disable=import-outside-toplevel
    residual = residual_add.input[1]
    scaled = residual_add.name + "/scaled_residual"
    residual_add.input[:] = [bias.output[0], scaled]
    return helper.make_node("Mul", [residual, scale.input[1]], [scaled],
                            scaled)
