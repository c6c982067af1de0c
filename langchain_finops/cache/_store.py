"""Where cache entries live: the source of truth behind the in-memory index.

Every change goes to the store first; each cache then reads the store's
changes (its own and other processes') and mirrors them into its index. So the
index can always be rebuilt from the store, and a SQLite store shared by
several processes keeps them all consistent.
"""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "EmbedderMismatchError",
    "EntryStore",
    "MemoryStore",
    "NewEntry",
    "SqliteStore",
    "StoredEntry",
]

SCHEMA_VERSION = "1"


class EmbedderMismatchError(ValueError):
    """A persisted store holds vectors from another embedder."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to write."""

    namespace: str
    partition: str
    exact_key: str
    query: str
    vector: bytes | None
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as the index mirrors it (the answer stays in the store)."""

    id: int
    namespace: str
    partition: str
    exact_key: str
    query: str
    vector: bytes | None
    expires_at: float | None


class EntryStore(Protocol):
    """The storage a `SemanticFaissCache` needs; callers serialise access."""

    def bind_embedder(self, embedder_id: str, dimension: int) -> None:
        """Record the embedder, or raise `EmbedderMismatchError` if it differs."""

    def put(
        self, entry: NewEntry, payload: str, now: float, max_entries: int | None = None
    ) -> int:
        """Write `entry`, replacing one with the same namespace and exact key.

        With `max_entries`, the least recently used entries beyond it are
        evicted in the same atomic write.
        """

    def payload(self, entry_id: int) -> str | None:
        """The stored answer, or None if the entry is gone."""

    def touch(self, entry_id: int, now: float) -> None:
        """Mark an entry as used, for least-recently-used eviction."""

    def delete(self, ids: list[int]) -> int:
        """Delete entries by id; returns how many existed."""

    def delete_namespace(self, namespace: str | None) -> int:
        """Delete a namespace's entries (every entry when None)."""

    def evict(self, max_entries: int) -> int:
        """Delete least-recently-used entries until at most `max_entries` stay."""

    def purge_expired(self, now: float) -> int:
        """Delete entries whose time to live has passed."""

    def changes(self) -> tuple[list[StoredEntry], list[int]]:
        """Entries added and ids deleted since the previous call."""

    def count(self) -> int:
        """How many entries the store holds."""

    def close(self) -> None:
        """Release the store's resources."""


class MemoryStore:
    """A process-local store; vectors are kept by the index only."""

    def __init__(self) -> None:
        self._entries: dict[int, StoredEntry] = {}
        self._payloads: dict[int, str] = {}
        # Ids from least to most recently used: eviction pops from the front.
        self._used: OrderedDict[int, None] = OrderedDict()
        self._keys: dict[tuple[str, str], int] = {}
        self._next_id = 1
        self._added: list[StoredEntry] = []
        self._deleted: list[int] = []

    def bind_embedder(self, embedder_id: str, dimension: int) -> None:
        """Nothing to check: a memory store dies with its embedder."""

    def put(
        self, entry: NewEntry, payload: str, now: float, max_entries: int | None = None
    ) -> int:
        """Write `entry`, then evict beyond `max_entries`."""
        old = self._keys.get((entry.namespace, entry.exact_key))
        if old is not None:
            self.delete([old])
        entry_id = self._next_id
        self._next_id += 1
        stored = StoredEntry(
            id=entry_id,
            namespace=entry.namespace,
            partition=entry.partition,
            exact_key=entry.exact_key,
            query=entry.query,
            vector=entry.vector,
            expires_at=entry.expires_at,
        )
        # The vector travels once, to the index, through `changes`; a memory
        # store dies with its index, so keeping a second copy buys nothing.
        self._entries[entry_id] = dataclasses.replace(stored, vector=None)
        self._payloads[entry_id] = payload
        self._used[entry_id] = None
        self._keys[(entry.namespace, entry.exact_key)] = entry_id
        self._added.append(stored)
        if max_entries is not None:
            self.evict(max_entries)
        return entry_id

    def payload(self, entry_id: int) -> str | None:
        """The stored answer, or None if the entry is gone."""
        return self._payloads.get(entry_id)

    def touch(self, entry_id: int, now: float) -> None:
        """Mark an entry as used."""
        if entry_id in self._used:
            self._used.move_to_end(entry_id)

    def delete(self, ids: list[int]) -> int:
        """Delete entries by id; returns how many existed."""
        removed = 0
        for entry_id in ids:
            entry = self._entries.pop(entry_id, None)
            if entry is None:
                continue
            del self._payloads[entry_id], self._used[entry_id]
            del self._keys[(entry.namespace, entry.exact_key)]
            self._deleted.append(entry_id)
            removed += 1
        return removed

    def delete_namespace(self, namespace: str | None) -> int:
        """Delete a namespace's entries (every entry when None)."""
        return self.delete(
            [
                entry.id
                for entry in self._entries.values()
                if namespace is None or entry.namespace == namespace
            ]
        )

    def evict(self, max_entries: int) -> int:
        """Delete least-recently-used entries beyond `max_entries`."""
        excess = len(self._entries) - max_entries
        if excess <= 0:
            return 0
        return self.delete(list(itertools.islice(self._used, excess)))

    def purge_expired(self, now: float) -> int:
        """Delete entries whose time to live has passed."""
        return self.delete(
            [
                entry.id
                for entry in self._entries.values()
                if entry.expires_at is not None and entry.expires_at <= now
            ]
        )

    def changes(self) -> tuple[list[StoredEntry], list[int]]:
        """Entries added and ids deleted since the previous call."""
        added, deleted = self._added, self._deleted
        self._added, self._deleted = [], []
        return added, deleted

    def count(self) -> int:
        """How many entries the store holds."""
        return len(self._entries)

    def close(self) -> None:
        """Nothing to release."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    exact_key TEXT NOT NULL,
    query TEXT NOT NULL,
    vector BLOB,
    expires_at REAL,
    last_used REAL NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (namespace, exact_key)
);
CREATE INDEX IF NOT EXISTS entries_last_used ON entries (last_used);
CREATE INDEX IF NOT EXISTS entries_expires_at ON entries (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS deletions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id INTEGER NOT NULL
);
"""


class SqliteStore:
    """A SQLite file in WAL mode, safe to share between processes.

    Each write is one transaction, so a process killed at any moment leaves
    either the whole write or none of it. Deletions are logged so that other
    processes can drop the same ids from their indexes.

    Args:
        directory: Where the `cache.sqlite3` file lives (created if missing).
        timeout: Seconds to wait for another process's write lock.

    Raises:
        ValueError: If `directory` exists and is not a directory.
    """

    def __init__(self, directory: str | Path, *, timeout: float = 30.0) -> None:
        path = Path(directory)
        if path.exists() and not path.is_dir():
            msg = f"`persist_dir` must be a directory, got the file {path}."
            raise ValueError(msg)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path / "cache.sqlite3"
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # executescript commits on its own; the script is its own transaction.
        self._conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        self._last_id = 0
        row = self._conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM deletions"
        ).fetchone()
        self._last_seq = int(row[0])

    def _write(self) -> _Transaction:
        return _Transaction(self._conn, self._lock)

    def bind_embedder(self, embedder_id: str, dimension: int) -> None:
        """Record the embedder, or raise if the file was written by another.

        Raises:
            EmbedderMismatchError: If the store's embedder or dimension differs.
        """
        with self._write():
            rows = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
            if not rows:
                self._conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("schema_version", SCHEMA_VERSION),
                        ("embedder_id", embedder_id),
                        ("dimension", str(dimension)),
                    ],
                )
                return
        if rows.get("embedder_id") != embedder_id or rows.get("dimension") != str(
            dimension
        ):
            msg = (
                f"The cache at {self.path} was written with the embedder "
                f"{rows.get('embedder_id')!r} ({rows.get('dimension')} dimensions), "
                f"not {embedder_id!r} ({dimension} dimensions); its vectors cannot "
                "be searched with this embedder. Use the same embedder, another "
                "`persist_dir`, or delete the directory to start afresh."
            )
            raise EmbedderMismatchError(msg)
        if rows.get("schema_version") != SCHEMA_VERSION:
            msg = (
                f"The cache at {self.path} has schema version "
                f"{rows.get('schema_version')!r}; this version of langchain-finops "
                f"reads version {SCHEMA_VERSION}. Use another `persist_dir`."
            )
            raise EmbedderMismatchError(msg)

    def put(
        self, entry: NewEntry, payload: str, now: float, max_entries: int | None = None
    ) -> int:
        """Write `entry`, then evict beyond `max_entries`, in one transaction."""
        with self._write():
            old = self._conn.execute(
                "SELECT id FROM entries WHERE namespace = ? AND exact_key = ?",
                (entry.namespace, entry.exact_key),
            ).fetchone()
            if old is not None:
                self._delete_ids([int(old[0])])
            cursor = self._conn.execute(
                "INSERT INTO entries (namespace, partition_key, exact_key, query, "
                "vector, expires_at, last_used, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.namespace,
                    entry.partition,
                    entry.exact_key,
                    entry.query,
                    entry.vector,
                    entry.expires_at,
                    now,
                    payload,
                ),
            )
            if max_entries is not None:
                self._evict_locked(max_entries)
            return int(cursor.lastrowid or 0)

    def payload(self, entry_id: int) -> str | None:
        """The stored answer, or None if the entry is gone."""
        with self._lock:
            row = self._conn.execute(
                "SELECT payload FROM entries WHERE id = ?", (entry_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def touch(self, entry_id: int, now: float) -> None:
        """Mark an entry as used."""
        with self._write():
            self._conn.execute(
                "UPDATE entries SET last_used = ? WHERE id = ?", (now, entry_id)
            )

    def _delete_ids(self, ids: list[int]) -> int:
        removed = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            cursor = self._conn.execute(
                f"DELETE FROM entries WHERE id IN ({marks}) RETURNING id",
                chunk,
            )
            gone = [(int(row[0]),) for row in cursor.fetchall()]
            self._conn.executemany("INSERT INTO deletions (entry_id) VALUES (?)", gone)
            removed += len(gone)
        return removed

    def _delete_where(self, where: str, params: tuple[object, ...]) -> int:
        with self._write():
            ids = [
                int(row[0])
                for row in self._conn.execute(
                    f"SELECT id FROM entries WHERE {where}",
                    params,
                ).fetchall()
            ]
            return self._delete_ids(ids)

    def delete(self, ids: list[int]) -> int:
        """Delete entries by id; returns how many existed."""
        with self._write():
            return self._delete_ids(list(ids))

    def delete_namespace(self, namespace: str | None) -> int:
        """Delete a namespace's entries (every entry when None)."""
        if namespace is None:
            return self._delete_where("1", ())
        return self._delete_where("namespace = ?", (namespace,))

    def evict(self, max_entries: int) -> int:
        """Delete least-recently-used entries beyond `max_entries`."""
        with self._write():
            return self._evict_locked(max_entries)

    def _evict_locked(self, max_entries: int) -> int:
        (count,) = self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        excess = int(count) - max_entries
        if excess <= 0:
            return 0
        ids = [
            int(row[0])
            for row in self._conn.execute(
                "SELECT id FROM entries ORDER BY last_used, id LIMIT ?", (excess,)
            ).fetchall()
        ]
        return self._delete_ids(ids)

    def purge_expired(self, now: float) -> int:
        """Delete entries whose time to live has passed."""
        return self._delete_where("expires_at IS NOT NULL AND expires_at <= ?", (now,))

    def changes(self) -> tuple[list[StoredEntry], list[int]]:
        """Entries added and ids deleted, by any process, since the last call."""
        with self._lock:
            # One read transaction, so that the two queries see one snapshot.
            self._conn.execute("BEGIN")
            try:
                rows = self._conn.execute(
                    "SELECT id, namespace, partition_key, exact_key, query, vector, "
                    "expires_at FROM entries WHERE id > ? ORDER BY id",
                    (self._last_id,),
                ).fetchall()
                deleted = self._conn.execute(
                    "SELECT seq, entry_id FROM deletions WHERE seq > ? ORDER BY seq",
                    (self._last_seq,),
                ).fetchall()
            finally:
                self._conn.execute("COMMIT")
        added = [
            StoredEntry(
                id=int(row[0]),
                namespace=row[1],
                partition=row[2],
                exact_key=row[3],
                query=row[4],
                vector=row[5],
                expires_at=row[6],
            )
            for row in rows
        ]
        if added:
            self._last_id = added[-1].id
        if deleted:
            self._last_seq = int(deleted[-1][0])
        return added, [int(row[1]) for row in deleted]

    def count(self) -> int:
        """How many entries the store holds."""
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class _Transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT`, rolled back on error, under a lock."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            self._conn.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self._lock.release()
