"""What each hardware stage becomes in Verilog: built by its registry entry
(``bnncc/hw/modules/<name>.py``) through :func:`bnncc.hw.describe.describe_stage`. These
names stay here for the backend files that import them."""

from bnncc.hw.describe import describe_stage
from bnncc.hw.stage_common import instance_name, signed_bits

__all__ = ["describe_stage", "instance_name", "signed_bits"]
