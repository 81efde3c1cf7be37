"""The exceptions bnncc raises for bad input, and how unexpected ones are attributed.

Every error a user can cause is a :class:`BnnccError`; the command line prints its message on
one line and exits with its ``exit_code``. Anything else is a bug in bnncc: the command line
prints ``internal error in <stage>: <type>: <message>`` and exits with
:data:`EXIT_INTERNAL` (the traceback with ``--debug``). The stage is the pass or step that
was running, recorded by :func:`stage` as the exception passes through it.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import TracebackType
from typing import Iterator

#: Exit codes of every command.
EXIT_OK = 0
EXIT_FAILURE = 1      # the model cannot be handled, verification found a mismatch, a tool failed
EXIT_USAGE = 2        # bad option or option value (click's own usage errors too)
EXIT_INTERNAL = 3     # a bug in bnncc
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

#: Attribute under which :func:`stage` records the stage on an unexpected exception.
STAGE_ATTRIBUTE = "bnncc_stage"


class BnnccError(Exception):
    """Base class: a problem with the user's model, files or options."""

    exit_code = EXIT_FAILURE


class ModelLoadError(BnnccError):
    """The file is missing, not ONNX, truncated, or its external data cannot be read."""


class UnsupportedModelError(BnnccError):
    """The model is valid ONNX but uses something bnncc cannot compile."""


class UnsupportedOpError(UnsupportedModelError):
    """A node has an op type (or attribute) that bnncc does not support."""


class ShapeError(BnnccError):
    """Tensor shapes do not fit together (bad input file, dynamic dimension, ...)."""


class VerificationError(BnnccError):
    """Two engines disagree on a model's result."""


class ToolError(BnnccError):
    """An external tool (Verilator, Yosys, nextpnr, a packer, Vivado) failed or is missing."""


class UsageError(BnnccError):
    """A command-line option has a value that cannot be used."""

    exit_code = EXIT_USAGE


def _pass_in_traceback(traceback: TracebackType | None) -> str | None:
    """The name of the innermost compiler pass whose ``run`` is in ``traceback``."""
    from bnncc.passes.base import Pass

    name = None
    while traceback is not None:
        owner = traceback.tb_frame.f_locals.get("self")
        if isinstance(owner, Pass):
            name = owner.name
        traceback = traceback.tb_next
    return name


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Record ``name`` (or the pass running inside it) as the stage of an unexpected
    exception that leaves this block; the innermost record wins. :class:`BnnccError` and
    interrupts pass through untouched."""
    try:
        yield
    except BnnccError:
        raise
    except Exception as exc:
        if getattr(exc, STAGE_ATTRIBUTE, None) is None:
            try:
                setattr(exc, STAGE_ATTRIBUTE, _pass_in_traceback(exc.__traceback__) or name)
            except AttributeError:  # an exception type that refuses new attributes
                pass
        raise


def stage_of(exc: BaseException, default: str) -> str:
    """The stage recorded on ``exc`` by :func:`stage`, else the pass in its traceback, else
    ``default``."""
    return getattr(exc, STAGE_ATTRIBUTE, None) or _pass_in_traceback(exc.__traceback__) or default


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line (whitespace runs become one space), cut at ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def internal_error_line(exc: BaseException, default_stage: str) -> str:
    """``internal error in <stage>: <ExceptionType>: <message>`` on one line."""
    message = one_line(str(exc))
    kind = type(exc).__name__
    return f"internal error in {stage_of(exc, default_stage)}: {kind}: {message}" if message else \
        f"internal error in {stage_of(exc, default_stage)}: {kind}"
