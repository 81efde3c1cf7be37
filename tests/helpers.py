"""Building small ONNX models and running them through onnxruntime and bnncc."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from bnncc.executor import Executor
from bnncc.frontend import import_model

QONNX = "qonnx.custom_op.general"


def make_model(nodes, inputs, outputs, initializers=None, opset=13, custom_domains=(QONNX,)):
    """A model with IR version 10 and the given nodes.

    ``inputs``/``outputs``: lists of (name, shape) with float32 element type, or ValueInfoProtos;
    ``initializers``: dict name -> numpy array.
    """
    def value_info(item, elem=onnx.TensorProto.FLOAT):
        if isinstance(item, onnx.ValueInfoProto):
            return item
        name, shape = item
        return helper.make_tensor_value_info(name, elem, shape)

    graph = helper.make_graph(
        nodes,
        "test",
        [value_info(i) for i in inputs],
        [value_info(o) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()],
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in custom_domains]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 10
    return model


def oracle_options() -> ort.SessionOptions:
    """Session options of every onnxruntime oracle: no graph optimization, so each node runs
    as written (onnxruntime's QDQ fusions return wrong numbers for a per-channel int8 MatMul
    on some CPUs, and any fusion moves where float rounding happens)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    return options


def run_onnxruntime(model, inputs):
    """Run a standard-ops model in onnxruntime (graph optimizations disabled), one call for
    the whole batch."""
    session = ort.InferenceSession(model.SerializeToString(), sess_options=oracle_options(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def run_bnncc(model, inputs, require_quantization=False):
    """Import ``model`` and run the executor."""
    graph = import_model(model, require_quantization=require_quantization)
    return Executor(graph).run(inputs), graph


def assert_equivalent(before, after, samples=64, seed=0, low=-1.0, high=1.0, tensors=()):
    """The executor gives identical graph outputs (and named tensors) on random inputs."""
    from bnncc.verify.inputs import random_inputs

    inputs = random_inputs(before, samples, seed, low, high)
    keep = [t for t in tensors if t in after.tensors]
    first = Executor(before).run(inputs, keep=keep)
    second = Executor(after).run(inputs, keep=keep)
    for name in list(before.outputs) + keep:
        np.testing.assert_allclose(second[name], first[name], rtol=1e-9, atol=1e-9, err_msg=name)


def assert_exact_in_rtl(model, tmp_path, samples: int = 20, seed: int = 9, stall: int = 30, ii_tolerance: float = 0.02):
    """Compile ``model`` (default folding) into ``tmp_path / "build"``, verify it at every pass
    and in Verilator under ``stall`` % random stalls on both sides: every sample exact in RTL,
    the measured initiation interval within ``ii_tolerance`` of the analytic one. Returns the
    verification result."""
    from bnncc.compile import compile_model
    from bnncc.verify.run import verify_model

    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    build = tmp_path / "build"
    compile_model(path, output=build)
    result = verify_model(path, samples=samples, seed=seed, build_dir=build, stall=stall)
    assert result.ok, result.table()
    assert result.rtl.exact == samples
    analytic = result.rtl.analytical_ii_cycles
    assert abs(result.rtl.measured_ii_cycles - analytic) <= ii_tolerance * analytic, result.rtl
    return result


def assert_build_exact_in_rtl(model_path, build_dir, samples: int, seed: int, stall: int, **options):
    """Verify the compiled ``build_dir`` of ``model_path`` (rebuilt from its folding.json) under
    ``stall`` % random stalls: every sample exact in RTL, the measured initiation interval
    within 2 % of the analytic one and the report's first-frame latency within 10 % of the
    co-simulated one. ``options`` go to ``verify_model``. Returns the verification result."""
    import json

    from bnncc.verify.run import verify_model

    verified = verify_model(model_path, samples=samples, seed=seed, build_dir=build_dir, stall=stall, **options)
    assert verified.ok, verified.table()
    assert verified.rtl.exact == samples
    analytic = verified.rtl.analytical_ii_cycles
    assert abs(verified.rtl.measured_ii_cycles - analytic) <= 0.02 * analytic, verified.table()
    estimate = json.loads((build_dir / "report.json").read_text())["latency_cycles"]
    measured = verified.rtl.first_frame_latency_cycles
    assert abs(estimate - measured) <= 0.10 * measured, (estimate, measured)
    return verified
