"""Resource estimates of rtl_lib instances (provisional until model.py lands)."""

try:
    from bnncc.estimate.model import estimate_link
except ImportError:  # provisional rough model
    from bnncc.synth.resources import Resources

    def estimate_link(module: str, parameters: dict, family: str) -> Resources:
        p = parameters
        if module == "mvau":
            macs = p["PE"] * p["SIMD"]
            per = 3.0 if p["BINARY"] else 4.0 * p["INPUT_BITS"] * p["WEIGHT_BITS"]
            depth = (p["MW"] // p["SIMD"]) * (p["MH"] // p["PE"])
            width = macs * p["WEIGHT_BITS"]
            bram = -(-width // 36) * -(-depth // 512) if depth >= 32 else 0
            rom = 0 if depth >= 32 else width * max(1, depth / 64)
            return Resources(lut=macs * per + rom + 60, ff=p["PE"] * p["ACC_BITS"] * 2 + 40, bram=bram)
        if module == "stream_fifo":
            return Resources(lut=p["WIDTH"] * max(1, p["DEPTH"] / 32) / 2 + 20, ff=p["WIDTH"] + 10)
        return Resources(lut=50, ff=50)

__all__ = ["estimate_link"]
