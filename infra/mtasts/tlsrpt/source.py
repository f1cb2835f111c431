"""Where a report comes from: a file or an S3 object, with its bytes or the reason it was not read.

The one type the readers share: folder walks (:mod:`.files`) and bucket listings (:mod:`.s3`) both yield it,
and :func:`mtasts.tlsrpt.outcomes.outcomes` counts it, so neither reader imports the other for it.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Source"]


class Source(NamedTuple):
    """One file or S3 object: its bytes, or None and why it was not read."""

    name: str
    data: bytes | None
    problem: str = ""
