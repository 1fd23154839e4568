"""Datasets layer: stream, check, hash and count tokens of JSONL training files."""

from ._ahead import start as scan_ahead
from ._cache import HashCache
from ._options import DatasetReport, LineProblem, ScanOptions
from ._overlap import first_overlap
from ._records import FORMATS, METHOD_FORMAT, infer_format
from ._remote import RemoteHead, UrlAuth, UrlRefused, etag_identity, head_url, scan_url
from ._scan import hash_file, scan_file
from ._stream import scan_stream
from ._tokens import get_encoding

__all__ = [
    "FORMATS", "METHOD_FORMAT", "DatasetReport", "HashCache", "LineProblem", "RemoteHead", "ScanOptions",
    "UrlAuth", "UrlRefused", "etag_identity", "first_overlap", "get_encoding", "hash_file", "head_url",
    "infer_format", "scan_ahead", "scan_file", "scan_stream", "scan_url",
]
