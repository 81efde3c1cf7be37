"""IR -> IR passes, one concern each; :mod:`bnncc.passes.pipeline` runs them in order."""

from bnncc.passes.base import Pass, PassResult

__all__ = ["Pass", "PassResult"]
