"""First-frame latency of a stitched design, estimated from each stage's stream pattern.

Input beats of a frame are taken to arrive evenly between the first and the last beat's
arrival times ``a0 <= a1``. A stage that needs ``h`` of its ``n`` input beats before its first
output, works through a frame in ``c`` cycles, and still has ``t`` cycles of work after its
last input beat then emits

    first output at  f = a0 + (a1 - a0) * h / n + d
    last output at   l = max(a1 + t, a0 + c) + d

with ``d`` cycles of register delay (the FIFO in front and the stage's own pipeline). The
next stage receives its first and last beats at (f, l). The design's latency is the last
stage's ``l`` with the first input beat at 0 and the input streamed at full rate (a1 = the
first stage's input beats).

Per module (beats in the stage's own input beats):

* MVAU: h = MW / SIMD (one input vector), t = (MH / PE) * (MW / SIMD) (the last vector);
* sliding window: h = the rows and pixels up to the first window's last pixel, t = the output
  beats of the last output row;
* max pool: h = one window's rows, t = one output row;
* thresholding: h = 1, t = 1; label select: h = n (it reads every score), t = K.
"""

from __future__ import annotations

from bnncc.hw.stage import StageRTL

#: Register stages per link: FIFO output register plus the stage's own pipeline.
DELAY = 4


def _head_tail(stage: StageRTL) -> tuple[int, int]:
    p = stage.parameters
    if stage.module == "mvau":
        sf = p["MW"] // p["SIMD"]
        return sf, (p["MH"] // p["PE"]) * sf
    if stage.module == "sliding_window":
        per_pixel = p["IFM_CH"] // p["SIMD"]
        rows = max(0, p["K_H"] - 1 - p["PAD_T"])
        pixels = rows * p["IFM_W"] + max(1, p["K_W"] - p["PAD_L"])
        out_w = stage.out_beats // max(1, _out_rows(stage))
        return pixels * per_pixel, out_w
    if stage.module == "streaming_maxpool":
        per_pixel = p["CH"] // p["PE"]
        rows = max(1, p["K_H"] - p["PAD_T"])
        return rows * p["W"] * per_pixel, stage.out_beats // max(1, _out_rows(stage))
    if stage.module == "label_select":
        return stage.in_beats, p["K"]
    return 1, 1


def _out_rows(stage: StageRTL) -> int:
    p = stage.parameters
    height = p.get("IFM_H", p.get("H", 1))
    kernel, stride = p["K_H"], p["STRIDE_H"]
    return max(1, (height + p["PAD_T"] + p["PAD_B"] - kernel) // stride + 1)


def first_frame_latency(stages: list[StageRTL]) -> int:
    """Estimated cycles from the first input beat to the last output beat of one frame."""
    first, last = 0.0, float(max(1, stages[0].in_beats))
    for stage in stages:
        head, tail = _head_tail(stage)
        beats = max(1, stage.in_beats)
        first, last = (first + (last - first) * min(head, beats) / beats + DELAY,
                       max(last + tail, first + stage.cycles) + DELAY)
    return int(round(last))
