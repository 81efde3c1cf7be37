"""The term builders of every rtl_lib module (see :mod:`bnncc.estimate.terms`)."""

from __future__ import annotations

from bnncc.estimate.elementwise import label_select, thresholding
from bnncc.estimate.mvau import mvau
from bnncc.estimate.streams import stream_fifo, width_converter
from bnncc.estimate.window import sliding_window, streaming_maxpool

TERMS = {
    "mvau": mvau,
    "thresholding": thresholding,
    "sliding_window": sliding_window,
    "streaming_maxpool": streaming_maxpool,
    "label_select": label_select,
    "stream_fifo": stream_fifo,
    "width_converter": width_converter,
}
