"""Verification: onnxruntime on the original model against the executor on every stage."""

from bnncc.verify.compare import StageReport, compare_stage
from bnncc.verify.run import VerifyResult, partial_result, verify_model

__all__ = ["StageReport", "compare_stage", "VerifyResult", "partial_result", "verify_model"]
