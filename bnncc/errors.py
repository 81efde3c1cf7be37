"""The exceptions bnncc raises for bad input.

Every error a user can cause is a :class:`BnnccError`; the command line prints its message on
one line and exits with its ``exit_code``. Internal bugs are not ``BnnccError`` and keep their
traceback.
"""


class BnnccError(Exception):
    """Base class: a problem with the user's model, files or options."""

    exit_code = 1


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


class UsageError(BnnccError):
    """A command-line option has a value that cannot be used."""

    exit_code = 2
