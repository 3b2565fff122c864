"""Feeds never wait for print: a release's feed files are public before its printed
directories render, and the PDFs join the same release afterwards without changing a file
already written."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from models import Listing, PublishRun, Release, db
from tests.publishing.conftest import load_json


@pytest.fixture
def printing(app, monkeypatch):
    """PDFs on, limited to the per-type directories of the demo (the statewide and regional
    ones are the same code and only slower)."""
    from tasks.publishing import pdf

    real_plan = pdf.plan
    monkeypatch.setattr(
        pdf, "plan", lambda ctx: [d for d in real_plan(ctx) if d.kind == "type"][:3]
    )
    monkeypatch.setitem(app.config, "PUBLISH_PDFS", True)
    monkeypatch.setitem(app.config, "PDF_WORKERS", 1)  # assembled in this process: watched


@pytest.fixture
def renders(monkeypatch):
    """Wraps the assembly of each directory (its parts are rendered just before): runs
    `before_each` (if set, with the directory's file name) then assembles."""
    from tasks.publishing import builder, pdf

    # assembled by the print itself, after the feeds, not beside them (tested below)
    monkeypatch.setattr(builder, "start_early_render", lambda ctx: None)
    real = pdf.assemble
    state = {"calls": [], "before_each": None}

    def watched(planned, *rest):
        target = Path(planned.doc.key)
        state["calls"].append(target.name)
        if state["before_each"]:
            state["before_each"](target)
        return real(planned, *rest)

    monkeypatch.setattr(pdf, "assemble", watched)
    return state


def change_a_listing(service_type: str | None = None) -> None:
    query = db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    lst = db.session.scalars(query).first()
    data = dict(lst.live_revision.data)
    data["description"] = (data.get("description") or "") + " Updated."
    lst.live_revision.data = data
    db.session.commit()


def test_feeds_are_public_before_the_printed_directories_render(
    build, releases_dir, client, printing, renders
):
    seen = []

    def while_printing(target):
        seen.append(
            {
                "current": os.readlink(releases_dir / "current"),
                "feed": client.get("/feeds/current/hsds/services.json").status_code,
                "pdf": client.get(f"/feeds/current/pdf/{target.name}"),
                "manifest": (releases_dir / "current" / "manifest.json").read_bytes(),
            }
        )

    renders["before_each"] = while_printing
    result = build()
    assert result.status == "published" and len(seen) == 3
    folder = releases_dir / "releases" / str(result.number)
    for moment in seen:
        assert moment["current"] == f"releases/{result.number}"
        assert moment["feed"] == 200
        # the first release has no earlier print to point at: not ready yet, try again
        assert moment["pdf"].status_code == 503
        assert moment["pdf"].headers["Retry-After"] == "60"
        assert "being prepared" in moment["pdf"].get_json()["error"]["detail"]
    manifest = load_json(folder / "manifest.json")
    assert manifest["print"] == {"status": "pending", "manifest": "print.json"}
    assert not any(name.startswith("pdf/") for name in manifest["files"])
    # nothing written before the print changed; the print is described by its own file
    assert (folder / "manifest.json").read_bytes() == seen[0]["manifest"]
    printed = load_json(folder / "print.json")
    assert printed["release"] == result.number
    pdfs = {k for k in printed["files"] if k.endswith(".pdf")}
    assert len(pdfs) == 3 and "pdf/inputs.json" in printed["files"]
    for rel, meta in printed["files"].items():
        data = (folder / rel).read_bytes()
        assert meta["sha256"] == hashlib.sha256(data).hexdigest() and meta["bytes"] == len(data)
    resp = client.get(f"/feeds/current/{sorted(pdfs)[0]}")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert client.get(f"/feeds/releases/{result.number}/{sorted(pdfs)[0]}").status_code == 200
    assert not list(releases_dir.glob(".print-*"))
    # the admin's release page lists the printed files too
    row = db.session.scalar(db.select(Release).filter_by(number=result.number))
    assert pdfs <= set(row.files)
    run = db.session.get(PublishRun, result.run_id)
    assert run.status == "published" and run.step_label.endswith("printed directories printed")


def test_while_a_release_prints_current_pdfs_point_at_the_last_printed_release(
    build, releases_dir, client, printing, renders
):
    first = build()
    renders["calls"].clear()
    change_a_listing()
    seen = []

    def while_printing(target):
        resp = client.get(f"/feeds/current/pdf/{target.name}")
        seen.append(
            (resp.status_code, resp.headers.get("Location"), resp.headers.get("Cache-Control"))
        )

    renders["before_each"] = while_printing
    second = build()
    assert second.number == first.number + 1
    # only the directory whose listings changed renders again; the others are reused
    assert 1 <= len(renders["calls"]) < 3
    for code, location, cache in seen:
        assert code == 302 and cache == "no-store"
        assert location.startswith(f"/feeds/releases/{first.number}/pdf/")
    name = renders["calls"][0]
    assert client.get(f"/feeds/current/pdf/{name}").status_code == 200
    # a release's own URL never redirects: before its print, 503; after, its file
    assert client.get(f"/feeds/releases/{second.number}/pdf/{name}").status_code == 200


def test_a_print_that_died_is_finished_by_the_beat_and_the_feeds_stay_published(
    build, releases_dir, client, printing, renders
):
    from tasks.publish import publish_pending

    def die(target):
        raise OSError("worker killed while printing")

    renders["before_each"] = die
    result = build()
    assert result.status == "published"  # the feeds are out whatever happened to print
    folder = releases_dir / "releases" / str(result.number)
    assert not (folder / "print.json").exists() and not list(releases_dir.glob(".print-*"))
    run = db.session.get(PublishRun, result.run_id)
    assert "printing: OSError" in run.error
    assert client.get("/feeds/current/hsds/services.json").status_code == 200

    renders["before_each"] = None
    assert publish_pending() == {"status": "print printed", "number": None}
    assert (folder / "print.json").exists()
    assert publish_pending() == {"status": "idle", "number": None}  # nothing left to do


def test_with_printing_off_the_manifest_says_so(build, releases_dir):
    result = build()
    manifest = json.loads((releases_dir / "current" / "manifest.json").read_bytes())
    assert manifest["print"] == {"status": "off"}
    assert not (releases_dir / "releases" / str(result.number) / "print.json").exists()


@pytest.fixture
def fan_outs(monkeypatch):
    """The parts each print renders itself (after the feeds), by file name."""
    from tasks.publishing import pdf

    real = pdf.fan_out
    calls: list[list[str]] = []

    def watched(jobs):
        calls.append(sorted(Path(target).name for _, target in jobs))
        return real(jobs)

    monkeypatch.setattr(pdf, "fan_out", watched)
    return calls


def test_a_release_renders_its_changed_parts_beside_its_feeds(
    app, build, releases_dir, printing, fan_outs, monkeypatch
):
    from tasks.publishing import pdf

    build()
    lst = db.session.scalars(
        db.select(Listing).where(Listing.live_revision_id.is_not(None)).order_by(Listing.id)
    ).first()
    data = dict(lst.live_revision.data)
    data["phones"] = [{**data["phones"][0], "number": "+15735559876"}, *data["phones"][1:]]
    lst.live_revision.data = data  # a printed line changes: its parts are laid out again
    db.session.commit()
    early, assembled = [], []
    real_discard, real_assembled = pdf.EarlyRender.discard, pdf.EarlyRender.assembled

    def discard(self, timeout=60):
        real_discard(self, timeout)
        early.append(self.process.exitcode)  # it exited of itself, after the print took its work

    def watched(self):
        done = real_assembled(self)
        assembled.append({key: (self.folder / key).is_file() for key in done})
        return done

    monkeypatch.setattr(pdf.EarlyRender, "discard", discard)
    monkeypatch.setattr(pdf.EarlyRender, "assembled", watched)
    before = set(pdf.parts_dir().glob("*.pdf"))
    fan_outs.clear()
    plans = []  # plans made in this process (the early render's are made in its own)
    real_plan = pdf.plan_parts
    monkeypatch.setattr(pdf, "plan_parts", lambda *a: plans.append(1) or real_plan(*a))
    second = build()
    assert plans == []  # the print took the plan of the process beside the feeds
    assert second.status == "published" and early[0] == 0
    rendered = set(pdf.parts_dir().glob("*.pdf")) - before
    assert rendered  # the changed listing's parts, rendered by the process beside the feeds
    assert all(jobs == [] for jobs in fan_outs)  # so the print renders nothing itself
    folder = releases_dir / "releases" / str(second.number)
    pdfs = [k for k in load_json(folder / "print.json")["files"] if k.endswith(".pdf")]
    assert len(pdfs) == 3
    # the directories that print the listing were assembled beside the feeds too, and moved in
    assert assembled[0] and all(assembled[0].values()) and set(assembled[0]) <= set(pdfs)
    for rel in pdfs:
        assert (folder / rel).read_bytes().startswith(b"%PDF")
    assert not list(releases_dir.glob(".early-*"))  # its folder is gone with the print


def test_documents_an_early_render_assembled_from_other_inputs_are_assembled_again(
    app, build, releases_dir, printing, renders, monkeypatch
):
    """A document the early render assembled is used only if its inputs are those the print
    planned: any other is assembled by the print."""
    from tasks.publishing import builder, pdf

    monkeypatch.setattr(builder, "start_early_render", pdf.start_early_render)  # back on
    real_assembled = pdf.EarlyRender.assembled

    def stale(self):
        return {key: "another digest" for key in real_assembled(self)}

    monkeypatch.setattr(pdf.EarlyRender, "assembled", stale)
    result = build()
    assert result.status == "published"
    assert len(renders["calls"]) == 3  # the print assembled every directory itself
    folder = releases_dir / "releases" / str(result.number)
    pdfs = [k for k in load_json(folder / "print.json")["files"] if k.endswith(".pdf")]
    assert len(pdfs) == 3
    assert not list(releases_dir.glob(".early-*"))


def test_parts_an_early_render_did_not_reach_are_rendered_by_the_print(
    app, build, releases_dir, printing, fan_outs, monkeypatch, tmp_path
):
    from tasks.publishing import pdf

    monkeypatch.setitem(app.config, "VAR_DIR", str(tmp_path / "var"))  # an empty parts cache
    real_start = pdf.EarlyRender.__init__

    def killed_at_once(self, ctx):
        real_start(self, ctx)
        self.process.kill()  # a process that died before its first part

    monkeypatch.setattr(pdf.EarlyRender, "__init__", killed_at_once)
    first = build()
    assert first.status == "published"
    assert fan_outs[-1]  # the print rendered the parts itself
    folder = releases_dir / "releases" / str(first.number)
    pdfs = [k for k in load_json(folder / "print.json")["files"] if k.endswith(".pdf")]
    assert len(pdfs) == 3
    for rel in pdfs:
        assert (folder / rel).read_bytes().startswith(b"%PDF")


def test_a_build_whose_early_render_cannot_start_publishes_and_prints(
    app, build, releases_dir, printing, fan_outs, monkeypatch
):
    from tasks.publishing import pdf

    def refused(self, ctx):
        raise OSError("no process for you")

    monkeypatch.setattr(pdf.EarlyRender, "__init__", refused)
    result = build()
    assert result.status == "published"
    folder = releases_dir / "releases" / str(result.number)
    assert len([k for k in load_json(folder / "print.json")["files"] if k.endswith(".pdf")]) == 3


def test_the_processes_that_print_collect_their_garbage_cycles(
    app, build, printing, monkeypatch, tmp_path
):
    """The build runs without the cyclic collector (`no_cyclic_gc`), but the processes forked
    from it to render and assemble do not: WeasyPrint's layouts are cyclic garbage, and a
    renderer that never collected it grew by megabytes a part (to 726 MB at 5,000 listings)."""
    import gc

    from tasks.publishing import pdf

    monkeypatch.setitem(app.config, "VAR_DIR", str(tmp_path / "var"))  # every part rendered
    monkeypatch.setitem(app.config, "PDF_WORKERS", 2)  # rendered and assembled side by side
    seen = tmp_path / "collectors"

    def note(what: str) -> None:
        with seen.open("a") as f:  # from forked processes: appended lines, one write each
            f.write(f"{what} {os.getpid()} {gc.isenabled()}\n")

    real_render, real_assemble = pdf.render_part, pdf.assemble

    def render_part(html, target):
        note("render")
        return real_render(html, target)

    def assemble(*args):
        note("assemble")
        return real_assemble(*args)

    monkeypatch.setattr(pdf, "render_part", render_part)
    monkeypatch.setattr(pdf, "assemble", assemble)
    assert build().status == "published"
    lines = [line.split() for line in seen.read_text().splitlines()]
    assert {what for what, _, _ in lines} == {"render", "assemble"}
    assert len({pid for _, pid, _ in lines} - {str(os.getpid())}) >= 2  # in other processes
    assert all(enabled == "True" for _, _, enabled in lines), lines


def test_after_an_approval_the_plan_makes_only_the_changed_listings_entry(
    app, build, printing, monkeypatch, tmp_path
):
    """The early render plans in a child process; the entries it makes are kept by the build's
    process, from which the next early render is forked: it makes only what changed."""
    from tasks.publishing import pdf

    monkeypatch.setattr(pdf, "_VIEWS", {"key": None, "views": {}})  # nothing from other tests
    made = tmp_path / "made"
    real = pdf.made_entries

    def counted():
        with made.open("a") as f:  # written in the child
            f.write(f"{len(pdf._VIEWS['made'])}\n")
        return real()

    monkeypatch.setattr(pdf, "made_entries", counted)
    first = build()
    printed = len(pdf.printed(first.context.records))
    assert printed > 1 and len(pdf._VIEWS["views"]) == printed  # kept here, made there
    change_a_listing()
    assert build().status == "published"
    assert made.read_text().split() == [str(printed), "1"]


def test_a_directory_reused_whole_is_described_as_before_and_not_read_again(tmp_path):
    """A printed directory reused from the previous release is a hard link to its file: its
    description (size, hash, gzip) is the previous print's, its gzip twin a link too."""
    from tasks.publishing.builder import finish_files

    before, work = tmp_path / "7", tmp_path / "work"
    (before / "pdf").mkdir(parents=True)
    (work / "pdf").mkdir(parents=True)
    for name, body in [("statewide.pdf", b"%PDF old"), ("pdf/type-a.pdf", b"%PDF same")]:
        (before / name).write_bytes(body)
        (before / (name + ".gz")).write_bytes(b"gz of " + body)
    described = {"bytes": 9, "sha256": "as the previous print said", "gzip_bytes": 15}
    (before / "print.json").write_text(
        json.dumps({"files": {"pdf/type-a.pdf": described, "statewide.pdf": described}})
    )
    os.link(before / "pdf/type-a.pdf", work / "pdf/type-a.pdf")  # reused whole
    (work / "statewide.pdf").write_bytes(b"%PDF new")  # assembled again

    files = finish_files(work, before, "print.json")
    assert files["pdf/type-a.pdf"] == described  # taken from the link, not hashed again
    assert os.path.samefile(work / "pdf/type-a.pdf.gz", before / "pdf/type-a.pdf.gz")
    new = files["statewide.pdf"]
    assert new["sha256"] == hashlib.sha256(b"%PDF new").hexdigest() and new["bytes"] == 8
    assert not os.path.samefile(work / "statewide.pdf", before / "statewide.pdf")


def test_the_longest_directorys_cover_is_rendered_by_a_helper_beside_its_parts(
    app, build, printing, monkeypatch, tmp_path
):
    """The cover needs no part: a helper renders the longest directory's while the parts
    render, and the process that assembles that directory uses it; the others' covers are
    rendered where they are assembled."""
    from tasks.publishing import pdf

    monkeypatch.setitem(app.config, "VAR_DIR", str(tmp_path / "var"))  # parts to render
    monkeypatch.setitem(app.config, "PDF_WORKERS", 2)
    seen = tmp_path / "seen"

    def note(what: str, key: str) -> None:
        with seen.open("a") as f:
            f.write(f"{what} {Path(key).name} {os.getpid()}\n")

    real_cover, real_assemble = pdf.render_cover, pdf.assemble

    def render_cover(doc, *rest):
        note("cover", doc.key)
        return real_cover(doc, *rest)

    def assemble(planned, *rest):
        note("assemble", planned.doc.key)
        return real_assemble(planned, *rest)

    monkeypatch.setattr(pdf, "render_cover", render_cover)
    monkeypatch.setattr(pdf, "assemble", assemble)
    result = build()
    assert result.status == "published"
    where = {
        (what, key): pid for what, key, pid in (ln.split() for ln in seen.read_text().splitlines())
    }
    docs = sorted(pdf.plan(result.context), key=lambda d: -len(d.records))
    longest, others = Path(docs[0].key).name, [Path(d.key).name for d in docs[1:]]
    assert where[("cover", longest)] != where[("assemble", longest)]  # by a helper
    assert str(os.getpid()) not in {where[("cover", longest)], where[("assemble", longest)]}
    assert all(where[("cover", key)] == where[("assemble", key)] for key in others)
    folder = result.context.out_dir
    assert not list(Path(folder).rglob("*.cover.pdf"))  # no cover left behind


def test_records_are_taken_from_the_last_build_as_they_were_made(
    app, build, releases_dir, printing
):
    """A build takes an unchanged service's record from the process's last build (`_LAST`),
    not parsing the kept one: which holds only if nothing changes a record once made. After
    a build with its print, each record is still the JSON the release kept for it; the next
    build's records are those very objects, the changed listing's made again."""
    import orjson

    from models.listings import snapshot
    from tasks.publishing.builder import read_kept_records

    first = build()
    assert first.status == "published"
    kept = read_kept_records(releases_dir, first.number)
    assert len(snapshot._LAST) == len(first.context.records) >= 10
    for sid, (digest, record) in snapshot._LAST.items():
        assert record == orjson.loads(kept.source(sid, digest)), sid
    before = {sid: record for sid, (_, record) in snapshot._LAST.items()}
    change_a_listing()
    second = build()
    changed = {r["id"] for r in second.context.records if r is not before.get(r["id"])}
    assert len(changed) == 1


def test_the_print_takes_the_early_renders_work_without_waiting_for_it_to_exit(
    app, build, releases_dir, printing, monkeypatch
):
    """The early render says when its outcome is written; the print takes the documents then,
    while the process and its helpers exit (which takes a while for processes of several
    hundred megabytes), and reaps it afterwards."""
    import time

    from tasks.publishing import pdf

    test_pid = os.getpid()
    real_exit, real_take = pdf.Assembly.__exit__, pdf._take_early

    def slow_exit(self, *exc):
        real_exit(self, *exc)
        if os.getpid() != test_pid:  # the early render's helpers stop slowly
            time.sleep(1.5)

    alive = []

    def take(ctx, cache, progress):
        alive.append(ctx.early_render.process.is_alive())
        return real_take(ctx, cache, progress)

    monkeypatch.setattr(pdf.Assembly, "__exit__", slow_exit)
    monkeypatch.setattr(pdf, "_take_early", take)
    result = build()
    assert result.status == "published"
    assert alive == [True]  # taken while it was still on its way out
    folder = releases_dir / "releases" / str(result.number)
    assert len([k for k in load_json(folder / "print.json")["files"] if k.endswith(".pdf")]) == 3
    assert not pdf.multiprocessing.active_children()  # reaped
