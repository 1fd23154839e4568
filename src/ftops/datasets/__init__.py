"""Datasets layer: stream, check, hash and count tokens of JSONL training files."""

from ._cache import HashCache
from ._options import DatasetReport, LineProblem, ScanOptions
from ._overlap import first_overlap
from ._records import FORMATS, METHOD_FORMAT, infer_format
from ._scan import hash_file, scan_file
from ._tokens import get_encoding

__all__ = [
    "FORMATS", "METHOD_FORMAT", "DatasetReport", "HashCache", "LineProblem", "ScanOptions",
    "first_overlap", "get_encoding", "hash_file", "infer_format", "scan_file",
]
