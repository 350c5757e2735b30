"""The secret key when ``COMPLAINTFLOW_SECRET_KEY`` is not set: made once, kept in the instance folder.

A key made at each start would log everyone out at every restart, and gunicorn workers each
making their own would refuse one another's cookies. The file is written whole under a temporary
name and then linked into place: the link fails if a worker got there first, and every worker
then reads the one key that won.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"


def instance_secret(folder: Path) -> str:
    """The key kept in ``folder/secret_key`` (mode 0600), created there if it is not yet."""
    path = folder / FILE_NAME
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        draft = folder / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_hex(32))
                out.flush()
                os.fsync(out.fileno())
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            draft.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key: delete it (everyone is logged out) or set "
                           "COMPLAINTFLOW_SECRET_KEY")
    return key
