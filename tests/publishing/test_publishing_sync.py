"""Incremental sync, as a downstream developer writes it: clients that follow the registry over
20 random releases (content edits, organization changes, suspensions, reinstatements,
certification expiries and renewals) by `/changes?since=<release>`, by `modified_after` plus
`/changes?since=<time>` for removals, some polling after every release and some skipping
releases, must each hold exactly what a fresh full download holds."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from models import Certification, Listing, Organization, db, today, utcnow

RELEASES = 20


@pytest.fixture(autouse=True)
def feeds_only(app):
    app.config["PUBLISH_PDFS"] = False  # the printed directories have their own tests


def get(client, url):
    resp = client.get(url, headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200, (url, resp.get_data(as_text=True))
    return json.loads(resp.get_data())


def full_download(client, query: str = "") -> dict[str, dict]:
    out, page = {}, 1
    while True:
        body = get(client, f"/api/hsds/services?full=true&per_page=500&page={page}{query}")
        out.update({d["id"]: d for d in body["contents"]})
        if body["last_page"]:
            return out
        page += 1


def manifest(client) -> dict:
    return get(client, "/feeds/current/manifest.json")


class ChangesClient:
    """Follows /api/hsds/changes?since=<release number>."""

    def __init__(self, client, every: float):
        self.client, self.every = client, every
        self.data = full_download(client)
        self.release = manifest(client)["release"]

    def sync(self) -> None:
        body = get(self.client, f"/api/hsds/changes?since={self.release}")
        for sid in body["added"] + body["changed"]:
            self.data[sid] = get(self.client, f"/api/hsds/services/{sid}")
        for sid in body["removed"]:
            del self.data[sid]
        self.release = body["release"]


class ModifiedAfterClient:
    """Fetches `modified_after=<created_at of the release it holds>`, and learns removals from
    /api/hsds/changes?since=<that same time>."""

    def __init__(self, client, every: float):
        self.client, self.every = client, every
        self.data = full_download(client)
        self.stamp = manifest(client)["created_at"]

    def sync(self) -> None:
        now = manifest(self.client)["created_at"]
        self.data.update(full_download(self.client, f"&modified_after={self.stamp}"))
        for sid in get(self.client, f"/api/hsds/changes?since={self.stamp}")["removed"]:
            del self.data[sid]
        self.stamp = now


def public_listings() -> list[Listing]:
    return db.session.scalars(
        db.select(Listing)
        .where(Listing.live_revision_id.is_not(None), Listing.is_suspended.is_(False))
        .order_by(Listing.id)
    ).all()


def edit_listing(rng: random.Random) -> str:
    lst = rng.choice(public_listings())
    data = dict(lst.live_revision.data)
    data["description"] = (data.get("description") or "") + f" Update {rng.randint(1, 10**6)}."
    lst.live_revision.data = data
    return f"edit {lst.id}"


def change_organization(rng: random.Random) -> str:
    org = rng.choice(sorted({lst.organization for lst in public_listings()}, key=lambda o: o.id))
    org.phone = f"573555{rng.randint(1000, 9999)}"
    return f"org phone {org.id}"


def suspend(rng: random.Random) -> str:
    lst = rng.choice(public_listings())
    lst.is_suspended, lst.suspended_at, lst.suspended_reason = True, utcnow(), "sync test"
    return f"suspend {lst.id}"


def reinstate(rng: random.Random) -> str:
    suspended = db.session.scalars(
        db.select(Listing).where(Listing.is_suspended.is_(True)).order_by(Listing.id)
    ).all()
    if not suspended:
        return suspend(rng)
    lst = rng.choice(suspended)
    lst.is_suspended, lst.suspended_at, lst.suspended_reason = False, None, ""
    return f"reinstate {lst.id}"


def expire_certification(rng: random.Random) -> str:
    active = db.session.scalars(
        db.select(Certification)
        .where(Certification.expires_on > today())
        .order_by(Certification.id)
    ).all()
    cert = rng.choice(active)
    cert.expires_on = today() - timedelta(days=1)
    return f"expire certification {cert.id}"


def renew_certification(rng: random.Random) -> str:
    lapsed = db.session.scalars(
        db.select(Certification)
        .where(Certification.expires_on < today())
        .order_by(Certification.id)
    ).all()
    if not lapsed:
        return expire_certification(rng)
    cert = rng.choice(lapsed)
    cert.expires_on = today() + timedelta(days=200)
    return f"renew certification {cert.id}"


OPERATIONS = [
    edit_listing,
    edit_listing,
    change_organization,
    suspend,
    reinstate,
    expire_certification,
    renew_certification,
]


def test_clients_syncing_over_20_random_releases_match_a_full_download(client, build):
    assert build().status == "published"
    rng = random.Random(20261204)
    clients = [
        ChangesClient(client, every=1.0),
        ChangesClient(client, every=0.3),  # polls after some releases only
        ModifiedAfterClient(client, every=1.0),
        ModifiedAfterClient(client, every=0.4),
    ]
    published, done, kinds = 0, [], set()
    while published < RELEASES:
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(OPERATIONS)
            done.append(op(rng))
            kinds.add(op.__name__)
        db.session.commit()
        if build().status != "published":
            continue  # the operations cancelled out: nothing new to follow
        published += 1
        truth = full_download(client)
        for c in clients:
            if rng.random() < c.every or published == RELEASES:
                c.sync()
                assert c.data == truth, (type(c).__name__, c.every, done[-3:])
    assert kinds == {op.__name__ for op in OPERATIONS}
    assert manifest(client)["release"] >= RELEASES + 1


def test_last_modified_is_the_release_in_which_the_content_changed(client, build):
    assert build().status == "published"
    first = manifest(client)
    lst = public_listings()[0]
    sibling_ids = {o.uuid for o in public_listings() if o.organization_id == lst.organization_id}
    org = db.session.get(Organization, lst.organization_id)
    org.phone = "5735550123"  # an organization change moves all of its services
    db.session.commit()
    assert build().status == "published"
    second = manifest(client)
    body = get(
        client, f"/api/hsds/services?minimal=true&per_page=500&modified_after={first['created_at']}"
    )
    assert {d["id"] for d in body["contents"]} == sibling_ids
    assert {d["last_modified"] for d in body["contents"]} == {second["created_at"]}
    changes = get(client, f"/api/hsds/changes?since={first['release']}")
    assert set(changes["changed"]) == sibling_ids and not changes["added"] + changes["removed"]

    lst.is_suspended, lst.suspended_at = True, utcnow()  # suspended, published ...
    db.session.commit()
    assert build().status == "published"
    third = manifest(client)
    lst.is_suspended, lst.suspended_at = False, None  # ... reinstated, published
    db.session.commit()
    assert build().status == "published"
    fourth = manifest(client)
    back = get(client, f"/api/hsds/services/{lst.uuid}")
    assert back["last_modified"] == fourth["created_at"]  # not its old value
    body = get(client, f"/api/hsds/services?minimal=true&modified_after={third['created_at']}")
    assert [d["id"] for d in body["contents"]] == [lst.uuid]
    across = get(client, f"/api/hsds/changes?since={second['release']}")
    assert across["changed"] == [lst.uuid] and not across["added"] + across["removed"]
    assert get(client, f"/api/hsds/changes?since={third['release']}")["added"] == [lst.uuid]
    assert get(client, f"/api/hsds/changes?since={fourth['created_at']}")["since"] == {
        "release": fourth["release"],
        "created_at": fourth["created_at"],
    }
    everything = get(client, "/api/hsds/changes?since=0")
    assert set(everything["added"]) == set(full_download(client))


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("since=", 400),
        ("since=yesterday", 400),
        ("since=-1", 400),
        ("since=999999", 410),
        ("since=1&since=2", 400),
        ("from=1", 400),
    ],
)
def test_changes_refuses_what_it_cannot_answer_naming_since(client, build, query, status):
    assert build().status == "published"
    resp = client.get(f"/api/hsds/changes?{query}")
    assert resp.status_code == status and resp.is_json
    assert resp.get_json()["error"]["parameter"] in ("since", "from")
