"""``bnncc compile``: import, run the pass pipeline, write the results."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bnncc.frontend import load_graph
from bnncc.ir.export import save_ir
from bnncc.ir.graph import Graph
from bnncc.passes.pipeline import Stage, run_pipeline


@dataclass
class CompileResult:
    """The stages a compile went through and the files it wrote."""

    model: str
    stages: list[Stage]
    files: list[str] = field(default_factory=list)

    @property
    def final(self) -> Graph:
        return self.stages[-1].graph

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "stages": [
                {"name": s.name, "rewrites": len(s.result.notes) if s.result else 0, "operations": s.graph.op_count()}
                for s in self.stages
            ],
            "partition": self.final.metadata.get("partition"),
            "files": self.files,
        }


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, so a failure never leaves a
    half-written file behind."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def compile_model(
    path: Path,
    output: Path | None = None,
    dump_ir: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> CompileResult:
    """Compile the model at ``path``; write the final IR and host steps into ``output`` and
    one ONNX file per stage into ``dump_ir``."""
    graph = load_graph(path)
    stages = run_pipeline(graph, log=log)
    result = CompileResult(model=str(path), stages=stages)
    if dump_ir is not None:
        dump_ir.mkdir(parents=True, exist_ok=True)
        for index, stage in enumerate(stages):
            target = dump_ir / f"{index:02d}_{stage.name}.onnx"
            save_ir(stage.graph, target)
            result.files.append(str(target))
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        final = output / "model_hw.onnx"
        save_ir(result.final, final)
        result.files.append(str(final))
        host = _host_steps(result.final)
        if host is not None:
            target = output / "host_steps.json"
            write_text(target, json.dumps(host, indent=2) + "\n")
            result.files.append(str(target))
    return result


def _host_steps(graph: Graph) -> dict | None:
    if "partition" not in graph.metadata:
        return None
    from bnncc.passes.host_steps import describe_host_steps

    return describe_host_steps(graph)
