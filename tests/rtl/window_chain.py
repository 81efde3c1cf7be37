"""A test wrapper of ``sliding_window`` feeding a window consumer (``pool_sum``, ``vvau``),
so a test can check the two modules together against ``Im2Col`` and the consumer's op."""

from __future__ import annotations


def window_chain(top: str, consumer: str, consumer_parameters: dict, *, c: int, h: int, w: int, k: int, s: int, p: int,
                 pe: int, bits: int, out_width: int) -> str:
    """Verilog of module ``top``: a KxK ``sliding_window`` (stride ``s``, padding ``p`` of 0,
    ``pe`` elements of ``bits`` bits per output beat over ``c`` channels of an ``h`` x ``w``
    image; a multiple of ``c`` above it: several kernel positions per beat, the parallel mode,
    whole pixels in) whose windows stream into ``consumer`` with ``consumer_parameters``;
    ``out_width`` bits per output beat."""
    din = min(pe, c) * bits
    dwin = pe * bits
    overrides = ", ".join(f".{name}({value})" for name, value in consumer_parameters.items())
    return f"""`default_nettype none
module {top} (
    input  wire ap_clk, input wire ap_rst_n,
    input  wire [{din}-1:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    output wire [{out_width}-1:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready
);
    wire [{dwin}-1:0] w_tdata;
    wire w_tvalid, w_tready;
    sliding_window #(.IFM_CH({c}), .IFM_H({h}), .IFM_W({w}), .K_H({k}), .K_W({k}), .STRIDE_H({s}), .STRIDE_W({s}),
                     .PAD_T({p}), .PAD_L({p}), .PAD_B({p}), .PAD_R({p}), .PAD_VALUE(0), .SIMD({pe}), .ELEM_BITS({bits}))
        windows (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
                 .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
                 .m_axis_tdata(w_tdata), .m_axis_tvalid(w_tvalid), .m_axis_tready(w_tready));
    {consumer} #({overrides})
        consumer (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
                  .s_axis_tdata(w_tdata), .s_axis_tvalid(w_tvalid), .s_axis_tready(w_tready),
                  .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready));
endmodule
`default_nettype wire
"""
