"""Where the served releases are kept: the release storage, chosen by RELEASE_STORAGE.

"local" (the default): RELEASES_DIR is the store. The builder's folders are what is served and
the `current` symlink is the pointer (layout.py); nothing here adds work to a request.

"s3": an S3-compatible bucket (AWS S3, MinIO), so several web nodes and a CDN serve one release
without sharing a disk. The builder and the printer still work in RELEASES_DIR (the workers
share it); when a release becomes current its files are uploaded, then the pointer object is
written:

    <S3_PREFIX>releases/<n>/<path>       each file of release n and its .gz twin
                                         (Content-Encoding: gzip), manifest.json uploaded last
    <S3_PREFIX>releases/<n>/print.json   the printed directories, uploaded after their files
    <S3_PREFIX>current.json              {"release": n, ...}: the served release
    <S3_PREFIX>live/capacity.json        a live file (tasks/capacity.py), rewritten every minute
                                         outside releases, and its .gz twin

A PUT of one object is atomic, and every object of a release is in the bucket before the
pointer names it, so a reader sees the old release or the new one, never a mix. Web nodes read
the pointer and the live files at most every S3_CACHE_SECONDS and a release's files on demand
(admin/feeds)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from . import layout
from .layout import LIVE, MANIFEST, RELEASES, available_numbers, release_dir
from .printing import PRINT_FILE, print_files

log = logging.getLogger(__name__)

POINTER = "current.json"
IMMUTABLE = "public, max-age=31536000, immutable"  # a release's objects never change
POINTER_CACHE = "no-cache"  # the pointer moves with every release: revalidated on each read
LIVE_CACHE = "public, max-age=30, must-revalidate"  # a live file changes every minute
CONTENT_TYPES = {
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".csv": "text/csv; charset=utf-8",
    ".atom": "application/atom+xml",
    ".pdf": "application/pdf",
}
UPLOAD_THREADS = 8
CHUNK = 64 * 1024


class StorageUnavailable(RuntimeError):
    """The object store did not answer as expected (the read side answers 503)."""


def content_type(name: str) -> str:
    """The type of a stored file; a .gz twin has its original's (and Content-Encoding: gzip)."""
    return CONTENT_TYPES.get(Path(name.removesuffix(".gz")).suffix, "application/octet-stream")


# ------------------------------------------------------------------ local disk


class LocalStorage:
    """RELEASES_DIR is the store: the builder's own folders are served as they are."""

    is_remote = False
    # the layout's own functions, not wrappers: a request on local disk does what it did before
    current_number = staticmethod(layout.current_number)
    available_numbers = staticmethod(layout.available_numbers)

    @staticmethod
    def print_files(number: int) -> dict[str, dict[str, Any]] | None:
        return print_files(release_dir(number))

    def make_current(self, root: Path, number: int) -> None:
        """Nothing to copy: the symlink the builder swaps is the pointer."""

    def add_print(self, root: Path, number: int, files: dict[str, Any], body: bytes) -> None:
        """Nothing to copy: print.json, written by the printer, completes the print."""

    def prune(self, root: Path, keep: int) -> list[int]:
        return []  # the builder deletes the folders

    def put_live(self, name: str, body: bytes, gz_body: bytes) -> None:
        """Nothing to copy: the file the writer renamed into RELEASES_DIR/live/ is served."""


LOCAL = LocalStorage()


# ------------------------------------------------------------------ S3-compatible buckets


@dataclass
class ObjectBody:
    """An object being read: its length and its bytes in chunks; close() frees the connection."""

    length: int
    stream: Any

    def chunks(self) -> Iterator[bytes]:
        yield from self.stream.iter_chunks(CHUNK)

    def close(self) -> None:
        self.stream.close()


class S3Storage:
    """Releases in a bucket under a prefix. Thread-safe: one client, small locked caches."""

    is_remote = True

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        cache_seconds: float = 5.0,
        access_key: tuple[str, str] | None = None,
    ):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, self.cache_seconds = bucket, prefix, cache_seconds
        self.location = f"s3://{bucket}/{prefix}"
        # a session of its own: credentials are resolved now, not reused from another storage
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key[0] if access_key else None,
            aws_secret_access_key=access_key[1] if access_key else None,
            config=Config(
                # MinIO and other self-hosted stores answer on one host name: path-style keys
                s3={"addressing_style": "path"} if endpoint_url else {},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=UPLOAD_THREADS * 2,
            ),
        )
        self._lock = threading.Lock()
        self._pointer: tuple[float, int | None] | None = None  # (valid until, number)
        self._numbers: tuple[float, list[int]] | None = None
        self._printed: dict[int, tuple[float, dict[str, Any] | None]] = {}
        self._live: dict[str, tuple[float, bytes | None]] = {}  # name -> (valid until, body)

    def key(self, number: int, name: str = "") -> str:
        return f"{self.prefix}{RELEASES}/{number}/{name}"

    def live_key(self, name: str) -> str:
        return f"{self.prefix}{LIVE}/{name}"

    # ---------------------------------------------------------- low level

    def _fail(self, exc: Exception, what: str) -> StorageUnavailable:
        log.warning("release storage %s: %s failed: %s", self.location, what, exc)
        return StorageUnavailable(f"release storage {self.location}: {what} failed ({exc})")

    def _get(self, key: str) -> Any:
        """The object's GetObject answer. Raises FileNotFoundError when the key does not exist,
        StorageUnavailable when the store does not answer."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise self._fail(exc, f"reading {key}") from exc
        except BotoCoreError as exc:
            raise self._fail(exc, f"reading {key}") from exc

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def _put(self, key: str, body: Any, name: str, cache_control: str = IMMUTABLE) -> None:
        extra = {"ContentEncoding": "gzip"} if name.endswith(".gz") else {}
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type(name),
            CacheControl=cache_control,
            **extra,
        )

    def _put_file(self, folder: Path, number: int, name: str) -> None:
        with open(folder / name, "rb") as fh:
            self._put(self.key(number, name), fh, name)

    def _put_files(self, folder: Path, number: int, names: list[str]) -> None:
        """Upload in parallel; returns once every one is stored (raises the first failure)."""
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            for done in [pool.submit(self._put_file, folder, number, n) for n in names]:
                done.result()

    # ---------------------------------------------------------- read side (web nodes)

    def read_key(self, key: str) -> bytes:
        answer = self._get(key)
        with answer["Body"] as body:
            return body.read()

    def read(self, number: int, name: str) -> bytes:
        """A file of release `number`. FileNotFoundError if the bucket has no such object."""
        return self.read_key(self.key(number, name))

    def open(self, number: int, name: str) -> ObjectBody:
        answer = self._get(self.key(number, name))
        return ObjectBody(answer["ContentLength"], answer["Body"])

    def read_pointer(self) -> dict[str, Any] | None:
        """current.json as stored now (no cache); None before the first release."""
        try:
            raw = self.read_key(self.prefix + POINTER)
        except FileNotFoundError:
            return None
        try:
            pointer = json.loads(raw)
            int(pointer["release"])
        except (ValueError, TypeError, KeyError) as exc:
            raise self._fail(
                exc, f"reading {self.prefix}{POINTER} (not a release pointer)"
            ) from exc
        return pointer

    def current_number(self) -> int | None:
        """The release the pointer names, read at most every `cache_seconds`."""
        now = time.monotonic()
        cached = self._pointer
        if cached is not None and cached[0] > now:
            return cached[1]
        pointer = self.read_pointer()
        number = int(pointer["release"]) if pointer else None
        self._pointer = (now + self.cache_seconds, number)
        return number

    def available_numbers(self) -> list[int]:
        """The releases with objects in the bucket, oldest first (cached like the pointer)."""
        now = time.monotonic()
        cached = self._numbers
        if cached is not None and cached[0] > now:
            return cached[1]
        numbers = sorted(self._listing(with_keys=False))
        self._numbers = (now + self.cache_seconds, numbers)
        return numbers

    def print_files(self, number: int) -> dict[str, dict[str, Any]] | None:
        """The printed files of a release once its print.json is stored (kept: it never changes
        once written); None before (asked again after `cache_seconds`)."""
        now = time.monotonic()
        with self._lock:
            hit = self._printed.get(number)
        if hit is not None and (hit[1] is not None or hit[0] > now):
            return hit[1]
        try:
            data = json.loads(self.read(number, PRINT_FILE))
        except (FileNotFoundError, ValueError):
            files = None
        else:
            files = data.get("files") if isinstance(data, dict) else None
            files = files if isinstance(files, dict) else None
        with self._lock:
            self._printed[number] = (now + self.cache_seconds, files)
            while len(self._printed) > 64:
                self._printed.pop(next(iter(self._printed)))
        return files

    def get_live(self, name: str) -> bytes | None:
        """A live file as stored (None before it is first written), read at most every
        `cache_seconds`. Raises StorageUnavailable when the store does not answer."""
        now = time.monotonic()
        with self._lock:
            hit = self._live.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            body: bytes | None = self.read_key(self.live_key(name))
        except FileNotFoundError:
            body = None
        with self._lock:
            self._live[name] = (now + self.cache_seconds, body)
        return body

    # ---------------------------------------------------------- write side (workers)

    def put_live(self, name: str, body: bytes, gz_body: bytes) -> None:
        """A live file and its .gz twin, each one PUT (a reader gets a whole file, old or new).
        Raises StorageUnavailable when the store refuses or does not answer."""
        from botocore.exceptions import BotoCoreError, ClientError

        for stored, data in ((name, body), (name + ".gz", gz_body)):
            key = self.live_key(stored)
            try:
                self._put(key, data, stored, LIVE_CACHE)
            except (BotoCoreError, ClientError) as exc:
                raise self._fail(exc, f"writing {key}") from exc
        with self._lock:  # this process serves its own write at once
            self._live.pop(name, None)
            self._live.pop(name + ".gz", None)

    def upload_release(self, folder: Path, number: int) -> int:
        """Every file of the complete release folder, manifest.json last (its presence marks a
        complete release in the bucket as on disk). Returns the number of objects written."""
        manifest = json.loads((folder / MANIFEST).read_bytes())
        printed = print_files(folder)
        rels = sorted({**manifest.get("files", {}), **(printed or {})})
        names = [n for rel in rels for n in (rel, rel + ".gz") if (folder / n).is_file()]
        self._put_files(folder, number, names)
        if printed is not None:
            self._put_file(folder, number, PRINT_FILE)
            names.append(PRINT_FILE)
        tail = [n for n in (MANIFEST + ".gz", MANIFEST) if (folder / n).is_file()]
        for name in tail:
            self._put_file(folder, number, name)
        return len(names) + len(tail)

    def make_current(self, root: Path, number: int) -> None:
        """Upload release `number` unless the bucket already holds it complete (a rollback),
        then switch the pointer with one PUT."""
        folder = release_dir(number, root)
        if not self._exists(self.key(number, MANIFEST)):
            count = self.upload_release(folder, number)
            log.info("release %s uploaded to %s (%d objects)", number, self.location, count)
        manifest = json.loads((folder / MANIFEST).read_bytes())
        pointer = {
            "release": number,
            "created_at": manifest.get("created_at"),
            "content_hash": manifest.get("content_hash"),
            "switched_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        self._put(
            self.prefix + POINTER,
            json.dumps(pointer, sort_keys=True).encode("utf-8"),
            POINTER,
            POINTER_CACHE,
        )
        self._pointer = None  # this process sees the switch at once
        log.info("%s%s now names release %s", self.location, POINTER, number)

    def add_print(self, root: Path, number: int, files: dict[str, Any], body: bytes) -> None:
        """The printed files of release `number` (already in its folder), then print.json."""
        folder = release_dir(number, root)
        names = [n for rel in sorted(files) for n in (rel, rel + ".gz") if (folder / n).is_file()]
        self._put_files(folder, number, names)
        self._put(self.key(number, PRINT_FILE), body, PRINT_FILE)
        with self._lock:
            self._printed.pop(number, None)

    def prune(self, root: Path, keep: int) -> list[int]:
        """Delete the objects of old releases: complete ones beyond the newest `keep`, and
        uploads that died before their manifest. Never the release the pointer names, nor one
        still kept in RELEASES_DIR (a rollback may be uploading it). A failure is logged, never
        raised: the release is already public and the next build prunes again."""
        if keep <= 0:
            return []
        try:
            return self._prune(root, keep)
        except Exception:  # noqa: BLE001 - see above
            log.exception("pruning %s failed", self.location)
            return []

    def _prune(self, root: Path, keep: int) -> list[int]:
        keys = self._listing(with_keys=True)
        manifest_keys = {self.key(n, MANIFEST) for n in keys}
        complete = sorted(n for n, ks in keys.items() if self.key(n, MANIFEST) in ks)
        pointer = self.read_pointer()
        protected = set(available_numbers(root))
        if pointer is not None:
            protected.add(int(pointer["release"]))
        newest = complete[-1] if complete else None
        drop = sorted(
            n
            for n in keys
            if n not in protected
            and (n in complete[:-keep] or (n not in complete and newest is not None and n < newest))
        )
        for n in drop:
            # the manifest first: a half-deleted release is never seen as complete
            ordered = sorted(keys[n], key=lambda k: k not in manifest_keys)
            for i in range(0, len(ordered), 1000):
                batch = ordered[i : i + 1000]
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
        if drop:
            self._numbers = None
            log.info("pruned releases %s from %s", drop, self.location)
        return drop

    def _listing(self, *, with_keys: bool) -> dict[int, list[str]]:
        """Release number -> its object keys (empty lists unless `with_keys`)."""
        base = f"{self.prefix}{RELEASES}/"
        paginator = self.client.get_paginator("list_objects_v2")
        found: dict[int, list[str]] = {}
        try:
            if with_keys:
                for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                    for obj in page.get("Contents", []):
                        head = obj["Key"][len(base) :].split("/", 1)[0]
                        if head.isdigit():
                            found.setdefault(int(head), []).append(obj["Key"])
            else:
                for page in paginator.paginate(Bucket=self.bucket, Prefix=base, Delimiter="/"):
                    for common in page.get("CommonPrefixes", []):
                        head = common["Prefix"][len(base) :].strip("/")
                        if head.isdigit():
                            found[int(head)] = []
        except Exception as exc:  # botocore's errors: the listing is a read like any other
            raise self._fail(exc, f"listing {base}") from exc
        return found


# ------------------------------------------------------------------ choosing one

_buckets: dict[tuple[Any, ...], S3Storage] = {}
_buckets_lock = threading.Lock()


def release_storage() -> LocalStorage | S3Storage:
    """The storage the app's config names (admin/config.py validated it at start-up)."""
    config = current_app.config
    if config["RELEASE_STORAGE"] != "s3":
        return LOCAL
    access_key = (config["AWS_ACCESS_KEY_ID"], config["AWS_SECRET_ACCESS_KEY"])
    key = (
        config["S3_BUCKET"],
        config["S3_PREFIX"],
        config["S3_ENDPOINT_URL"],
        config["S3_REGION"],
        config["S3_CACHE_SECONDS"],
        access_key,
    )
    with _buckets_lock:
        store = _buckets.get(key)
        if store is None:
            store = _buckets[key] = S3Storage(
                key[0],
                key[1],
                endpoint_url=key[2],
                region=key[3],
                cache_seconds=float(key[4]),
                access_key=access_key if access_key[0] else None,
            )
        return store
