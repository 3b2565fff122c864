"""Release storage (tasks/publishing/storage.py): releases published to an S3-compatible bucket
(moto's S3 server on 127.0.0.1) and served from it, the pointer switched only once a release's
objects are all stored, pruning, printed directories, configuration errors, and the local
default left as it was."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from flask import Flask

from admin.config import ConfigError, load
from models import Listing, db
from tests.conftest import free_port, make_test_app
from tests.publishing.conftest import load_json

PREFIX = "registry/"


# ------------------------------------------------------------------ an S3 server on loopback


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Credentials from the standard variables, and nothing from this machine's AWS files."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "registry-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "registry-test-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@dataclass
class Bucket:
    client: Any
    name: str
    prefix: str = PREFIX
    puts: list[str] = field(default_factory=list)  # release keys the app stored, in order
    live_puts: list[str] = field(default_factory=list)  # and live files (capacity.json)
    deletes: list[list[str]] = field(default_factory=list)  # keys of its DeleteObjects calls

    def stored(self, under: str = "") -> set[str]:
        """Keys below prefix + `under`, without the prefix."""
        found = set()
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=self.prefix + under
        )
        for page in pages:
            found |= {o["Key"][len(self.prefix) :] for o in page.get("Contents", [])}
        return found

    def get(self, key: str) -> dict[str, Any]:
        return self.client.get_object(Bucket=self.name, Key=self.prefix + key)

    def read(self, key: str) -> bytes:
        return self.get(key)["Body"].read()

    def pointer(self) -> dict[str, Any]:
        return json.loads(self.read("current.json"))

    def releases(self) -> set[int]:
        return {int(k.split("/")[1]) for k in self.stored("releases/")}


@pytest.fixture
def bucket(app, s3_server, aws_env, monkeypatch, releases_dir):
    """A fresh bucket on the server, the app configured for it (pointer never cached), and
    the app's own S3 calls recorded."""
    from tasks.publishing.storage import release_storage

    name = f"registry-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    settings = {
        "RELEASE_STORAGE": "s3",
        "S3_BUCKET": name,
        "S3_PREFIX": PREFIX,
        "S3_ENDPOINT_URL": s3_server,
        "S3_REGION": "us-east-1",
        "S3_CACHE_SECONDS": 0,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    b = Bucket(client, name)
    store = release_storage()
    events = store.client.meta.events

    def note_key(params, context, **kw):
        context["registry_key"] = params["Key"]

    def stored(context, http_response, **kw):  # in the order the store answered
        if http_response.status_code == 200:
            key = context["registry_key"]
            (b.live_puts if key.startswith(PREFIX + "live/") else b.puts).append(key)

    events.register("before-parameter-build.s3.PutObject", note_key)
    events.register("after-call.s3.PutObject", stored)
    events.register(
        "before-parameter-build.s3.DeleteObjects",
        lambda params, **kw: b.deletes.append([o["Key"] for o in params["Delete"]["Objects"]]),
    )
    return b


@pytest.fixture
def web_node(app, monkeypatch, tmp_path):
    """From now on the app reads like a web node that has no releases folder of its own."""

    def _detach():
        empty = tmp_path / "web-node-releases"
        empty.mkdir(exist_ok=True)
        monkeypatch.setitem(app.config, "RELEASES_DIR", str(empty))

    return _detach


def change_a_listing(word: str = "Updated") -> None:
    query = db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    lst = db.session.scalars(query).first()
    data = dict(lst.live_revision.data)
    data["description"] = (data.get("description") or "") + f" {word}."
    lst.live_revision.data = data
    db.session.commit()


def release_keys(folder: Path) -> set[str]:
    """What a complete local release folder should put in the bucket (not its private state)."""
    return {
        p.relative_to(folder.parent.parent).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and ".state" not in p.relative_to(folder).parts
    }


# ------------------------------------------------------------------ publishing to the bucket


def test_a_release_is_uploaded_with_its_types_then_the_pointer_names_it(
    build, releases_dir, bucket
):
    result = build()
    assert result.status == "published"
    n = result.number
    folder = releases_dir / "releases" / str(n)
    manifest = load_json(folder / "manifest.json")
    stored = bucket.stored(f"releases/{n}/")
    assert stored == release_keys(folder)
    assert not any("/.state/" in k for k in stored)
    for rel in manifest["files"]:
        assert f"releases/{n}/{rel}" in stored and f"releases/{n}/{rel}.gz" in stored, rel
    # each object is the file's own bytes; the .gz twin is marked as gzip of the same type
    plain = bucket.get(f"releases/{n}/hsds/services.json")
    data = plain["Body"].read()
    assert data == (folder / "hsds" / "services.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["files"]["hsds/services.json"]["sha256"]
    assert plain["ContentType"] == "application/json"
    assert "ContentEncoding" not in plain
    assert "immutable" in plain["CacheControl"]
    packed = bucket.get(f"releases/{n}/hsds/services.json.gz")
    assert packed["ContentType"] == "application/json"
    assert packed["ContentEncoding"] == "gzip"
    assert gzip.decompress(packed["Body"].read()) == data
    assert bucket.get(f"releases/{n}/listings.geojson")["ContentType"] == "application/geo+json"
    assert bucket.get(f"releases/{n}/listings.csv")["ContentType"].startswith("text/csv")
    assert bucket.get(f"releases/{n}/changes.atom")["ContentType"] == "application/atom+xml"
    pointer = bucket.pointer()
    assert pointer["release"] == n
    assert pointer["content_hash"] == manifest["content_hash"]
    assert pointer["created_at"] == manifest["created_at"]
    assert bucket.get("current.json")["CacheControl"] == "no-cache"
    # the worker's own disk still has the release and its symlink (the next build reads them)
    assert (releases_dir / "current").resolve() == folder.resolve()


def test_the_manifest_is_stored_last_and_the_pointer_after_it(build, bucket):
    result = build()
    n = result.number
    mine = [k.removeprefix(PREFIX) for k in bucket.puts]
    assert mine[-1] == "current.json" and mine.count("current.json") == 1
    assert mine[-2] == f"releases/{n}/manifest.json"
    assert mine[-3] == f"releases/{n}/manifest.json.gz"
    assert set(mine[:-1]) == bucket.stored(f"releases/{n}/")


def test_a_reader_never_sees_a_pointer_to_an_incomplete_release(build, bucket, s3_server):
    """While the second release is published, a separate reader keeps reading current.json and
    checks, each time, that every file of the release it names is already stored."""
    first = build()
    change_a_listing()
    reader = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    seen: dict[int, int] = {}
    problems: list[str] = []
    done = threading.Event()

    def read_like_a_web_node():
        for _ in range(2000):  # bounded; stops as soon as the build is over
            pointer = json.loads(
                reader.get_object(Bucket=bucket.name, Key=PREFIX + "current.json")["Body"].read()
            )
            n = pointer["release"]
            seen[n] = seen.get(n, 0) + 1
            manifest = json.loads(
                reader.get_object(Bucket=bucket.name, Key=f"{PREFIX}releases/{n}/manifest.json")[
                    "Body"
                ].read()
            )
            stored = bucket.stored(f"releases/{n}/")
            missing = [
                rel
                for rel in manifest["files"]
                if f"releases/{n}/{rel}" not in stored or f"releases/{n}/{rel}.gz" not in stored
            ]
            if missing:
                problems.append(f"release {n} named while missing {missing[:3]}")
            if done.is_set():
                return

    thread = threading.Thread(target=read_like_a_web_node)
    thread.start()
    try:
        second = build()
    finally:
        done.set()
        thread.join(timeout=60)
    assert second.number == first.number + 1
    assert not problems, problems
    assert seen.get(first.number), "the reader never read during the build"
    assert bucket.pointer()["release"] == second.number
    # the pointer was written once per release, after everything else of that release
    mine = [k.removeprefix(PREFIX) for k in bucket.puts]
    cut = mine.index("current.json")
    assert all(k.startswith(f"releases/{second.number}/") for k in mine[cut + 1 : -1])
    assert mine[-1] == "current.json"


# ------------------------------------------------------------------ serving from the bucket


def test_feeds_and_the_api_are_served_from_the_bucket(
    build, releases_dir, bucket, client, web_node
):
    result = build()
    n = result.number
    folder = releases_dir / "releases" / str(n)
    services = (folder / "hsds" / "services.json").read_bytes()
    services_gz = (folder / "hsds" / "services.json.gz").read_bytes()
    a_service = json.loads(services)[0]
    web_node()  # no releases folder: every answer below comes from the bucket

    resp = client.get("/feeds/current/hsds/services.json")
    assert resp.status_code == 200
    assert resp.data == services
    assert resp.mimetype == "application/json"
    assert "Content-Encoding" not in resp.headers
    assert resp.headers["Content-Length"] == str(len(services))
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and resp.headers["Cache-Control"].startswith("public, max-age=60")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"

    packed = client.get("/feeds/current/hsds/services.json", headers={"Accept-Encoding": "gzip"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert packed.data == services_gz
    assert packed.headers["ETag"] != etag

    again = client.get("/feeds/current/hsds/services.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag

    pinned = client.get(f"/feeds/releases/{n}/hsds/services.json")
    assert pinned.status_code == 200 and pinned.data == services
    assert "immutable" in pinned.headers["Cache-Control"]
    manifest = client.get(f"/feeds/releases/{n}/manifest.json")
    assert manifest.status_code == 200
    assert manifest.data == (folder / "manifest.json").read_bytes()

    # the HSDS API parses the current release read from the bucket, including its side files
    one = client.get(f"/api/hsds/services/{a_service['id']}")
    assert one.status_code == 200 and one.get_json()["name"] == a_service["name"]
    assert client.get("/api/hsds/services?per_page=1").get_json()["total_items"] == len(
        json.loads(services)
    )
    county = client.get("/api/hsds/counties/29019")
    assert county.status_code == 200 and county.get_json()["fips"] == "29019"
    changes = client.get("/api/hsds/changes?since=0")
    assert changes.status_code == 200 and changes.get_json()["release"] == n

    # unknown files and releases are clear 404s, not storage errors
    missing = client.get("/feeds/current/hsds/nothing.json")
    assert missing.status_code == 404 and "nothing.json" in missing.get_json()["error"]["detail"]
    gone = client.get(f"/feeds/releases/{n + 50}/hsds/services.json")
    assert gone.status_code == 404
    assert gone.get_json()["error"]["detail"] == f"release {n + 50} is not available"
    traversal = client.get(f"/feeds/releases/{n}/../{n}/manifest.json")
    assert traversal.status_code == 404


def test_a_second_release_switches_what_the_bucket_serves(build, releases_dir, bucket, client):
    first = build()
    old = client.get("/feeds/current/hsds/services.json").data
    change_a_listing()
    second = build()
    assert second.number == first.number + 1
    assert bucket.pointer()["release"] == second.number
    assert bucket.releases() == {first.number, second.number}
    new = client.get("/feeds/current/hsds/services.json")
    assert new.status_code == 200 and new.data != old
    assert new.data == bucket.read(f"releases/{second.number}/hsds/services.json")
    assert new.data == (releases_dir / "current" / "hsds" / "services.json").read_bytes()
    # the earlier release stays addressable by number
    assert client.get(f"/feeds/releases/{first.number}/hsds/services.json").data == old


def test_a_web_node_trusts_its_read_of_the_pointer_for_s3_cache_seconds(
    app, build, bucket, client, monkeypatch
):
    """S3_CACHE_SECONDS: a web node reads current.json at most that often."""
    monkeypatch.setitem(app.config, "S3_CACHE_SECONDS", 3600)
    first = build()
    assert client.get("/feeds/current/manifest.json").get_json()["release"] == first.number
    # another node switches the pointer to a later release: this one keeps its read for now
    bucket.client.put_object(
        Bucket=bucket.name,
        Key=PREFIX + "current.json",
        Body=json.dumps({"release": first.number + 7}).encode(),
    )
    assert client.get("/feeds/current/manifest.json").get_json()["release"] == first.number
    monkeypatch.setitem(app.config, "S3_CACHE_SECONDS", 0)  # a storage that never caches
    later = client.get("/feeds/current/manifest.json")
    assert later.status_code == 404  # the pointer is read again: a release this bucket lacks


def test_credentials_from_the_settings_reach_the_bucket(app, build, bucket, monkeypatch):
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY as the app read them at start-up (here not in
    this process's environment, so boto3 has no other source)."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setitem(app.config, "AWS_ACCESS_KEY_ID", "registry-settings")
    monkeypatch.setitem(app.config, "AWS_SECRET_ACCESS_KEY", "registry-settings-secret")
    result = build()
    assert result.status == "published"
    assert bucket.pointer()["release"] == result.number


def test_an_empty_bucket_and_an_unreachable_one_answer_503(app, bucket, client, monkeypatch):
    empty = client.get("/feeds/current/hsds/services.json")
    assert empty.status_code == 503
    assert empty.get_json()["error"]["detail"] == "No release has been published yet."
    assert client.get("/api/hsds/services").status_code == 503

    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    down = client.get("/feeds/current/hsds/services.json")
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "30"
    assert "cannot be read right now" in down.get_json()["error"]["detail"]
    api = client.get("/api/hsds/services")
    assert api.status_code == 503 and api.is_json


# ------------------------------------------------------------------ rollback, pruning


def test_rollback_switches_the_pointer_without_uploading_again(build, bucket):
    from tasks.publishing.builder import rollback_to

    first = build()
    change_a_listing()
    second = build()
    bucket.puts.clear()
    rollback_to(first.number)
    assert [k.removeprefix(PREFIX) for k in bucket.puts] == ["current.json"]
    assert bucket.pointer()["release"] == first.number
    assert second.number in bucket.releases()


def test_switching_a_deployment_to_s3_uploads_its_current_release(
    app, build, releases_dir, s3_server, aws_env, monkeypatch, client
):
    """A registry published locally, then configured for a bucket: pointing `current` at its
    release again (flask publish --rollback N, documented) uploads it."""
    from tasks.publishing.builder import rollback_to

    result = build()  # RELEASE_STORAGE=local
    name = f"registry-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    for key, value in {
        "RELEASE_STORAGE": "s3",
        "S3_BUCKET": name,
        "S3_ENDPOINT_URL": s3_server,
        "S3_REGION": "us-east-1",
        "S3_CACHE_SECONDS": 0,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    assert client.get("/feeds/current/manifest.json").status_code == 503  # nothing there yet
    rollback_to(result.number)
    resp = client.get("/feeds/current/hsds/services.json")
    assert resp.status_code == 200
    assert resp.data == (releases_dir / "current" / "hsds" / "services.json").read_bytes()


def test_pruning_removes_old_releases_from_the_bucket(app, build, bucket, monkeypatch):
    monkeypatch.setitem(app.config, "RELEASES_KEEP", 2)
    numbers = []
    for word in ("One", "Two", "Three"):
        change_a_listing(word)
        numbers.append(build().number)
    assert bucket.releases() == set(numbers[1:])
    assert bucket.pointer()["release"] == numbers[-1]
    # the manifest of a pruned release went first: it is never complete with files missing
    assert bucket.deletes[0][0] == f"{PREFIX}releases/{numbers[0]}/manifest.json"


def test_pruning_never_removes_the_current_release(build, releases_dir, bucket, tmp_path):
    from tasks.publishing.builder import rollback_to
    from tasks.publishing.storage import release_storage

    numbers = []
    for word in ("One", "Two", "Three"):
        change_a_listing(word)
        numbers.append(build().number)
    rollback_to(numbers[0])  # the oldest is current again
    # an upload that died before its manifest, older than the newest complete release
    bucket.client.put_object(
        Bucket=bucket.name, Key=f"{PREFIX}releases/{numbers[0] - 1}/hsds/services.json", Body=b"[]"
    )
    # a worker whose releases folder kept nothing: only the pointer protects a release
    nothing = tmp_path / "nothing-kept"
    nothing.mkdir()
    dropped = release_storage().prune(nothing, keep=1)
    assert dropped == [numbers[0] - 1, numbers[1]]
    assert bucket.releases() == {numbers[0], numbers[2]}
    assert bucket.pointer()["release"] == numbers[0]
    # a release still kept in the worker's folder stays in the bucket (a rollback target)
    change_a_listing("Four")
    fourth = build().number
    assert release_storage().prune(releases_dir, keep=1) == []
    assert bucket.releases() == {numbers[0], numbers[2], fourth}


# ------------------------------------------------------------------ printed directories


@pytest.fixture
def printing_one(app, monkeypatch):
    """PDFs on, one per-type directory only (the smallest print that exercises the upload)."""
    from tasks.publishing import pdf

    real_plan = pdf.plan
    monkeypatch.setattr(
        pdf, "plan", lambda ctx: [d for d in real_plan(ctx) if d.kind == "type"][:1]
    )
    monkeypatch.setitem(app.config, "PUBLISH_PDFS", True)
    monkeypatch.setitem(app.config, "PDF_WORKERS", 1)


def test_printed_directories_are_uploaded_then_their_print_json(
    build, releases_dir, bucket, client, printing_one, web_node
):
    result = build()
    n = result.number
    folder = releases_dir / "releases" / str(n)
    printed = load_json(folder / "print.json")["files"]
    pdfs = sorted(k for k in printed if k.endswith(".pdf"))
    assert len(pdfs) == 1
    stored = bucket.stored(f"releases/{n}/")
    assert stored == release_keys(folder)
    for rel in printed:
        assert f"releases/{n}/{rel}" in stored and f"releases/{n}/{rel}.gz" in stored
    assert bucket.read(f"releases/{n}/print.json") == (folder / "print.json").read_bytes()
    assert bucket.get(f"releases/{n}/{pdfs[0]}")["ContentType"] == "application/pdf"
    # the print came after the pointer, and print.json after every printed file
    mine = [k.removeprefix(PREFIX) for k in bucket.puts]
    after = mine[mine.index("current.json") + 1 :]
    assert after[-1] == f"releases/{n}/print.json"
    assert set(after[:-1]) == {f"releases/{n}/{r}{z}" for r in printed for z in ("", ".gz")}
    # a web node without the folder serves the PDF from the bucket
    web_node()
    resp = client.get(f"/feeds/current/{pdfs[0]}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data == (folder / pdfs[0]).read_bytes() and resp.data.startswith(b"%PDF")


def test_a_print_whose_upload_fails_is_printed_again(
    build, releases_dir, bucket, printing_one, monkeypatch
):
    """print.json is written in the folder only once the bucket has the print, so the beat's
    resume_print prints again instead of leaving the bucket without the PDFs."""
    from tasks.publishing.printing import resume_print
    from tasks.publishing.storage import S3Storage

    real = S3Storage.add_print
    bucket_down = {"now": True}

    def add_print(self, *args, **kwargs):
        if bucket_down["now"]:
            raise OSError("the bucket refused the upload")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(S3Storage, "add_print", add_print)
    result = build()
    assert result.status == "published"  # the feeds are public; the print failed
    n = result.number
    folder = releases_dir / "releases" / str(n)
    assert not (folder / "print.json").exists()
    assert f"releases/{n}/print.json" not in bucket.stored()
    bucket_down["now"] = False
    assert resume_print() == "printed"
    assert bucket.read(f"releases/{n}/print.json") == (folder / "print.json").read_bytes()


# ------------------------------------------------------------------ configuration


def configure(tmp_path, **settings) -> dict[str, Any]:
    app = Flask("config-check")
    load(app, {"VAR_DIR": str(tmp_path / "var"), "ENV_NAME": "test", **settings})
    return app.config


def test_s3_without_a_bucket_stops_the_app_naming_the_key(tmp_path, monkeypatch, database_url):
    with pytest.raises(ConfigError, match="RELEASE_STORAGE=s3 needs S3_BUCKET"):
        configure(tmp_path, RELEASE_STORAGE="s3")
    # from the environment, as a deployment sets it
    monkeypatch.setenv("RELEASE_STORAGE", "s3")
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        configure(tmp_path)
    # and at start-up, before anything else
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        make_test_app(database_url, tmp_path / "app")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"RELEASE_STORAGE": "S3 please"}, "RELEASE_STORAGE must be local or s3"),
        ({"RELEASE_STORAGE": "s3", "S3_BUCKET": "My_Bucket"}, "S3_BUCKET 'My_Bucket' is not"),
        ({"S3_BUCKET": "ab"}, "is not a bucket name"),
        ({"S3_BUCKET": 12345}, "S3_BUCKET must be text"),
        ({"S3_PREFIX": "/registry/"}, "S3_PREFIX '/registry/' must not start with /"),
        ({"S3_PREFIX": "a//b/"}, "contain //"),
        ({"S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL must be an http:// or https://"),
        ({"S3_ENDPOINT_URL": "ftp://minio"}, "S3_ENDPOINT_URL must be"),
        ({"S3_CACHE_SECONDS": -1}, "S3_CACHE_SECONDS must be a number of seconds"),
        ({"S3_CACHE_SECONDS": "soon"}, "S3_CACHE_SECONDS must be"),
        ({"AWS_ACCESS_KEY_ID": "registry"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go"),
    ],
)
def test_bad_storage_settings_are_refused_by_name(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        configure(tmp_path, **settings)


def test_good_storage_settings_are_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RELEASE_STORAGE", "s3")
    monkeypatch.setenv("S3_BUCKET", "registry-releases")
    monkeypatch.setenv("S3_PREFIX", "mo/crisis")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.setenv("S3_REGION", "us-east-2")
    monkeypatch.setenv("REGISTRY_S3_CACHE_SECONDS", "2.5")
    config = configure(tmp_path)
    assert config["RELEASE_STORAGE"] == "s3"
    assert config["S3_BUCKET"] == "registry-releases"
    # keys are <prefix>releases/...: the "/" is added, never "mo/crisisreleases/..."
    assert config["S3_PREFIX"] == "mo/crisis/"
    assert config["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert config["S3_REGION"] == "us-east-2"
    assert config["S3_CACHE_SECONDS"] == 2.5
    for name in ("RELEASE_STORAGE", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "S3_REGION"):
        monkeypatch.delenv(name)
    monkeypatch.delenv("REGISTRY_S3_CACHE_SECONDS")
    defaults = configure(tmp_path / "plain")
    assert defaults["RELEASE_STORAGE"] == "local" and defaults["S3_PREFIX"] == "registry/"


# ------------------------------------------------------------------ the local default


def test_local_storage_is_the_layout_itself_and_never_calls_a_bucket(
    app, build, releases_dir, client, monkeypatch
):
    from tasks.publishing import layout
    from tasks.publishing.storage import LOCAL, release_storage

    # settings for a bucket that does not exist are not used while RELEASE_STORAGE is local
    monkeypatch.setitem(app.config, "S3_BUCKET", "registry-nowhere")
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    assert app.config["RELEASE_STORAGE"] == "local"
    store = release_storage()
    assert store is LOCAL and not store.is_remote
    # no wrapper on the request path: the pointer is read by the layout's own function
    assert LOCAL.current_number is layout.current_number
    result = build()
    assert store.current_number() == result.number
    resp = client.get("/feeds/current/hsds/services.json")
    assert resp.status_code == 200
    assert resp.data == (releases_dir / "current" / "hsds" / "services.json").read_bytes()
    shutil.rmtree(releases_dir / "releases" / str(result.number))
    assert store.current_number() is None  # the folder is the store


# ------------------------------------------------------------------ live capacity

LIVE_CACHE = "public, max-age=30, must-revalidate"
CAPACITY_URLS = ("/feeds/current/capacity.json", "/api/hsds/capacity")


def capacity_file(releases_dir: Path, suffix: str = "") -> bytes:
    """capacity.json (or its `.gz` twin) as the worker wrote it in its live/ folder."""
    return (releases_dir / "live" / f"capacity.json{suffix}").read_bytes()


def test_write_capacity_puts_the_file_and_its_gzip_twin_in_the_bucket(build, releases_dir, bucket):
    from tasks.capacity import write_capacity

    build()
    bucket.puts.clear()
    bucket.live_puts.clear()
    write_capacity()
    assert not bucket.puts  # nothing of the release is written again
    assert [k.removeprefix(PREFIX) for k in bucket.live_puts] == [
        "live/capacity.json",
        "live/capacity.json.gz",
    ]
    body = capacity_file(releases_dir)
    assert json.loads(body)["sites"], "the release's crisis centers are in the file"
    plain = bucket.get("live/capacity.json")
    assert plain["Body"].read() == body
    assert plain["ContentType"] == "application/json"
    assert "ContentEncoding" not in plain
    assert plain["CacheControl"] == LIVE_CACHE
    packed = bucket.get("live/capacity.json.gz")
    data = packed["Body"].read()
    assert data == capacity_file(releases_dir, ".gz")
    assert gzip.decompress(data) == body
    assert packed["ContentType"] == "application/json"
    assert packed["ContentEncoding"] == "gzip"
    assert packed["CacheControl"] == LIVE_CACHE


def test_a_web_node_without_the_volume_serves_capacity_from_the_bucket(
    app, build, releases_dir, bucket, client, web_node, monkeypatch
):
    for url in CAPACITY_URLS:  # nothing written yet: try again later
        early = client.get(url)
        assert early.status_code == 503 and early.headers["Retry-After"] == "60"
        assert "not been published yet" in early.get_json()["error"]["detail"]
    build()  # the release, then capacity.json written for it (and put in the bucket)
    body = capacity_file(releases_dir)
    packed = capacity_file(releases_dir, ".gz")
    sha = hashlib.sha256(body).hexdigest()[:32]
    web_node()
    assert not (Path(app.config["RELEASES_DIR"]) / "live").exists()

    for url in CAPACITY_URLS:
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.data == body
        assert plain.mimetype == "application/json"
        assert "Content-Encoding" not in plain.headers
        assert plain.headers["ETag"] == f'"{sha}"'  # as a node with the volume answers
        assert plain.headers["Cache-Control"] == LIVE_CACHE
        assert plain.headers["Access-Control-Allow-Origin"] == "*"
        zipped = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.data == packed
        assert zipped.headers["ETag"] == f'"{sha}-gz"'
        assert zipped.headers["Vary"] == "Accept-Encoding"
        for seen, encoding in ((plain, "identity"), (zipped, "gzip")):
            etag = seen.headers["ETag"]
            again = client.get(url, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
            assert again.status_code == 304 and again.data == b""
            assert again.headers["ETag"] == etag
            assert again.headers["Cache-Control"] == LIVE_CACHE

    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    down = client.get("/api/hsds/capacity")
    assert down.status_code == 503 and down.headers["Retry-After"] == "30"
    assert "cannot be read right now" in down.get_json()["error"]["detail"]


def test_a_web_node_reads_capacity_from_the_bucket_at_most_every_s3_cache_seconds(
    app, build, releases_dir, bucket, client, monkeypatch
):
    from tasks.capacity import write_capacity

    monkeypatch.setitem(app.config, "S3_CACHE_SECONDS", 3600)
    build()
    first = client.get("/api/hsds/capacity").data
    assert first == capacity_file(releases_dir)
    # another worker writes the file: this node keeps its read for now
    other = json.dumps({**json.loads(first), "sites": []}).encode()
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + "live/capacity.json", Body=other)
    assert client.get("/api/hsds/capacity").data == first
    monkeypatch.setitem(app.config, "S3_CACHE_SECONDS", 0)  # a storage that never caches
    assert client.get("/api/hsds/capacity").data == other
    # a process serves its own write at once, whatever it read before
    monkeypatch.setitem(app.config, "S3_CACHE_SECONDS", 3600)
    write_capacity()
    mine = client.get("/api/hsds/capacity").data
    assert mine == capacity_file(releases_dir) and mine != other


@pytest.mark.parametrize("fault", ["unreachable", "no such bucket"])
def test_a_bucket_that_refuses_capacity_never_fails_the_writer(
    app, build, releases_dir, bucket, monkeypatch, caplog, fault
):
    from tasks.capacity import publish_capacity

    build()
    for old in (releases_dir / "live").iterdir():
        old.unlink()
    if fault == "unreachable":
        monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    else:
        monkeypatch.setitem(app.config, "S3_BUCKET", f"registry-gone-{uuid.uuid4().hex[:12]}")
    with caplog.at_level(logging.WARNING, logger="tasks.capacity"):
        written = publish_capacity()  # the minute beat's task
    assert written == str(releases_dir / "live" / "capacity.json")
    assert gzip.decompress(capacity_file(releases_dir, ".gz")) == capacity_file(releases_dir)
    (record,) = [r for r in caplog.records if r.name == "tasks.capacity"]
    assert record.levelno == logging.WARNING
    assert "capacity.json written to" in record.getMessage()
    assert "live/capacity.json failed" in record.getMessage()


def test_local_storage_serves_capacity_from_the_volume_and_never_calls_a_bucket(
    app, build, releases_dir, client, monkeypatch
):
    from tasks.capacity import write_capacity
    from tasks.publishing.storage import S3Storage

    calls: list[str] = []
    for name in ("__init__", "put_live", "get_live", "read_key", "_put"):
        monkeypatch.setattr(S3Storage, name, lambda *a, _name=name, **k: calls.append(_name))
    # settings for a bucket that does not exist are not used while RELEASE_STORAGE is local
    monkeypatch.setitem(app.config, "S3_BUCKET", "registry-nowhere")
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    assert app.config["RELEASE_STORAGE"] == "local"
    build()
    write_capacity()
    plain = client.get("/feeds/current/capacity.json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.data == capacity_file(releases_dir)
    zipped = client.get("/api/hsds/capacity", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.data == capacity_file(releases_dir, ".gz")
    assert calls == []
