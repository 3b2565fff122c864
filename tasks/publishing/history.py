"""The release history (`history.json`): for every service ever published, the spans of
releases in which it was public and the release in which its content last changed. Each
release carries the whole history forward from the previous one, so the answer to "what was
added, changed or removed since release N (or since time T)?" needs only the current release,
however many releases were pruned from disk since.

    {"releases": [[number, created_at], ...],          # oldest first
     "services": {id: {"spans": [[from, to|null], ...], "modified": number}}}

A span [from, to] means public in releases from..to-1; `to` is null while it is public."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from .context import BuildContext, timestamp

KEEP_RELEASES = 5000  # about ten days of releases every three minutes; older `since` -> full sync


def previous_history(ctx: BuildContext) -> dict[str, Any] | None:
    if ctx.previous_dir is None:
        return None
    path = ctx.previous_dir / "history.json"
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def bootstrap(ctx: BuildContext, previous_ids: Iterable[str]) -> dict[str, Any]:
    """A history for a release built on one that had none: it begins at the previous release."""
    previous_ids = list(previous_ids)
    if not previous_ids or ctx.previous_dir is None:
        return {"releases": [], "services": {}}
    manifest = json.loads((ctx.previous_dir / "manifest.json").read_bytes())
    prev = int(manifest["release"])
    return {
        "releases": [[prev, manifest["created_at"]]],
        "services": {sid: {"spans": [[prev, None]], "modified": prev} for sid in previous_ids},
    }


def advance(history: dict[str, Any], number: int, created_at: str, changes: dict[str, Any]) -> None:
    """Record release `number` and its added / changed / removed ids."""
    services = history["services"]
    for sid in changes["added"]:
        entry = services.setdefault(sid, {"spans": [], "modified": number})
        entry["spans"].append([number, None])
        entry["modified"] = number
    for sid in changes["changed"]:
        services[sid]["modified"] = number
    for sid in changes["removed"]:
        entry = services.get(sid)
        if entry and entry["spans"] and entry["spans"][-1][1] is None:
            entry["spans"][-1][1] = number
    history["releases"].append([number, created_at])
    if len(history["releases"]) > KEEP_RELEASES:
        history["releases"] = history["releases"][-KEEP_RELEASES:]
        first = history["releases"][0][0]
        for sid in list(services):
            spans = [s for s in services[sid]["spans"] if s[1] is None or s[1] > first]
            if spans:
                services[sid]["spans"] = spans
            else:
                del services[sid]


def write_history(ctx: BuildContext) -> None:
    from .writers import dump_json, previous_state

    history = previous_history(ctx) or bootstrap(ctx, previous_state(ctx))
    advance(history, ctx.number, timestamp(ctx.created_at), ctx.changes)
    ctx.write("history.json", dump_json(history))


# ------------------------------------------------------------------ reading


class HistoryGap(LookupError):
    """The history does not reach back to the release asked about."""


def public_in(spans: list[list[int | None]], number: int) -> bool:
    return any(start <= number and (end is None or number < end) for start, end in spans)


def release_at(history: dict[str, Any], moment: datetime) -> int:
    """The newest release created at or before `moment` (a datetime); 0 before the first."""
    releases = history["releases"]
    found = 0
    for number, created in releases:
        if datetime.fromisoformat(created.replace("Z", "+00:00")) <= moment:
            found = number
        else:
            break
    if found == 0 and releases and releases[0][0] != 1:
        raise HistoryGap(f"the history begins at release {releases[0][0]}")
    return found


def changes_since(history: dict[str, Any], since: int, current: int) -> dict[str, list[str]]:
    """What a client holding release `since` (0: nothing) must do to hold release `current`."""
    known = {n for n, _ in history["releases"]}
    if since != 0 and since not in known:
        first = history["releases"][0][0] if history["releases"] else current
        raise HistoryGap(
            f"release {since} is not in the current release's history "
            f"(it covers releases {first} to {current})"
        )
    if since == 0 and history["releases"] and history["releases"][0][0] != 1:
        raise HistoryGap(f"the history begins at release {history['releases'][0][0]}")
    added, changed, removed = [], [], []
    for sid, entry in history["services"].items():
        now = public_in(entry["spans"], current)
        then = since != 0 and public_in(entry["spans"], since)
        if now and not then:
            added.append(sid)
        elif now and then and entry["modified"] > since:
            changed.append(sid)
        elif then and not now:
            removed.append(sid)
    return {"added": sorted(added), "changed": sorted(changed), "removed": sorted(removed)}
