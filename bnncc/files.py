"""Writing output files without ever leaving a half-written one behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file renamed into place."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _ancestors_to_create(path: Path) -> list[Path]:
    """The missing ancestors of ``path``, outermost first."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing[::-1]


def _mode_from_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


@contextmanager
def replace_directory(final: Path, replaceable: Callable[[Path], bool] = lambda path: False,
                      what: str = "output directory") -> Iterator[Path]:
    """Yield a new empty directory beside ``final`` to write into; when the block succeeds it
    becomes ``final`` (an existing ``final`` is moved aside and removed only then), when it
    raises (or is interrupted) it is removed and ``final`` is untouched. An existing
    ``final`` is replaced only when it is empty or ``replaceable(final)`` says it holds
    nothing but an earlier output of the same kind; else :class:`UsageError`."""
    from bnncc.errors import UsageError

    final = Path(final)
    if final.exists() and not final.is_dir():
        raise UsageError(f"{final}: the {what} exists and is not a directory")
    if final.is_dir() and any(final.iterdir()) and not replaceable(final):
        raise UsageError(f"{final}: the {what} exists and holds other files; give a new or empty directory")
    created = _ancestors_to_create(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        os.chmod(work, _mode_from_umask())
        yield work
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old / final.name)
        try:
            os.replace(work, final)
        except BaseException:
            if old is not None:
                os.replace(old / final.name, final)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        for directory in reversed(created):
            try:
                directory.rmdir()
            except OSError:
                break
        raise
