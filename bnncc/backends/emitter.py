"""A small indenting text builder for generated source files."""

from __future__ import annotations

from contextlib import contextmanager


class Emitter:
    """Collects lines; ``indent()`` is a context manager that indents what is written
    inside it."""

    def __init__(self, indent: str = "    "):
        self._lines: list[str] = []
        self._depth = 0
        self._unit = indent

    def line(self, text: str = "") -> None:
        self._lines.append(self._unit * self._depth + text if text else "")

    def lines(self, texts) -> None:
        for text in texts:
            self.line(text)

    @contextmanager
    def indent(self):
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"
