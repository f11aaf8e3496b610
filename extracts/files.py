"""Files written whole or not at all: the one atomic-write helper of the project.

Models, cards, drift reports, exports, the quality index and the connector manifests are
read by other processes (dashboards, the next run) while they are rewritten.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The process umask, read once at import (reading it means setting it, briefly).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: Path | str, write: Callable[[Path], Any]) -> Path:
    """Call `write(tmp)` on a temporary file next to `path`, then rename it over `path`.

    The rename is atomic on one filesystem: readers see the old file or the new one. If
    `write` raises, the temporary file is removed and the old file stays as it was. The file
    gets the permissions a plain `open(path, "w")` would give (mkstemp's are owner-only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path | str, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def fingerprint(path: Path | str) -> str:
    """SHA-256 of a file's bytes: how ingestion and the landing sensor tell a re-delivered
    (corrected) landing file from the one loaded before, whatever its modification time."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def process_exists(pid: int) -> bool:
    """Whether a process with this id lives (someone else's counts): how a run, or a file a
    run left behind, is known to belong to a killed process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that id
        return True
    return True
