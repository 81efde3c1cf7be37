"""Running a compiled design on a board: the UART shell's byte protocol, its pin-level
co-simulation, and the host side that talks to the board."""

from bnncc.boards.protocol import DEFAULT_BAUD, LinkFormat, decode_beats, encode_frames, shell_parameters

__all__ = ["DEFAULT_BAUD", "LinkFormat", "decode_beats", "encode_frames", "shell_parameters"]
