"""Domain operations: every state change of listings, revisions and certifications.

Each operation checks the allowed-transition table, changes state, flushes, writes the audit
event, and never commits: the caller (a view or a task) commits once."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError

from models import audit
from models.base import ConflictError, NoChangesError, WorkflowError, db, utcnow
from models.certifications.certification import (
    ACTIVE_STATUSES,
    DECISION_STATUSES,
    OPEN_STATUSES,
    VERIFIED_STATUSES,
    Certification,
    CertificationBasis,
    CertificationStatus,
    Document,
    DocumentStatus,
    open_renewal,
)
from models.context import settings
from models.listings.fields import assign_phone_ids, canonical, content, empty_data
from models.listings.listing import (
    PENDING_REVIEW_STATES,
    CountyRole,
    Listing,
    ListingRevision,
    RevisionCounty,
    RevisionState,
)
from models.listings.review import ReviewComment
from models.listings.rules import ListingRuleError, check_revision
from models.organizations.organization import Organization
from models.organizations.user import User
from models.publishing.release import mark_changed

RS = RevisionState
CS = CertificationStatus
# the transition tables live beside their enums (models/listings/listing.py, models/certifications/certification.py)
REVISION_TRANSITIONS = RevisionState.transitions()
CERTIFICATION_TRANSITIONS = CertificationStatus.transitions()


def add_business_days(start: datetime, days: int) -> datetime:
    d = start
    added = 0
    while added < days:
        d += timedelta(days=1)
        if d.weekday() < 5:
            added += 1
    return d


def revision_snapshot(rev: ListingRevision) -> dict[str, Any]:
    return {"state": rev.state, "number": rev.number, "data": rev.data}


# ------------------------------------------------------------------ listings and drafts


def _sync_counties(rev: ListingRevision) -> None:
    wanted = {
        (c["fips"], c.get("role", CountyRole.SERVED.value)) for c in rev.data.get("counties") or []
    }
    rev.counties = [RevisionCounty(county_fips=f, role=r) for f, r in sorted(wanted)]


def _full_data(data: dict[str, Any]) -> dict[str, Any]:
    full = empty_data()
    full.update(copy.deepcopy(data))
    return canonical(full)


def _apply_data(rev: ListingRevision, data: dict[str, Any], service_type_code: str) -> None:
    full = _full_data(data)
    listing = rev.listing
    base = rev.data or (listing.live_revision.data if listing.live_revision else None) or {}
    assign_phone_ids(full.get("phones") or [], base.get("phones") or [], listing.uuid)
    rev.data = full
    rev.name = full["name"]
    rev.service_type_code = service_type_code
    rev.county_fips = (full.get("address") or {}).get("county_fips")
    _sync_counties(rev)


def create_listing(
    organization: Organization, service_type_code: str, data: dict[str, Any], by: User
) -> tuple[Listing, ListingRevision]:
    """A new listing and its first draft. It is public only after review."""
    listing = Listing(organization=organization, service_type_code=service_type_code)
    db.session.add(listing)
    db.session.flush()
    rev = ListingRevision(
        listing=listing, number=1, state=RS.DRAFT.value, created_by_id=by.id, updated_by_id=by.id
    )
    _apply_data(rev, data, service_type_code)
    db.session.add(rev)
    listing.set_sort_keys(rev)
    db.session.flush()
    audit.record("listing.create", actor=by, target=listing, after=revision_snapshot(rev))
    return listing, rev


def save_draft(
    listing: Listing,
    data: dict[str, Any],
    by: User,
    *,
    service_type_code: str | None = None,
    expected_version: int | None = None,
) -> ListingRevision:
    """Create or update the listing's one open draft.

    Raises ConflictError when `expected_version` (the version the editor loaded) is stale,
    WorkflowError when the open revision is waiting for review (withdraw it first), and
    NoChangesError when the content is what the draft (or, without one, the live version)
    already holds: an unchanged form makes no draft."""
    rev = listing.open_revision
    stype = service_type_code or (rev.service_type_code if rev else listing.service_type_code)
    base = rev or listing.live_revision
    if (
        base is not None
        and (rev is None or rev.is_editable)
        and stype == base.service_type_code
        and content(_full_data(data)) == content(_full_data(base.data))
    ):
        raise NoChangesError(
            "No changes to save: the form matches the "
            + ("draft." if rev is not None else "live listing.")
        )
    if rev is None:
        number = (
            db.session.scalar(
                db.select(db.func.max(ListingRevision.number)).where(
                    ListingRevision.listing_id == listing.id
                )
            )
            or 0
        ) + 1
        rev = ListingRevision(
            listing=listing, number=number, state=RS.DRAFT.value, created_by_id=by.id
        )
        db.session.add(rev)
        before = listing.live_revision.data if listing.live_revision else None
    else:
        if not rev.is_editable:
            raise WorkflowError(
                "This listing's changes are waiting for review. Withdraw them before editing again.",
                current_state=rev.state,
            )
        if expected_version is not None and rev.lock_version != expected_version:
            raise ConflictError(
                "Someone saved this draft after you opened it. Reload to see their changes; "
                "your edits were not saved.",
                current_state=rev.state,
            )
        before = copy.deepcopy(rev.data)
    _apply_data(rev, data, stype)
    rev.updated_by_id = by.id
    listing.set_sort_keys(rev)
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            "Someone saved this draft at the same moment. Reload to see their changes; "
            "your edits were not saved."
        ) from exc
    audit.record(
        "revision.save",
        actor=by,
        target=rev,
        organization_id=listing.organization_id,
        before={"data": before},
        after={"data": rev.data},
    )
    return rev


def submit_revision(rev: ListingRevision, by: User, note: str = "") -> ListingRevision:
    """Freeze the revision for review. Raises ListingRuleError when it breaks a listing rule."""
    RS.check_transition(rev.state, RS.SUBMITTED)
    problems = check_revision(rev)
    if problems:
        raise ListingRuleError(problems)
    before = rev.state
    now = utcnow()
    rev.state = RS.SUBMITTED.value  # checked above, before the listing rules
    rev.submitted_at = now
    rev.submitted_by_id = by.id
    rev.due_at = add_business_days(now, settings.review_sla_business_days)
    rev.decided_at = None
    rev.decided_by_id = None
    rev.claimed_by_id = None
    rev.claimed_at = None
    if note:
        rev.provider_note = note
    rev.listing.set_sort_keys(rev)
    db.session.flush()
    audit.record(
        "revision.submit",
        actor=by,
        target=rev,
        organization_id=rev.listing.organization_id,
        before={"state": before},
        after={"state": rev.state, "note": note},
    )
    return rev


def discard_draft(rev: ListingRevision, by: User) -> None:
    """Throw away a draft that was never submitted: the row goes (nobody reviewed it), its
    content stays in the audit trail, the live listing stays as it is. A new listing's only
    draft is not discarded this way (the listing would be left empty)."""
    if rev.state != RS.DRAFT:
        raise WorkflowError(
            f"Only a draft can be discarded; these changes are {RS(rev.state).label.lower()}.",
            current_state=rev.state,
        )
    listing = rev.listing
    if listing.live_revision_id is None:
        raise WorkflowError(
            "This is the listing's first version; edit it instead, or ask DMH to remove it.",
            current_state=rev.state,
        )
    audit.record(
        "revision.discard",
        actor=by,
        target=rev,
        organization_id=listing.organization_id,
        before={"state": rev.state, "number": rev.number, "data": rev.data},
        after=None,
    )
    db.session.delete(rev)
    listing.set_sort_keys(None)
    db.session.flush()


def withdraw_revision(rev: ListingRevision, by: User) -> ListingRevision:
    RS.check_transition(rev.state, RS.WITHDRAWN)
    before = rev.state
    rev.state = RS.WITHDRAWN.value
    rev.claimed_by_id = None
    rev.claimed_at = None
    # withdrawn is not a decided state (decided_iff_decided); the earlier request for changes
    # stays in the audit trail
    rev.decided_at = None
    rev.decided_by_id = None
    rev.listing.set_sort_keys(None)
    db.session.flush()
    audit.record(
        "revision.withdraw",
        actor=by,
        target=rev,
        organization_id=rev.listing.organization_id,
        before={"state": before},
        after={"state": rev.state},
    )
    return rev


# ------------------------------------------------------------------ review


def claim(
    rev: ListingRevision | Certification, reviewer: User, *, assigned_by: User | None = None
) -> None:
    """Take an item for review (or assign it, when `assigned_by` is an admin)."""
    kind = "revision" if isinstance(rev, ListingRevision) else "certification"
    state = rev.state if kind == "revision" else rev.status
    pending = PENDING_REVIEW_STATES if kind == "revision" else OPEN_STATUSES
    if state not in pending:
        raise WorkflowError(f"This {kind} is not waiting for review.", current_state=state)
    before = {"claimed_by_id": rev.claimed_by_id}
    rev.claimed_by_id = reviewer.id
    rev.claimed_at = utcnow()
    if kind == "revision" and rev.state == RS.SUBMITTED:
        rev.state = RS.check_transition(rev.state, RS.IN_REVIEW).value
    elif kind == "certification" and rev.status == CS.SUBMITTED:
        rev.status = CS.check_transition(rev.status, CS.IN_REVIEW).value
    db.session.flush()
    action = f"{kind}.assign" if assigned_by else f"{kind}.claim"
    audit.record(
        action,
        actor=assigned_by or reviewer,
        target=rev,
        organization_id=_org_id(rev),
        before=before,
        after={"claimed_by_id": reviewer.id},
    )


def release_claim(item: ListingRevision | Certification, by: User) -> None:
    before = {"claimed_by_id": item.claimed_by_id}
    item.claimed_by_id = None
    item.claimed_at = None
    db.session.flush()
    audit.record(
        "review.unclaim",
        actor=by,
        target=item,
        organization_id=_org_id(item),
        before=before,
        after={"claimed_by_id": None},
    )


def _org_id(item) -> int | None:
    if isinstance(item, ListingRevision):
        return item.listing.organization_id
    return getattr(item, "organization_id", None)


def _already_decided(rev: ListingRevision) -> ConflictError:
    who = rev.decided_by.name if rev.decided_by else "someone else"
    return ConflictError(
        f"This revision was already decided by {who} ({RS(rev.state).label.lower()}).",
        current_state=rev.state,
    )


def _decide(
    rev: ListingRevision,
    reviewer: User,
    target: RevisionState,
    note: str,
    expected_version: int | None = None,
) -> ListingRevision:
    """Conditional UPDATE on state: exactly one of two concurrent deciders wins.
    `expected_version` (the lock_version the reviewer's page showed) also refuses a decision
    taken on a page that is out of date (claimed or reassigned since)."""
    if rev.decided_at is not None and not rev.is_pending_review:
        raise _already_decided(rev)
    RS.check_transition(rev.state, target)
    now = utcnow()
    conditions = [
        ListingRevision.id == rev.id,
        ListingRevision.state.in_(PENDING_REVIEW_STATES),
    ]
    if expected_version is not None:
        conditions.append(ListingRevision.lock_version == expected_version)
    result = db.session.execute(
        update(ListingRevision)
        .where(*conditions)
        .values(
            state=target.value,
            decided_at=now,
            decided_by_id=reviewer.id,
            decision_note=note,
            lock_version=ListingRevision.lock_version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(rev)
        if rev.is_pending_review:
            raise ConflictError(
                "This item changed after you opened it (claimed or reassigned). Reload and decide again.",
                current_state=rev.state,
            )
        raise _already_decided(rev)
    db.session.refresh(rev)
    return rev


def approve(
    rev: ListingRevision, reviewer: User, note: str = "", *, expected_version: int | None = None
) -> ListingRevision:
    """Make the revision live, supersede the old one, stamp the verified date, mark for release."""
    listing = rev.listing
    old = listing.live_revision
    _decide(rev, reviewer, RS.APPROVED, note, expected_version)
    now = rev.decided_at
    if old is not None and old.id != rev.id:
        old.state = RS.check_transition(old.state, RS.SUPERSEDED).value
        old.superseded_at = now
    listing.live_revision = rev
    listing.service_type_code = rev.service_type_code
    listing.verified_at = now
    listing.verified_by_id = reviewer.id
    listing.stale_since = None
    listing.set_sort_keys(None)  # the open revision is the live one now
    db.session.flush()
    mark_changed(listing.id, "approved")
    audit.record(
        "revision.approve",
        actor=reviewer,
        target=rev,
        organization_id=listing.organization_id,
        before={"live_revision": old.number if old else None},
        after={"live_revision": rev.number, "note": note},
    )
    return rev


def request_changes(
    rev: ListingRevision, reviewer: User, note: str = "", *, expected_version: int | None = None
) -> ListingRevision:
    if rev.decided_at is not None and not rev.is_pending_review:
        raise _already_decided(rev)
    open_comments = db.session.scalar(
        db.select(db.func.count(ReviewComment.id)).where(
            ReviewComment.revision_id == rev.id, ReviewComment.resolved_at.is_(None)
        )
    )
    if not open_comments:
        raise WorkflowError(
            "Add at least one comment saying what to change before requesting changes."
        )
    _decide(rev, reviewer, RS.CHANGES_REQUESTED, note, expected_version)
    rev.listing.set_sort_keys(rev)
    db.session.flush()
    audit.record(
        "revision.request_changes",
        actor=reviewer,
        target=rev,
        organization_id=rev.listing.organization_id,
        after={"note": note},
    )
    return rev


def reject(
    rev: ListingRevision, reviewer: User, reason: str, *, expected_version: int | None = None
) -> ListingRevision:
    if not reason.strip():
        raise WorkflowError("A rejection needs a reason the provider can act on.")
    _decide(rev, reviewer, RS.REJECTED, reason.strip(), expected_version)
    rev.listing.set_sort_keys(None)
    db.session.flush()
    audit.record(
        "revision.reject",
        actor=reviewer,
        target=rev,
        organization_id=rev.listing.organization_id,
        after={"reason": reason},
    )
    return rev


def resubmit_after_changes(rev: ListingRevision, by: User, note: str = "") -> ListingRevision:
    """Provider resubmits a revision whose changes were requested; open comments are resolved."""
    for c in db.session.scalars(
        db.select(ReviewComment).where(
            ReviewComment.revision_id == rev.id, ReviewComment.resolved_at.is_(None)
        )
    ):
        c.resolved_at = utcnow()
    return submit_revision(rev, by, note)


def add_comment(
    author: User,
    body: str,
    *,
    revision: ListingRevision | None = None,
    certification: Certification | None = None,
    field: str | None = None,
    parent_id: int | None = None,
) -> ReviewComment:
    body = (body or "").strip()
    if not body:
        raise WorkflowError("A comment cannot be empty.")
    c = ReviewComment(
        revision_id=revision.id if revision else None,
        certification_id=certification.id if certification else None,
        field=field or None,
        body=body,
        author_id=author.id,
        parent_id=parent_id,
    )
    db.session.add(c)
    db.session.flush()
    target = revision or certification
    audit.record(
        "comment.add",
        actor=author,
        target=c,
        organization_id=_org_id(target),
        after={"field": field, "body": body},
    )
    return c


def attest_no_changes(listing: Listing, by: User) -> Listing:
    """One click: the live listing is still correct. Stamps 'last verified' without a review."""
    if listing.live_revision is None:
        raise WorkflowError("Only a listing that is live can be confirmed as unchanged.")
    before = {"verified_at": listing.verified_at}
    open_revision = listing.open_revision  # before the change (the lookup flushes)
    listing.verified_at = utcnow()
    listing.verified_by_id = by.id
    listing.stale_since = None
    listing.set_sort_keys(open_revision)
    db.session.flush()
    mark_changed(listing.id, "reverified")
    audit.record(
        "listing.attest",
        actor=by,
        target=listing,
        before=before,
        after={"verified_at": listing.verified_at},
    )
    return listing


def suspend(listing: Listing, by: User, reason: str) -> Listing:
    if not reason.strip():
        raise WorkflowError("Say why the listing is suspended; the provider will be told.")
    if listing.is_suspended:
        raise WorkflowError("This listing is already suspended.")
    open_revision = listing.open_revision  # before the change (the lookup flushes)
    listing.is_suspended = True
    listing.suspended_at = utcnow()
    listing.suspended_by_id = by.id
    listing.suspended_reason = reason.strip()
    listing.set_sort_keys(open_revision)
    db.session.flush()
    mark_changed(listing.id, "suspended")
    audit.record("listing.suspend", actor=by, target=listing, after={"reason": reason})
    return listing


def reinstate(listing: Listing, by: User, reason: str = "") -> Listing:
    if not listing.is_suspended:
        raise WorkflowError("This listing is not suspended.")
    before = {"reason": listing.suspended_reason}
    open_revision = listing.open_revision  # before the change (the lookup flushes)
    listing.is_suspended = False
    listing.suspended_at = None
    listing.suspended_by_id = None
    listing.suspended_reason = ""
    listing.set_sort_keys(open_revision)
    db.session.flush()
    mark_changed(listing.id, "reinstated")
    audit.record(
        "listing.reinstate", actor=by, target=listing, before=before, after={"reason": reason}
    )
    return listing


# ------------------------------------------------------------------ certifications


def _check_renewable(old: Certification, organization: Organization) -> None:
    """One open renewal per certificate, and only of a decided one."""
    if old.organization_id != organization.id:
        raise WorkflowError("A certification can only renew the organization's own certificate.")
    if old.status in OPEN_STATUSES:
        raise WorkflowError(
            f"This certification is still {CS(old.status).label.lower()} at DMH; it can be renewed once "
            "it is decided. Add documents to it instead."
        )
    pending = open_renewal(old)
    if pending is not None:
        when = pending.submitted_at.strftime("%B %-d, %Y") if pending.submitted_at else "earlier"
        raise WorkflowError(
            f"A renewal of this certificate is already with DMH (submitted {when}); add its "
            "documents there instead of starting another."
        )


def submit_certification(
    organization: Organization,
    type_code: str,
    by: User,
    *,
    listings=(),
    basis: str = CertificationBasis.SURVEY.value,
    accrediting_body: str = "",
    accreditation_number: str = "",
    accreditation_effective_on: date | None = None,
    accreditation_expires_on: date | None = None,
    renews: Certification | None = None,
    note: str = "",
) -> Certification:
    for lst in listings:
        if lst.organization_id != organization.id:
            raise WorkflowError("A certification can only cover the organization's own listings.")
    if basis == CertificationBasis.DEEMED and not accrediting_body:
        raise WorkflowError("Deemed status needs the accrediting body.")
    if renews is not None:
        _check_renewable(renews, organization)
    now = utcnow()
    cert = Certification(
        organization=organization,
        type_code=type_code,
        status=CS.SUBMITTED.value,
        basis=basis,
        accrediting_body=accrediting_body,
        accreditation_number=accreditation_number,
        accreditation_effective_on=accreditation_effective_on,
        accreditation_expires_on=accreditation_expires_on,
        renews=renews,
        provider_note=note,
        submitted_at=now,
        submitted_by_id=by.id,
        due_at=add_business_days(now, settings.review_sla_business_days),
    )
    cert.listings = list(listings)
    db.session.add(cert)
    db.session.flush()
    audit.record(
        "certification.submit",
        actor=by,
        target=cert,
        after={"type": type_code, "basis": basis, "renews": renews.id if renews else None},
    )
    return cert


def withdraw_certification(cert: Certification, by: User) -> Certification:
    CS.check_transition(cert.status, CS.WITHDRAWN)
    before = cert.status
    cert.status = CS.WITHDRAWN.value
    db.session.flush()
    audit.record(
        "certification.withdraw",
        actor=by,
        target=cert,
        before={"status": before},
        after={"status": cert.status},
    )
    return cert


def _check_decision(
    cert: Certification,
    status: str,
    certificate_number: str,
    effective_on: date | None,
    expires_on: date | None,
    note: str,
) -> None:
    """The reviewer's decision is one the certification may take, with what it needs."""
    if status not in DECISION_STATUSES:
        raise WorkflowError(f"'{status}' is not a status a reviewer can set.")
    if status != cert.status:  # the same status again corrects the decision's details
        CS.check_transition(cert.status, status)
    if status in ACTIVE_STATUSES:
        _check_certify(cert, certificate_number, effective_on, expires_on)
    if status in (CS.SUSPENDED, CS.REVOKED, CS.ON_HOLD) and not note.strip():
        raise WorkflowError("Give a reason; the provider will be told.")


def _check_certify(
    cert: Certification,
    certificate_number: str,
    effective_on: date | None,
    expires_on: date | None,
) -> None:
    if not certificate_number:
        raise WorkflowError("A certificate number is required to certify.")
    if effective_on is None:
        raise WorkflowError("An effective date is required to certify.")
    if expires_on is None and not (
        cert.basis == CertificationBasis.DEEMED and cert.accreditation_expires_on
    ):
        raise WorkflowError(
            "An expiry date is required (deemed status may follow the accreditation's)."
        )
    if expires_on is not None and expires_on < effective_on:
        raise WorkflowError("The expiry date must be after the effective date.")


def decide_certification(
    cert: Certification,
    reviewer: User,
    status: str,
    *,
    certificate_number: str = "",
    effective_on: date | None = None,
    expires_on: date | None = None,
    conditions: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> Certification:
    """Verify (or hold, suspend, revoke) a certification. Deemed status follows the
    accreditation's expiry when no expiry is given."""
    _check_decision(cert, status, certificate_number, effective_on, expires_on, note)
    if expected_version is not None and cert.lock_version != expected_version:
        raise ConflictError(
            "Someone changed this certification after you opened it. Reload and check again."
        )
    before = {
        "status": cert.status,
        "certificate_number": cert.certificate_number,
        "effective_on": cert.effective_on,
        "expires_on": cert.expires_on,
    }
    cert.status = status
    if certificate_number:
        cert.certificate_number = certificate_number
    if effective_on is not None:
        cert.effective_on = effective_on
    if expires_on is not None or status in ACTIVE_STATUSES:
        cert.expires_on = expires_on
    cert.conditions = conditions
    cert.decision_note = note
    if status in VERIFIED_STATUSES:
        cert.verified_at = utcnow()
        cert.verified_by_id = reviewer.id
    else:
        cert.verified_at = None
        cert.verified_by_id = None
    cert.claimed_by_id = None
    cert.claimed_at = None
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            "Someone decided this certification at the same moment. Reload and check."
        ) from exc
    for lst in cert.listings:
        mark_changed(lst.id, f"certification {status}")
    audit.record(
        "certification.decide",
        actor=reviewer,
        target=cert,
        before=before,
        after={
            "status": status,
            "certificate_number": cert.certificate_number,
            "effective_on": cert.effective_on,
            "expires_on": cert.expires_on,
            "note": note,
        },
    )
    return cert


def expire_certification(cert: Certification, on: date, actor: str = "certification sweep") -> bool:
    """Sweep step: an active-status certification past its expiry becomes expired.
    Returns False when another sweep got there first (conditional update)."""
    expiry = cert.effective_expiry
    if expiry is None or expiry >= on:
        return False
    result = db.session.execute(
        update(Certification)
        .where(
            Certification.id == cert.id,
            Certification.status.in_(ACTIVE_STATUSES),
        )
        .values(status=CS.EXPIRED.value, lock_version=Certification.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(cert)
    for lst in cert.listings:
        mark_changed(lst.id, "certification expired")
    audit.record(
        "certification.expire", actor=actor, target=cert, after={"expired_on": on, "expiry": expiry}
    )
    return True


def verify_document(doc: Document, reviewer: User, accepted: bool, reason: str = "") -> Document:
    if not accepted and not reason.strip():
        raise WorkflowError("Say why the document is rejected.")
    target = DocumentStatus.ACCEPTED if accepted else DocumentStatus.REJECTED
    if doc.status != target:  # the same verdict again updates its reason and reviewer
        DocumentStatus.check_transition(doc.status, target)
    before = {"status": doc.status}
    doc.status = target.value
    doc.status_reason = reason.strip()
    doc.verified_by_id = reviewer.id
    doc.verified_at = utcnow()
    db.session.flush()
    audit.record(
        "document.verify",
        actor=reviewer,
        target=doc,
        before=before,
        after={"status": doc.status, "reason": reason},
    )
    return doc
