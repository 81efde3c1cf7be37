"""Resource estimates of rtl_lib instances: :func:`estimate_link` (see :mod:`bnncc.estimate.model`)."""

from bnncc.estimate.model import estimate_link

__all__ = ["estimate_link"]
