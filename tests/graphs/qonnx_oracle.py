"""An independent oracle for bnncc's QONNX reference: the ``qonnx`` package's own executor.

bnncc checks its compiler against onnxruntime running bnncc's rewrite of the custom QONNX ops
into standard ONNX (:mod:`bnncc.reference`). That rewrite is bnncc's own code, so here the same
model also runs in ``qonnx.core.onnx_exec.execute_onnx`` (qonnx's numpy implementations of
``Quant``, ``BipolarQuant``, ``Trunc``, ``MultiThreshold``; onnxruntime node by node for the
rest), and the two are compared on the model outputs and on the output of every quantizer.

A sample *agrees* when every compared tensor is equal within float32 round-off, is a *tie*
when the first quantizer (in node order) where it differs has its input exactly on a rounding
boundary there (``x / scale`` within 1e-4 of ``k + 1/2`` for half-step modes, of ``k`` for
FLOOR / CEIL / UP / DOWN: float32 in one engine and float64 in the other may round either
way), and is a *mismatch* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx

QUANT_OPS = ("Quant", "IntQuant", "BipolarQuant", "Trunc", "MultiThreshold")
HALF_STEP = ("ROUND", "HALF_EVEN", "HALF_UP", "HALF_DOWN")


@dataclass
class OracleReport:
    samples: int
    agree: int = 0
    ties: int = 0
    mismatches: int = 0
    tensors: int = 0
    first_mismatch: str = ""
    worst: dict = field(default_factory=dict)  # tensor -> max |difference|

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def _fixed_batch(model: onnx.ModelProto, batch: int) -> onnx.ModelProto:
    """A copy whose graph inputs and outputs have batch size ``batch`` (qonnx's executor
    allocates every tensor up front and needs concrete shapes)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    inits = {i.name for i in model.graph.initializer}
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name in inits:
            continue
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_param")
            dims[0].dim_value = batch
    del model.graph.value_info[:]
    return model


def _run_batch(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.infer_shapes import InferShapes

    batch = next(iter(inputs.values())).shape[0]
    wrapper = ModelWrapper(_fixed_batch(model, batch)).transform(InferShapes())
    if not wrapper.check_all_tensor_shapes_specified():
        # Constant nodes feeding Reshape: qonnx folds them (with its own executor) first.
        wrapper = wrapper.transform(FoldConstants()).transform(InferShapes())
    return execute_onnx(wrapper, {k: np.asarray(v, np.float32) for k, v in inputs.items()}, return_full_exec_context=True)


def run_qonnx(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor of ``model`` on ``inputs`` in qonnx's executor, batched along the first
    axis. A model whose input declares a fixed batch size (Brevitas writes 1, with a
    ``Reshape`` to ``(1, -1)`` inside) runs in chunks of that size."""
    inits = {i.name for i in model.graph.initializer}
    first = next(v for v in model.graph.input if v.name not in inits)
    fixed = first.type.tensor_type.shape.dim[0].dim_value if first.type.tensor_type.shape.dim else 0
    samples = next(iter(inputs.values())).shape[0]
    if not fixed or fixed == samples:
        return _run_batch(model, inputs)
    chunks = [_run_batch(model, {k: v[i : i + fixed] for k, v in inputs.items()}) for i in range(0, samples, fixed)]
    merged = {}
    for name, value in chunks[0].items():
        if any(name not in c for c in chunks):
            continue  # a tensor qonnx's own transformations named at random
        value = np.asarray(value)
        batched = value.ndim > 0 and value.shape[0] == fixed and name not in inits
        merged[name] = np.concatenate([np.asarray(c[name]) for c in chunks]) if batched else value
    return merged


def _is_tie(node: onnx.NodeProto, context: dict, sample: int, where: np.ndarray) -> bool:
    if node.op_type == "BipolarQuant":
        x = context[node.input[0]][sample]
        return bool(np.all(np.abs(x[where]) < 1e-5))
    mode = "ROUND"
    for attr in node.attribute:
        if attr.name == "rounding_mode":
            mode = attr.s.decode().upper()
    x = context[node.input[0]][sample].astype(np.float64)
    scale = np.broadcast_to(np.asarray(context[node.input[1]], np.float64), context[node.input[0]].shape)[sample]
    zero = np.asarray(context[node.input[2]], np.float64)
    v = (x / scale + zero)[where]
    boundary = np.floor(v) + 0.5 if mode in HALF_STEP else np.round(v)
    return bool(np.all(np.abs(v - boundary) < 1e-4))


def compare_with_qonnx(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> OracleReport:
    """onnxruntime on bnncc's rewrite against qonnx's executor, sample by sample."""
    from bnncc.reference.runner import ReferenceRunner

    quantizers = [n for n in model.graph.node if n.op_type in QUANT_OPS]
    weights = {i.name for i in model.graph.initializer}
    # Quantizers of activations (their input depends on the model input) and the outputs.
    active = [n for n in quantizers if n.input[0] not in weights]
    names = [n.output[0] for n in active]
    outputs = [o.name for o in model.graph.output]
    reference = ReferenceRunner(model, extra_outputs=[t for t in names if t not in outputs]).run(inputs)
    context = run_qonnx(model, inputs)
    samples = next(iter(inputs.values())).shape[0]
    report = OracleReport(samples=samples, tensors=len(set(names + outputs)))
    producer = {n.output[0]: n for n in active}
    order = names + [o for o in outputs if o not in names]
    for name in order:
        report.worst[name] = float(np.max(np.abs(np.asarray(reference[name], np.float64) - context[name])))
    for sample in range(samples):
        verdict = "agree"
        for name in order:
            mine = np.asarray(reference[name][sample], np.float64)
            theirs = np.asarray(context[name][sample], np.float64)
            close = np.isclose(mine, theirs, rtol=1e-5, atol=1e-6 * max(1.0, float(np.max(np.abs(theirs)))))
            if close.all():
                continue
            node = producer.get(name)
            if node is not None and _is_tie(node, context, sample, ~close):
                verdict = "tie"
            else:
                verdict = "mismatch"
                if not report.first_mismatch:
                    where = tuple(int(i) for i in np.argwhere(~close)[0])
                    report.first_mismatch = (
                        f"sample {sample}, tensor '{name}' at {where}: bnncc reference {mine[where]!r}, qonnx {theirs[where]!r}"
                    )
            break
        if verdict == "agree":
            report.agree += 1
        elif verdict == "tie":
            report.ties += 1
        else:
            report.mismatches += 1
    return report
