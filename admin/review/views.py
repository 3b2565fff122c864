"""DMH review: landing page, queue, revision and certification review, listing history,
suspension. Every view: load (404) → can() (403) → validate → operation → commit once →
e-mail after the commit → redirect."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from forms.review import (
    CERT_STATUS_PAIRS,
    AssignForm,
    CertificationDecisionForm,
    CommentForm,
    CompareForm,
    DecisionForm,
    DocumentVerifyForm,
    QueueFilterForm,
    ReinstateForm,
    SuspendForm,
    options,
)
from models import (
    AuditEvent,
    Certification,
    CertificationStatus,
    Document,
    Listing,
    ListingRevision,
    ReviewComment,
    RevisionState,
    User,
    WorkflowError,
    can,
    db,
    today,
    utcnow,
)
from models.certifications import PENDING_STATUSES
from models.listings import FIELD_LABELS, FIELDS, diff
from models.listings import workflow as wf
from models.reference import county_names

from .. import documents as files
from ..access import load_or_404, requires
from ..operations import refuse
from ..pagination import CURSOR_ARG, count_up_to, page_or_first
from . import bp
from .notify import Notice, open_comments
from .queue import (
    LIST_NAME,
    QUEUE_ORDER,
    QueueFilters,
    filter_choices,
    queue_items,
    queue_parts,
    queue_rows,
    reviewers,
)

ITEM_MODELS = {"revisions": ListingRevision, "certifications": Certification}
DECISION_LABELS = {
    RevisionState.APPROVED: "approved",
    RevisionState.CHANGES_REQUESTED: "sent back for changes",
    RevisionState.REJECTED: "rejected",
}
QUEUE_COUNT_BOUND = 500  # the queue counts its items up to this; beyond, "more than 500"


def _load_document(doc_id: int, action: str) -> Document:
    """Documents have no 'view' rule: downloading is seeing them."""
    doc = db.session.get(Document, doc_id)
    if doc is None or not can(current_user, "download", doc):
        abort(404)
    if action != "download" and not can(current_user, action, doc):
        abort(403)
    return doc


def _item_url(kind: str, item) -> str:
    return url_for(
        "review.revision" if kind == "revisions" else "review.certification", item_id=item.id
    )


# ------------------------------------------------------------------ landing page and queue


@bp.get("/")
@requires("review")
def index():
    revision_counts = dict(
        db.session.execute(
            db.select(ListingRevision.state, db.func.count()).group_by(ListingRevision.state)
        ).all()
    )
    certification_counts = dict(
        db.session.execute(
            db.select(Certification.status, db.func.count()).group_by(Certification.status)
        ).all()
    )
    now = utcnow()
    pending = [s.value for s in wf.PENDING_REVIEW_STATES]
    cert_pending = [s.value for s in PENDING_STATUSES]
    mine = db.session.scalar(
        db.select(db.func.count(ListingRevision.id)).where(
            ListingRevision.state.in_(pending), ListingRevision.claimed_by_id == current_user.id
        )
    ) + db.session.scalar(
        db.select(db.func.count(Certification.id)).where(
            Certification.status.in_(cert_pending), Certification.claimed_by_id == current_user.id
        )
    )
    overdue = db.session.scalar(
        db.select(db.func.count(ListingRevision.id)).where(
            ListingRevision.state.in_(pending), ListingRevision.due_at < now
        )
    ) + db.session.scalar(
        db.select(db.func.count(Certification.id)).where(
            Certification.status.in_(cert_pending), Certification.due_at < now
        )
    )
    return render_template(
        "review/index.html",
        revision_counts=revision_counts,
        certification_counts=certification_counts,
        mine=mine,
        overdue=overdue,
        waiting=sum(revision_counts.get(s, 0) for s in pending)
        + sum(certification_counts.get(s, 0) for s in cert_pending),
    )


def queue_filters(form: QueueFilterForm) -> QueueFilters:
    """The filters the form asks for; none when it does not validate (an unknown option)."""
    if not form.validate():
        return QueueFilters()
    return QueueFilters(
        q=(form.q.data or "").strip(),
        kind=form.kind.data or "",
        service_type=form.service_type.data or "",
        county=form.county.data or "",
        region_id=int(form.region.data) if form.region.data else None,
        organization_id=int(form.organization.data) if form.organization.data else None,
        mine=form.mine.data,
        unclaimed=form.unclaimed.data,
        overdue=form.overdue.data,
        stale=form.stale.data,
    )


@bp.get("/queue")
@requires("review")
def queue():
    """Pending revisions and certifications, oldest first, one page at a time (?page=<cursor>,
    admin/pagination.py): the same statements on the first page and the last, however long
    the queue; the count stops at QUEUE_COUNT_BOUND ("more than 500")."""
    form = QueueFilterForm(request.args)
    for name, opts in filter_choices().items():
        getattr(form, name).choices = options(opts)
    parts = queue_parts(queue_filters(form), current_user)
    page = page_or_first(parts, QUEUE_ORDER, list_name=LIST_NAME)
    assign_form = AssignForm()
    staff = reviewers() if can(current_user, "manage") else []
    assign_form.reviewer.choices = options((u.id, u.name) for u in staff)
    return render_template(
        "review/queue.html",
        form=form,
        page=page,
        items=queue_items(page.rows),
        total=count_up_to(queue_rows(parts), QUEUE_COUNT_BOUND),
        count_bound=QUEUE_COUNT_BOUND,
        now=utcnow(),
        filtered=any(v for k, v in request.args.items() if k != CURSOR_ARG),
        assign_form=assign_form,
        staff=staff,
        sla_days=current_app.config["REVIEW_SLA_BUSINESS_DAYS"],
    )


# ------------------------------------------------------------------ claim, release, assign


def _load_item(kind: str, item_id: int, action: str):
    model = ITEM_MODELS.get(kind)
    if model is None:
        abort(404)
    return load_or_404(model, item_id, action)


def _back(kind: str, item):
    target = request.form.get("next", "")
    if target == "queue":
        return redirect(url_for("review.queue"))
    return redirect(_item_url(kind, item))


@bp.post("/<any(revisions, certifications):kind>/<int:item_id>/claim")
@requires("review")
def claim(kind: str, item_id: int):
    item = _load_item(kind, item_id, "claim")
    if item.claimed_by_id not in (None, current_user.id):
        flash(
            f"{item.claimed_by.name} is reviewing this item. Ask an administrator to reassign it.",
            "warning",
        )
        return _back(kind, item)
    try:
        wf.claim(item, current_user)
    except WorkflowError as exc:
        refuse(exc)
        return _back(kind, item)
    db.session.commit()
    flash("You are reviewing this item; colleagues see that you hold it.", "success")
    return _back(kind, item)


@bp.post("/<any(revisions, certifications):kind>/<int:item_id>/release")
@requires("review")
def release(kind: str, item_id: int):
    item = _load_item(kind, item_id, "view")
    if item.claimed_by_id is None:
        flash("Nobody holds this item.", "info")
        return _back(kind, item)
    if item.claimed_by_id != current_user.id and not can(current_user, "assign", item):
        abort(403)
    wf.release_claim(item, current_user)
    db.session.commit()
    flash("Released: the item is back in the queue for anyone.", "success")
    return _back(kind, item)


@bp.post("/<any(revisions, certifications):kind>/<int:item_id>/assign")
@requires("review")
def assign(kind: str, item_id: int):
    item = _load_item(kind, item_id, "assign")
    form = AssignForm()
    staff = reviewers()
    form.reviewer.choices = options((u.id, u.name) for u in staff)
    if not form.validate():
        flash("Choose a reviewer to assign: " + " ".join(form.reviewer.errors), "error")
        return _back(kind, item)
    reviewer = db.session.get(User, form.reviewer.data)
    try:
        wf.claim(item, reviewer, assigned_by=current_user)
    except WorkflowError as exc:
        refuse(exc)
        return _back(kind, item)
    db.session.commit()
    flash(f"Assigned to {reviewer.name}.", "success")
    return _back(kind, item)


# ------------------------------------------------------------------ revision review


def _revision_context(rev: ListingRevision, *, comment_form=None, decision_form=None):
    listing = rev.listing
    live = listing.live_revision if listing.live_revision_id != rev.id else None
    names = county_names()
    before = live.data if live is not None else None
    changes = diff(before, rev.data, names)
    changed_keys = {c.key for c in changes}
    comments = db.session.scalars(
        db.select(ReviewComment)
        .where(ReviewComment.revision_id == rev.id)
        .order_by(ReviewComment.created_at, ReviewComment.id)
    ).all()
    by_field: dict[str | None, list[ReviewComment]] = {}
    for c in comments:
        by_field.setdefault(c.field, []).append(c)
    # comments on fields that did not change still belong next to that field
    unchanged_commented = [
        (spec, by_field[spec.key])
        for spec in FIELDS
        if spec.key in by_field and spec.key not in changed_keys
    ]
    history = db.session.scalars(
        db.select(ListingRevision)
        .where(
            ListingRevision.listing_id == listing.id,
            ListingRevision.decided_at.is_not(None),
            ListingRevision.id != rev.id,
        )
        .options(joinedload(ListingRevision.decided_by))
        .order_by(ListingRevision.decided_at.desc())
    ).all()
    certifications = db.session.scalars(
        db.select(Certification)
        .where(Certification.organization_id == listing.organization_id)
        .order_by(Certification.type_code, Certification.id.desc())
    ).all()
    required = set(rev.service_type.required_certification_codes()) if rev.service_type else set()
    if comment_form is None:
        comment_form = CommentForm()
        comment_form.set_field_choices()
        wanted = request.args.get("field", "")
        if wanted in FIELD_LABELS:
            comment_form.field.data = wanted
    if decision_form is None:
        decision_form = DecisionForm(lock_version=str(rev.lock_version))
    assign_form = AssignForm()
    assign_form.reviewer.choices = (
        options((u.id, u.name) for u in reviewers()) if can(current_user, "assign", rev) else []
    )
    return dict(
        rev=rev,
        listing=listing,
        live=live,
        changes=changes,
        by_field=by_field,
        unchanged_commented=unchanged_commented,
        history=history,
        certifications=certifications,
        required_codes=required,
        today=today(),
        comment_form=comment_form,
        decision_form=decision_form,
        assign_form=assign_form,
        is_new=live is None,
    )


def _load_revision(item_id: int, action: str = "view") -> ListingRevision:
    rev = load_or_404(ListingRevision, item_id, "view")
    if action != "view" and not can(current_user, action, rev):
        abort(403)
    return rev


@bp.get("/revisions/<int:item_id>")
@requires("review")
def revision(item_id: int):
    rev = _load_revision(item_id)
    return render_template("review/revision.html", **_revision_context(rev))


@bp.post("/revisions/<int:item_id>/comments")
@requires("review")
def revision_comment(item_id: int):
    rev = _load_revision(item_id, "comment")
    form = CommentForm()
    form.set_field_choices()
    if not form.validate():
        return render_template(
            "review/revision.html", **_revision_context(rev, comment_form=form)
        ), 422
    wf.add_comment(current_user, form.body.data, revision=rev, field=form.field.data or None)
    db.session.commit()
    flash(
        "Comment added. The provider sees it next to the field when changes are requested.",
        "success",
    )
    return redirect(
        url_for(
            "review.revision",
            item_id=rev.id,
            _anchor=f"field-{form.field.data}" if form.field.data else "comments",
        )
    )


def held_by_another(item, form, what: str) -> bool:
    """A decision on an item another reviewer holds needs the confirmation box ticked; without
    it the form says who holds the item, next to the box."""
    if item.claimed_by_id in (None, current_user.id) or form.override_claim.data:
        return False
    holder = item.claimed_by.name if item.claimed_by else "another reviewer"
    form.override_claim.errors = [
        f"{holder} holds this {what}. Tick the box to decide it anyway, or release it first."
    ]
    return True


@bp.post("/revisions/<int:item_id>/decision")
@requires("review")
def revision_decision(item_id: int):
    rev = _load_revision(item_id)
    form = DecisionForm()
    if not form.validate():
        return render_template(
            "review/revision.html", **_revision_context(rev, decision_form=form)
        ), 422
    if not can(current_user, "decide", rev):
        if rev.decided_at is not None:
            who = rev.decided_by.name if rev.decided_by else "someone else"
            flash(
                f"This revision was already decided by {who} ({rev.state.replace('_', ' ')}).",
                "error",
            )
        else:
            flash(
                f"This revision is {rev.state.replace('_', ' ')}; it is not waiting for a decision.",
                "error",
            )
        return redirect(url_for("review.revision", item_id=rev.id)), 303
    if held_by_another(rev, form, "change"):
        return render_template(
            "review/revision.html", **_revision_context(rev, decision_form=form)
        ), 422
    version = int(form.lock_version.data)
    note = (form.note.data or "").strip()
    listing = rev.listing
    try:
        if form.decision.data == "approve":
            wf.approve(rev, current_user, note, expected_version=version)
        elif form.decision.data == "request_changes":
            wf.request_changes(rev, current_user, note, expected_version=version)
        else:
            wf.reject(rev, current_user, note, expected_version=version)
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("review.revision", item_id=item_id)), 303
    notice = Notice(
        listing.organization_id,
        f"Your listing “{rev.name}” was {DECISION_LABELS[rev.state]}",
        "revision_decided",
        {
            "listing_name": rev.name,
            "organization": listing.organization.name,
            "decision": DECISION_LABELS[rev.state],
            "state": rev.state,
            "note": rev.decision_note,
            "reviewer": current_user.name,
            "comments": open_comments(rev.id)
            if rev.state == RevisionState.CHANGES_REQUESTED
            else [],
        },
    ).prepare()
    db.session.commit()
    notice.send()
    flash(
        f"Decision recorded: {DECISION_LABELS[rev.state]}. The organization has been e-mailed.",
        "success",
    )
    return redirect(url_for("review.queue"))


# ------------------------------------------------------------------ certification review


def _certification_context(
    cert: Certification, *, decision_form=None, comment_form=None, doc_forms=None
):
    comments = db.session.scalars(
        db.select(ReviewComment)
        .where(ReviewComment.certification_id == cert.id)
        .order_by(ReviewComment.created_at)
    ).all()
    documents = db.session.scalars(
        db.select(Document).where(Document.certification_id == cert.id).order_by(Document.id)
    ).all()
    shown = request.args.get("doc", type=int)
    shown_doc = next((d for d in documents if d.id == shown), None)
    if decision_form is None:
        decision_form = CertificationDecisionForm(
            certification=cert,
            lock_version=str(cert.lock_version),
            status=cert.status if cert.status in dict(CERT_STATUS_PAIRS) else "certified",
            certificate_number=cert.certificate_number,
            effective_on=cert.effective_on,
            expires_on=cert.expires_on,
            conditions=cert.conditions,
        )
    if comment_form is None:
        comment_form = CommentForm()
        comment_form.set_field_choices([])
    doc_forms = doc_forms or {}
    for d in documents:
        doc_forms.setdefault(d.id, DocumentVerifyForm(prefix=f"doc{d.id}"))
    assign_form = AssignForm()
    assign_form.reviewer.choices = (
        options((u.id, u.name) for u in reviewers()) if can(current_user, "assign", cert) else []
    )
    history = db.session.scalars(
        db.select(Certification)
        .where(
            Certification.organization_id == cert.organization_id,
            Certification.type_code == cert.type_code,
            Certification.id != cert.id,
        )
        .order_by(Certification.id.desc())
    ).all()
    return dict(
        cert=cert,
        comments=comments,
        documents=documents,
        shown_doc=shown_doc,
        decision_form=decision_form,
        comment_form=comment_form,
        doc_forms=doc_forms,
        assign_form=assign_form,
        history=history,
        pending=cert.status
        in (
            CertificationStatus.SUBMITTED,
            CertificationStatus.IN_REVIEW,
            CertificationStatus.ON_HOLD,
        ),
    )


@bp.get("/certifications/<int:item_id>")
@requires("review")
def certification(item_id: int):
    cert = load_or_404(Certification, item_id)
    return render_template("review/certification.html", **_certification_context(cert))


@bp.post("/certifications/<int:item_id>/comments")
@requires("review")
def certification_comment(item_id: int):
    cert = load_or_404(Certification, item_id, "comment")
    form = CommentForm()
    form.set_field_choices([])
    if not form.validate():
        return render_template(
            "review/certification.html", **_certification_context(cert, comment_form=form)
        ), 422
    wf.add_comment(current_user, form.body.data, certification=cert)
    db.session.commit()
    flash("Comment added.", "success")
    return redirect(url_for("review.certification", item_id=cert.id, _anchor="comments"))


@bp.post("/certifications/<int:item_id>/decision")
@requires("review")
def certification_decision(item_id: int):
    cert = load_or_404(Certification, item_id, "decide")
    form = CertificationDecisionForm(certification=cert)
    if not form.validate():
        return render_template(
            "review/certification.html", **_certification_context(cert, decision_form=form)
        ), 422
    if held_by_another(cert, form, "certification"):
        return render_template(
            "review/certification.html", **_certification_context(cert, decision_form=form)
        ), 422
    try:
        wf.decide_certification(
            cert,
            current_user,
            form.status.data,
            certificate_number=(form.certificate_number.data or "").strip(),
            effective_on=form.effective_on.data,
            expires_on=form.expires_on.data,
            conditions=(form.conditions.data or "").strip(),
            note=(form.note.data or "").strip(),
            expected_version=int(form.lock_version.data),
        )
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("review.certification", item_id=item_id)), 303
    expiry = cert.effective_expiry
    notice = Notice(
        cert.organization_id,
        f"Your {cert.type.name} certification: {cert.status.replace('_', ' ')}",
        "certification_decided",
        {
            "organization": cert.organization.name,
            "certification": cert.type.name,
            "status": cert.status.replace("_", " "),
            "certificate_number": cert.certificate_number,
            "effective_on": cert.effective_on.isoformat() if cert.effective_on else "",
            "expires_on": expiry.isoformat() if expiry else "",
            "follows_accreditation": cert.expires_on is None and expiry is not None,
            "conditions": cert.conditions,
            "note": cert.decision_note,
            "reviewer": current_user.name,
        },
    ).prepare()
    db.session.commit()
    notice.send()
    flash(
        f"Certification is now {cert.status.replace('_', ' ')}. The organization has been e-mailed.",
        "success",
    )
    return redirect(url_for("review.certification", item_id=cert.id))


@bp.get("/documents/<int:doc_id>")
@requires("review")
def document(doc_id: int):
    """The stored file, as an attachment; `?inline=1` shows a PDF in the review page's frame."""
    doc = _load_document(doc_id, "download")
    return files.send_document(doc, inline=request.args.get("inline") == "1")


@bp.post("/documents/<int:doc_id>/verify")
@requires("review")
def document_verify(doc_id: int):
    doc = _load_document(doc_id, "verify")
    form = DocumentVerifyForm(prefix=f"doc{doc.id}")
    cert = doc.certification
    if not form.validate():
        if cert is None:
            abort(400)
        return render_template(
            "review/certification.html", **_certification_context(cert, doc_forms={doc.id: form})
        ), 422
    wf.verify_document(
        doc, current_user, form.accepted.data == "yes", (form.reason.data or "").strip()
    )
    db.session.commit()
    flash(f"{doc.original_filename}: {doc.status}.", "success")
    if cert is None:
        return redirect(url_for("review.queue"))
    return redirect(url_for("review.certification", item_id=cert.id, _anchor=f"doc-{doc.id}"))


# ------------------------------------------------------------------ listings: history, compare, suspend


@bp.get("/listings/<int:listing_id>")
@requires("review")
def listing_history(listing_id: int):
    listing = load_or_404(Listing, listing_id)
    revisions = db.session.scalars(
        db.select(ListingRevision)
        .where(ListingRevision.listing_id == listing.id)
        .options(joinedload(ListingRevision.submitted_by), joinedload(ListingRevision.decided_by))
        .order_by(ListingRevision.number.desc())
    ).all()
    rev_ids = [str(r.id) for r in revisions]
    events = db.session.scalars(
        db.select(AuditEvent)
        .where(
            db.or_(
                db.and_(
                    AuditEvent.object_type == "listing", AuditEvent.object_id == str(listing.id)
                ),
                db.and_(
                    AuditEvent.object_type == "listing_revision", AuditEvent.object_id.in_(rev_ids)
                ),
            )
        )
        .order_by(AuditEvent.id.desc())
    ).all()
    compare = CompareForm(request.args if request.args.get("a") else None)
    choices = [(r.id, f"#{r.number} ({r.state.replace('_', ' ')})") for r in revisions]
    return render_template(
        "review/history.html",
        listing=listing,
        revisions=revisions,
        events=events,
        compare=compare,
        choices=choices,
        suspend_form=SuspendForm(),
        reinstate_form=ReinstateForm(),
    )


@bp.get("/listings/<int:listing_id>/compare")
@requires("review")
def compare(listing_id: int):
    listing = load_or_404(Listing, listing_id)
    form = CompareForm(request.args)
    revisions = {
        r.id: r
        for r in db.session.scalars(
            db.select(ListingRevision)
            .where(ListingRevision.listing_id == listing.id)
            .options(selectinload(ListingRevision.counties))
        )
    }
    ok = form.validate()
    if ok:
        for f in (form.a, form.b):
            if f.data not in revisions:
                f.errors = [*f.errors, "Choose a revision of this listing."]
                ok = False
    if not ok:
        return render_template(
            "review/compare.html", listing=listing, form=form, revisions=revisions, changes=None
        ), 400
    a, b = revisions[form.a.data], revisions[form.b.data]
    changes = diff(a.data, b.data, county_names())
    return render_template(
        "review/compare.html",
        listing=listing,
        form=form,
        revisions=revisions,
        a=a,
        b=b,
        changes=changes,
    )


@bp.post("/listings/<int:listing_id>/suspend")
@requires("review")
def suspend(listing_id: int):
    listing = load_or_404(Listing, listing_id, "suspend")
    form = SuspendForm()
    if not form.validate():
        flash("Say why the listing is suspended; the provider will be told.", "error")
        return redirect(url_for("review.listing_history", listing_id=listing.id)), 303
    try:
        wf.suspend(listing, current_user, form.reason.data)
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("review.listing_history", listing_id=listing.id)), 303
    notice = Notice(
        listing.organization_id,
        f"Your listing “{listing.display_name}” is suspended",
        "listing_suspended",
        {
            "listing_name": listing.display_name,
            "organization": listing.organization.name,
            "reason": listing.suspended_reason,
            "reviewer": current_user.name,
        },
    ).prepare()
    db.session.commit()
    notice.send()
    flash(
        "Listing suspended: it leaves the next release. The organization has been e-mailed.",
        "success",
    )
    return redirect(url_for("review.listing_history", listing_id=listing.id))


@bp.post("/listings/<int:listing_id>/reinstate")
@requires("review")
def reinstate(listing_id: int):
    listing = load_or_404(Listing, listing_id, "suspend")
    form = ReinstateForm()
    if not form.validate():
        flash("The note is too long.", "error")
        return redirect(url_for("review.listing_history", listing_id=listing.id)), 303
    try:
        wf.reinstate(listing, current_user, (form.reason.data or "").strip())
    except WorkflowError as exc:
        refuse(exc)
        return redirect(url_for("review.listing_history", listing_id=listing.id)), 303
    notice = Notice(
        listing.organization_id,
        f"Your listing “{listing.display_name}” is reinstated",
        "listing_reinstated",
        {
            "listing_name": listing.display_name,
            "organization": listing.organization.name,
            "note": (form.reason.data or "").strip(),
            "reviewer": current_user.name,
        },
    ).prepare()
    db.session.commit()
    notice.send()
    flash(
        "Listing reinstated: it returns in the next release if it is otherwise eligible.", "success"
    )
    return redirect(url_for("review.listing_history", listing_id=listing.id))
