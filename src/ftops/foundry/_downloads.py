"""Downloading a file's content (Files - Get Content) to disk, streamed and hashed on the way."""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._exceptions import PermanentFoundryError

if TYPE_CHECKING:
    from ._client import FoundryClient

CHUNK = 1024 * 1024  # bytes read and written at a time: memory stays flat whatever the file's size
# Azure's limit for one fine-tuning file (datasets/_options.py max_file_bytes): the most a file listed without
# its size may send. A content that runs past it, or past the size its listing gives, is cut off: a data plane
# that never ends its answer must not fill the disk.
MAX_CONTENT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str  # hex of the bytes written
    bytes: int


def download_file(client: FoundryClient, file_id: str, dest: Path, size: int = 0) -> Downloaded:
    """Write file `file_id`'s content to `dest` (through a temporary file beside it, renamed when complete,
    so an interrupted download never leaves a partial file under the final name). A retried attempt starts
    over. `size` (the listing's) scales the timeout as an upload's does."""
    part = dest.with_name(f".{dest.name}.part")
    limit = size or MAX_CONTENT_BYTES
    what = f"the {limit} bytes its listing gives" if size else f"the {limit} bytes a fine-tuning file may have"

    def fetch(seconds: float) -> Downloaded:
        digest, written = hashlib.sha256(), 0
        with client.oai.files.with_streaming_response.content(file_id, timeout=client._oai(seconds)) as response, \
                open(part, "wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                written += len(chunk)
                if written > limit:
                    raise PermanentFoundryError(f"download file {file_id}: Foundry sent more than {what}")
        return Downloaded(dest, digest.hexdigest(), written)

    try:
        done = client._call(fetch, f"download file {file_id}", timeout=client.timeouts.for_upload(size))
        os.replace(part, dest)
        return done
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
