"""Provider portal: the organization's dashboard, the listing editor and its review steps,
certifications and their documents.

Every view: load (another organization's object answers 404) → `can()` (403) → validate the
form → one domain operation → commit once → redirect."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from forms.certification import CertificationForm, DocumentForm
from forms.listing import ListingForm, form_values, pad_rows
from models import (
    Certification,
    CertificationStatus,
    CertificationType,
    ConflictError,
    County,
    Document,
    DocumentType,
    Listing,
    ListingRevision,
    Region,
    ReviewComment,
    RevisionState,
    ServiceType,
    WorkflowError,
    can,
    db,
    eligibility,
    today,
    utcnow,
)
from models.base import NoChangesError
from models.certifications import ACTIVE_STATUSES, OPEN_STATUSES, attach_document, renewed
from models.listings import (
    DAYS,
    FIELD_LABELS,
    FIELDS,
    OPEN_STATES,
    AttentionRank,
    CertificationIndex,
    ListingRuleError,
    check_revision,
    diff,
    display_value,
)
from models.listings import workflow as wf
from models.reference import county_names

from .. import documents as files
from ..access import load_or_404, requires
from ..operations import refuse, run
from ..pagination import Part, SortKey, page_or_first
from . import bp

EXPIRY_WARNING_DAYS = 90


def pending_renewals(certs) -> dict[int, Certification]:
    """Certificate id -> its renewal DMH is still deciding (one per certificate)."""
    return {c.renews_id: c for c in certs if c.renews_id and c.status in OPEN_STATUSES}


def _org():
    return current_user.organization


# ------------------------------------------------------------------ dashboard


def listing_states(listing: Listing, open_rev: ListingRevision | None, stale_before) -> list[str]:
    states = []
    if listing.is_suspended:
        states.append("suspended")
    if listing.live_revision_id is not None:
        states.append("live")
    if open_rev is not None:
        states.append(open_rev.state)
    if listing.live_revision_id is not None and (
        listing.stale_since is not None
        or listing.verified_at is None
        or listing.verified_at < stale_before
    ):
        states.append("stale")
    return states


def listing_attention(states: list[str]) -> list[str]:
    attention = []
    if RevisionState.CHANGES_REQUESTED in states:
        attention.append("DMH asked for changes.")
    if "stale" in states:
        attention.append("Not verified in the last 12 months: confirm it or update it.")
    if "suspended" in states:
        attention.append("Suspended by DMH.")
    return attention


def dashboard_listings(org_id: int, stale_before) -> tuple[list[Part], list[SortKey]]:
    """The ids of the organization's listings and of their open revision, in the dashboard's
    order: what needs action first, then drafts not yet submitted, then the rest, each by name
    (the rules of `listing_states` / `listing_attention`). The listing stores its rank and
    name (Listing.set_sort_keys), so a page is read in order from an index; what time changes
    without a write, a live listing's verification coming due, is a second part: those
    listings (not yet flagged stale by the sweep) rank as needing action."""
    open_rev = aliased(ListingRevision, name="open_rev")
    rows = (
        select(Listing.id, open_rev.id)
        .outerjoin(
            open_rev,
            and_(
                open_rev.listing_id == Listing.id,
                open_rev.state.in_([s.value for s in OPEN_STATES]),
            ),
        )
        .where(Listing.organization_id == org_id)
    )
    needs_action = AttentionRank.NEEDS_ACTION.value
    keys = [SortKey(Listing.attention_rank), SortKey(Listing.sort_name, str), SortKey(Listing.id)]
    as_stored = Part(
        rows.where(
            or_(
                Listing.attention_rank == needs_action,
                Listing.live_revision_id.is_(None),
                Listing.verified_at.is_(None),
                Listing.verified_at >= stale_before,
            )
        ),
        (Listing.attention_rank, Listing.sort_name, Listing.id),
    )
    come_due = Part(
        rows.where(
            Listing.attention_rank > needs_action,
            Listing.live_revision_id.is_not(None),
            Listing.verified_at < stale_before,
        ),
        (needs_action, Listing.sort_name, Listing.id),
    )
    return [as_stored, come_due], keys


def dashboard_page_objects(ids: list[tuple[int, int | None]]):
    """The page's listings (with their live revision, type and its certifications) and open
    revisions, in the page's order: two queries."""
    listings = {
        lst.id: lst
        for lst in db.session.scalars(
            db.select(Listing)
            .where(Listing.id.in_([lid for lid, _ in ids]))
            .options(
                selectinload(Listing.live_revision),
                joinedload(Listing.service_type).options(
                    joinedload(ServiceType.required_certification),
                    joinedload(ServiceType.org_certification),
                ),
            )
        ).unique()
    }
    wanted = [rid for _, rid in ids if rid is not None]
    revisions = {
        r.id: r
        for r in db.session.scalars(
            db.select(ListingRevision).where(ListingRevision.id.in_(wanted))
        )
    }
    return [(listings[lid], revisions.get(rid)) for lid, rid in ids]


def listing_row(lst: Listing, rev: ListingRevision | None, stale_before, day, certs) -> dict:
    states = listing_states(lst, rev, stale_before)
    shown = lst.live_revision or rev
    return {
        "listing": lst,
        "rev": rev,
        "states": states,
        "attention": listing_attention(states),
        "eligibility": eligibility(lst, day, certs),
        "name": shown.name if shown else f"Listing {lst.id}",
    }


def certification_attention(c: Certification, expiry, day, renewing) -> list[str]:
    attention = []
    if (
        c.status in ACTIVE_STATUSES
        and expiry is not None
        and expiry <= day + timedelta(days=EXPIRY_WARNING_DAYS)
        and c.id not in renewing  # a renewal is with DMH: nothing to do
    ):
        left = (expiry - day).days
        attention.append(
            f"Expires in {left} day{'s' if left != 1 else ''}: submit a renewal."
            if left >= 0
            else "Expired."
        )
    if c.status == CertificationStatus.ON_HOLD:
        attention.append("On hold at DMH.")
    return attention


def certification_rows(org_id: int, day) -> list[dict]:
    """One line per certificate lineage (its newest certificate), those needing action first,
    then by expiry. An organization holds a handful: not paged."""
    certifications = db.session.scalars(
        db.select(Certification)
        .where(Certification.organization_id == org_id)
        .options(selectinload(Certification.listings).selectinload(Listing.live_revision))
        .order_by(Certification.id)
    ).all()
    renewing = pending_renewals(certifications)
    replaced = renewed(certifications)
    rows = []
    for c in certifications:
        if c.id in replaced:
            continue
        expiry = c.effective_expiry
        rows.append(
            {
                "cert": c,
                "expiry": expiry,
                "attention": certification_attention(c, expiry, day, renewing),
            }
        )
    rows.sort(key=lambda r: (not r["attention"], r["expiry"] or day + timedelta(days=36500)))
    return rows


@bp.get("/")
@requires("use_portal")
def dashboard():
    """Capacity cards, one page of listings (?page=<cursor>, see admin/pagination.py) and the
    certifications. The statements issued do not depend on the page or on how many listings
    the organization has."""
    org = _org()
    day = today()
    stale_before = utcnow() - timedelta(days=int(current_app.config["REVERIFY_AFTER_DAYS"]))
    # the certifications and the capacity cards before CertificationIndex: the listings they
    # show are then loaded with their names (the index loads them again, refusing lazy loads)
    cert_rows = certification_rows(org.id, day)
    capacity = capacity_cards(capacity_listings(org.id))
    parts, keys = dashboard_listings(org.id, stale_before)
    page = page_or_first(parts, keys, list_name="portal.dashboard")
    shown = dashboard_page_objects(page.rows)
    certs = CertificationIndex([org.id])
    rows = [listing_row(lst, rev, stale_before, day, certs) for lst, rev in shown]
    return render_template(
        "portal/dashboard.html",
        org=org,
        rows=rows,
        page=page,
        cert_rows=cert_rows,
        capacity=capacity,
    )


# ------------------------------------------------------------------ listings


def _editor_form(service_type: ServiceType, data=None, **kw) -> ListingForm:
    counties = db.session.scalars(db.select(County).order_by(County.name)).all()
    regions = db.session.scalars(
        db.select(Region).options(selectinload(Region.counties)).order_by(Region.layer, Region.name)
    ).all()
    values = form_values(data) if data is not None else {}
    form = ListingForm(
        data=values,
        service_type=service_type,
        organization=_org(),
        counties=counties,
        regions=regions,
        **kw,
    )
    return form


def _comments_by_field(rev: ListingRevision | None) -> dict[str, list[ReviewComment]]:
    if rev is None:
        return {}
    out: dict[str, list[ReviewComment]] = {}
    for c in db.session.scalars(
        db.select(ReviewComment)
        .where(ReviewComment.revision_id == rev.id)
        .order_by(ReviewComment.created_at)
    ):
        if c.resolved_at is None or rev.state == RevisionState.CHANGES_REQUESTED:
            out.setdefault(c.field or "_general", []).append(c)
    return out


def _render_editor(form, service_type, *, listing=None, rev=None, status=200):
    pad_rows(form)
    return render_template(
        "portal/listing_edit.html",
        form=form,
        st=service_type,
        listing=listing,
        rev=rev,
        days=DAYS,
        comments=_comments_by_field(rev),
        field_labels=FIELD_LABELS,
    ), status


@bp.get("/listings/new")
@requires("use_portal")
def new_listing():
    types = db.session.scalars(db.select(ServiceType).order_by(ServiceType.sort_order)).all()
    return render_template(
        "portal/listing_new.html",
        types=types,
        can_create=can(current_user, "create_listing", _org()),
    )


@bp.route("/listings/new/<type_code>", methods=["GET", "POST"])
@requires("use_portal")
def create_listing(type_code: str):
    org = _org()
    if not can(current_user, "create_listing", org):
        abort(403)
    st = db.session.get(ServiceType, type_code)
    if st is None:
        abort(404)
    form = _editor_form(st, None if request.method == "POST" else {})
    if form.validate_on_submit():
        listing, _rev = wf.create_listing(org, st.code, form.to_data(), current_user)
        db.session.commit()
        flash(
            "Draft saved. Check it and submit it for review: it is public only after DMH approves it.",
            "success",
        )
        return redirect(url_for("portal.listing_changes", listing_id=listing.id))
    return _render_editor(form, st, status=422 if request.method == "POST" else 200)


@bp.get("/listings/<int:listing_id>")
@requires("use_portal")
def listing_detail(listing_id: int):
    listing = load_or_404(Listing, listing_id)
    rev = listing.open_revision
    history = db.session.scalars(
        db.select(ListingRevision)
        .where(ListingRevision.listing_id == listing.id)
        .order_by(ListingRevision.number.desc())
    ).all()
    names = county_names()
    return render_template(
        "portal/listing_detail.html",
        listing=listing,
        rev=rev,
        history=history,
        elig=eligibility(listing, today()),
        comments=_comments_by_field(rev),
        field_labels=FIELD_LABELS,
        field_list=[(f.key, f.label) for f in FIELDS],
        display=lambda key, data: display_value(key, data, names),
    )


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@requires("use_portal")
def edit_listing(listing_id: int):
    listing = load_or_404(Listing, listing_id, "edit")
    rev = listing.open_revision
    if rev is not None and not rev.is_editable:
        flash(
            "These changes are waiting for review. Withdraw them first if you need to edit again.",
            "warning",
        )
        return redirect(url_for("portal.listing_detail", listing_id=listing.id))
    source = (
        rev.data
        if rev is not None
        else (listing.live_revision.data if listing.live_revision else {})
    )
    st = db.session.get(ServiceType, rev.service_type_code if rev else listing.service_type_code)
    if request.method == "GET":
        form = _editor_form(st, source)
        form.lock_version.data = str(rev.lock_version if rev else 0)
        return _render_editor(form, st, listing=listing, rev=rev)
    form = _editor_form(st)
    if not form.validate_on_submit():
        return _render_editor(form, st, listing=listing, rev=rev, status=422)
    try:
        expected = int(form.lock_version.data or 0)
    except ValueError:
        expected = 0
    try:
        saved = wf.save_draft(listing, form.to_data(), current_user, expected_version=expected)
        db.session.commit()
    except ConflictError as exc:
        db.session.rollback()
        form.conflict = str(exc)
        return _render_editor(form, st, listing=listing, rev=rev, status=409)
    except NoChangesError as exc:
        db.session.rollback()
        flash(str(exc), "info")
        return redirect(url_for("portal.listing_detail", listing_id=listing.id))
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("portal.listing_detail", listing_id=listing.id))
    flash("Draft saved. Nothing changes publicly until DMH approves it.", "success")
    return redirect(url_for("portal.listing_changes", listing_id=saved.listing_id))


@bp.get("/listings/<int:listing_id>/changes")
@requires("use_portal")
def listing_changes(listing_id: int):
    """The open revision against the live version: what will change, then submit."""
    listing = load_or_404(Listing, listing_id)
    rev = listing.open_revision
    if rev is None:
        flash("There are no unsubmitted changes to this listing.", "info")
        return redirect(url_for("portal.listing_detail", listing_id=listing.id))
    live = listing.live_revision
    changes = diff(live.data if live else None, rev.data, county_names())
    problems = check_revision(rev) if rev.is_editable else {}
    return render_template(
        "portal/listing_changes.html",
        listing=listing,
        rev=rev,
        live=live,
        changes=changes,
        problems=problems,
        comments=_comments_by_field(rev),
        field_labels=FIELD_LABELS,
    )


@bp.post("/revisions/<int:revision_id>/submit")
@requires("use_portal")
def submit_revision(revision_id: int):
    rev = load_or_404(ListingRevision, revision_id, "submit")
    note = (request.form.get("note") or "").strip()
    if len(note) > 2000:
        flash("Keep the note to DMH under 2000 characters.", "danger")
        return redirect(url_for("portal.listing_changes", listing_id=rev.listing_id))
    try:
        if rev.state == RevisionState.CHANGES_REQUESTED:
            wf.resubmit_after_changes(rev, current_user, note)
        else:
            wf.submit_revision(rev, current_user, note)
        db.session.commit()
    except ListingRuleError as exc:
        db.session.rollback()
        flash(str(exc) + " Open the editor to see each problem next to its field.", "danger")
        return redirect(url_for("portal.listing_changes", listing_id=rev.listing_id))
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("portal.listing_detail", listing_id=rev.listing_id))
    flash(
        "Submitted for review. The live listing stays public until DMH approves the change.",
        "success",
    )
    return redirect(url_for("portal.listing_detail", listing_id=rev.listing_id))


def _run(operation, success: str, back: str):
    """Run one domain operation for the listing page (admin/operations.run: commit and say so,
    or roll back and say why); either way back to `back`."""
    run(operation, done=success)
    return redirect(back)


@bp.post("/revisions/<int:revision_id>/withdraw")
@requires("use_portal")
def withdraw_revision(revision_id: int):
    rev = load_or_404(ListingRevision, revision_id, "withdraw")
    return _run(
        lambda: wf.withdraw_revision(rev, current_user),
        "Changes withdrawn. The live listing is unchanged; edit again whenever you are ready.",
        url_for("portal.listing_detail", listing_id=rev.listing_id),
    )


@bp.post("/revisions/<int:revision_id>/discard")
@requires("use_portal")
def discard_draft(revision_id: int):
    rev = load_or_404(ListingRevision, revision_id, "discard")
    return _run(
        lambda: wf.discard_draft(rev, current_user),
        "Draft discarded. The live listing is unchanged.",
        url_for("portal.listing_detail", listing_id=rev.listing_id),
    )


@bp.post("/listings/<int:listing_id>/attest")
@requires("use_portal")
def attest_listing(listing_id: int):
    listing = load_or_404(Listing, listing_id, "attest")
    try:
        wf.attest_no_changes(listing, current_user)
        db.session.commit()
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("portal.listing_detail", listing_id=listing.id))
    flash("Thank you: the listing is marked as verified today.", "success")
    if request.form.get("back") == "dashboard":
        return redirect(url_for("portal.dashboard"))
    return redirect(url_for("portal.listing_detail", listing_id=listing.id))


# ------------------------------------------------------------------ live capacity


def capacity_listings(org_id: int) -> list[Listing]:
    """The organization's listings that report capacity (live, of a type that has it), by id:
    one query, however many other listings the organization has."""
    return list(
        db.session.scalars(
            db.select(Listing)
            .join(ServiceType, ServiceType.code == Listing.service_type_code)
            .where(
                Listing.organization_id == org_id,
                Listing.live_revision_id.is_not(None),
                ServiceType.has_capacity.is_(True),
            )
            .options(selectinload(Listing.live_revision))
            .order_by(Listing.id)
        )
    )


def capacity_cards(listings: list[Listing]) -> list[dict]:
    """The dashboard's "Capacity now" cards: listings whose type reports capacity."""
    from models.listings import expiry_hours, latest, view
    from tasks.capacity import expiry_settings

    shown = [lst for lst in listings if can(current_user, "set_capacity", lst)]
    current = latest([lst.id for lst in shown])
    settings, now = expiry_settings(), utcnow()
    return [
        {
            "listing": lst,
            "name": lst.live_revision.name,
            "view": view(current.get(lst.id), expiry_hours(lst.service_type_code, settings), now),
        }
        for lst in shown
    ]


def _publish_capacity_soon() -> None:
    """Rewrite capacity.json now; the minute beat does it anyway if the broker is down."""
    from tasks.capacity import publish_capacity

    try:
        publish_capacity.delay()
    except Exception:  # noqa: BLE001 - the status is saved; the beat publishes it within a minute
        current_app.logger.warning("could not queue the capacity file; the beat will write it")


@bp.post("/capacity-reminders")
@requires("use_portal")
def capacity_reminders():
    """The organization's administrator turns the "expires within the hour" e-mail on or off."""
    from flask_wtf import FlaskForm

    org = _org()
    if not can(current_user, "set_capacity_reminders", org) or not FlaskForm().validate_on_submit():
        abort(403)
    from models.listings import set_capacity_reminders

    wanted = request.form.get("reminders") == "on"
    set_capacity_reminders(org, current_user, wanted)
    db.session.commit()
    flash(
        "Reminders on: we e-mail you an hour before a capacity status expires."
        if wanted
        else "Reminders off: no e-mail before a capacity status expires.",
        "success",
    )
    return redirect(url_for("portal.dashboard") + "#capacity")


@bp.route("/listings/<int:listing_id>/capacity", methods=["GET", "POST"])
@requires("use_portal")
def listing_capacity(listing_id: int):
    """One tap for accepting / full (the dashboard posts here); limited and diverting open this
    page for the number or the reason, then one more tap."""
    from forms.capacity import CapacityForm
    from models.listings import LABELS, CapacityStatus, set_capacity

    listing = load_or_404(Listing, listing_id, "edit")
    if not can(current_user, "set_capacity", listing):
        flash(
            "This listing does not report capacity: only public crisis centers, crisis "
            "residential programs and sobering centers do.",
            "warning",
        )
        return redirect(url_for("portal.listing_detail", listing_id=listing.id))
    form = CapacityForm(request.form if request.method == "POST" else request.args)
    quick = request.method == "POST" and request.form.get("quick") == "1"
    if request.method == "POST" and form.validate():
        status = form.status.data
        needs_more = status == CapacityStatus.DIVERTING and not (form.reason.data or "").strip()
        if quick and needs_more:
            return redirect(
                url_for("portal.listing_capacity", listing_id=listing.id, status=status)
            )
        try:
            set_capacity(
                listing,
                current_user,
                status,
                available=form.available.data,
                reason=form.reason.data or "",
                note=form.note.data or "",
            )
            db.session.commit()
        except WorkflowError as exc:
            db.session.rollback()
            (form.reason if status == CapacityStatus.DIVERTING else form.status).errors = [str(exc)]
        else:
            _publish_capacity_soon()
            flash(
                f"{listing.live_revision.name}: {LABELS[CapacityStatus(status)].lower()}. "
                "Published within a minute.",
                "success",
            )
            return redirect(url_for("portal.dashboard") + "#capacity")
    status = form.status.data if form.status.data in set(CapacityStatus) else None
    return render_template(
        "portal/capacity.html",
        listing=listing,
        form=form,
        status=status,
        labels=LABELS,
    ), 422 if request.method == "POST" else 200


# ------------------------------------------------------------------ certifications


def _cert_form(**kw) -> CertificationForm:
    org = _org()
    types = db.session.scalars(db.select(CertificationType).order_by(CertificationType.name)).all()
    listings = db.session.scalars(
        db.select(Listing).where(Listing.organization_id == org.id).order_by(Listing.id)
    ).all()
    renewable = db.session.scalars(
        db.select(Certification)
        .where(Certification.organization_id == org.id)
        .order_by(Certification.id.desc())
    ).all()
    return CertificationForm(types=types, listings=listings, renewable=renewable, **kw)


@bp.get("/certifications")
@requires("use_portal")
def certifications():
    certs = db.session.scalars(
        db.select(Certification)
        .where(Certification.organization_id == _org().id)
        .order_by(Certification.id.desc())
    ).all()
    return render_template(
        "portal/certifications.html",
        certs=certs,
        day=today(),
        warn_days=EXPIRY_WARNING_DAYS,
        renewing=pending_renewals(certs),
        replaced=renewed(certs),
        open_statuses={s.value for s in OPEN_STATUSES},
    )


@bp.route("/certifications/new", methods=["GET", "POST"])
@requires("use_portal")
def new_certification():
    org = _org()
    if not can(current_user, "submit_certification", org):
        abort(403)
    initial = {}
    renews = request.args.get("renews", "")
    if request.method == "GET" and renews.isdigit():
        old = load_or_404(Certification, int(renews))
        initial = {
            "type_code": old.type_code,
            "renews_id": str(old.id),
            "listings": [lst.id for lst in old.listings],
            "basis": old.basis,
            "accrediting_body": old.accrediting_body,
        }
    form = _cert_form(data=initial)
    if form.validate_on_submit():
        listings = db.session.scalars(
            db.select(Listing)
            .where(Listing.organization_id == org.id, Listing.id.in_(form.listings.data or []))
            .order_by(Listing.id)
        ).all()
        try:
            cert = wf.submit_certification(
                org,
                form.type_code.data,
                current_user,
                listings=listings,
                basis=form.basis.data,
                accrediting_body=form.accrediting_body.data or "",
                accreditation_number=(form.accreditation_number.data or "").strip(),
                accreditation_effective_on=form.accreditation_effective_on.data,
                accreditation_expires_on=form.accreditation_expires_on.data,
                renews=form.renewable.get(form.renews_id.data) if form.renews_id.data else None,
                note=(form.note.data or "").strip(),
            )
            db.session.commit()
        except WorkflowError as exc:
            refuse(exc)
            return render_template("portal/certification_new.html", form=form), 422
        flash("Certification submitted to DMH. Add its documents below.", "success")
        return redirect(url_for("portal.certification_detail", certification_id=cert.id))
    return render_template("portal/certification_new.html", form=form), (
        422 if request.method == "POST" else 200
    )


def _document_form(**kw) -> DocumentForm:
    types = db.session.scalars(db.select(DocumentType).order_by(DocumentType.name)).all()
    return DocumentForm(document_types=types, max_bytes=files.max_upload_bytes(), **kw)


def _render_certification(cert, form=None, status=200):
    form = form or _document_form()
    comments = db.session.scalars(
        db.select(ReviewComment)
        .where(ReviewComment.certification_id == cert.id)
        .order_by(ReviewComment.created_at)
    ).all()
    return render_template(
        "portal/certification_detail.html",
        cert=cert,
        form=form,
        comments=comments,
        max_mb=current_app.config["MAX_UPLOAD_MB"],
    ), status


@bp.get("/certifications/<int:certification_id>")
@requires("use_portal")
def certification_detail(certification_id: int):
    return _render_certification(load_or_404(Certification, certification_id))


@bp.post("/certifications/<int:certification_id>/withdraw")
@requires("use_portal")
def withdraw_certification(certification_id: int):
    cert = load_or_404(Certification, certification_id, "withdraw")
    try:
        wf.withdraw_certification(cert, current_user)
        db.session.commit()
    except WorkflowError as exc:
        refuse(exc)
    else:
        flash("Certification application withdrawn.", "success")
    return redirect(url_for("portal.certification_detail", certification_id=cert.id))


@bp.post("/certifications/<int:certification_id>/documents")
@requires("use_portal")
def upload_document(certification_id: int):
    cert = load_or_404(Certification, certification_id, "upload")
    form = _document_form()
    if not form.validate_on_submit():
        # too large answers 413 (as a body over the request limit does), else 422
        return _render_certification(cert, form, 413 if form.too_large else 422)
    stored = files.write_file(form.content)
    try:
        attach_document(
            cert,
            type_code=form.type_code.data,
            original_filename=form.filename,
            storage_name=stored.storage_name,
            content_type=form.content_type,
            size=stored.size,
            sha256=stored.sha256,
            by=current_user,
            issuer=(form.issuer.data or "").strip(),
            issued_on=form.issued_on.data,
            expires_on=form.expires_on.data,
        )
        db.session.commit()
    except WorkflowError as exc:
        db.session.rollback()
        files.remove_file(stored.storage_name)
        form.file.errors = [str(exc)]
        return _render_certification(cert, form, 422)
    except Exception:
        db.session.rollback()
        files.remove_file(stored.storage_name)
        raise
    flash(f"Uploaded {form.filename}. DMH will check it.", "success")
    return redirect(url_for("portal.certification_detail", certification_id=cert.id))


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(exc):
    mb = current_app.config["MAX_UPLOAD_MB"]
    message = f"The file is larger than {mb} MB, so it was not uploaded. Scan at a lower resolution or split it into parts."
    cert_id = (request.view_args or {}).get("certification_id")
    if request.endpoint == "portal.upload_document" and cert_id and current_user.is_authenticated:
        cert = db.session.get(Certification, cert_id)
        if cert is not None and can(current_user, "view", cert):
            # the page again, the message next to the file field, and the status the README
            # promises (the body was not read, so the other fields start empty)
            form = _document_form(formdata=None)
            form.file.errors = [message]
            return _render_certification(cert, form, 413)
    return render_template(
        "errors/error.html", code=413, title="File too large", message=message
    ), 413


@bp.get("/documents/<int:document_id>")
@requires("use_portal")
def download_document(document_id: int):
    doc = db.session.get(Document, document_id)
    if doc is None or not can(current_user, "download", doc):
        abort(404)
    return files.send_document(doc)
