"""Re-verification without a password: the yearly reminder, delivered through a real SMTP server,
carries each recipient a link of their own showing the listing as published; "Everything is
still correct" stamps last verified (audited "via e-mailed link"); a reused, expired, tampered or
deactivated-user link is refused with a clear page; "Something changed" leads to sign-in."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

from models import AuditEvent, User, VerificationLink, db, today, utcnow
from models.listings import issue_link, token_hash
from models.organizations import deactivate_user
from tests.conftest import csrf_from
from tests.portal.conftest import listing_named

LISTING = "Bluestem Youth Crisis Center"
LINK = re.compile(r"https?://[^\s]+/verify\?t=[A-Za-z0-9_\-%]+")


def send_reminders(app, smtp_server, count: int):
    from tasks.sweeps import run_verification_sweep

    lst = listing_named(LISTING)
    lst.verified_at = utcnow() - timedelta(days=370)
    db.session.commit()
    run_verification_sweep(today())
    messages = [m for m in smtp_server.wait_for(count) if LISTING in m["Subject"]]
    return lst, messages


def link_of(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    (url,) = LINK.findall(text)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def answer(client, path: str, choice: str):
    page = client.get(path)
    token = dict(re.findall(r'name="(t)" value="([^"]+)"', page.get_data(as_text=True)))["t"]
    return client.post(
        "/verify",
        data={
            "t": unescape(token),
            "answer": choice,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )


def test_the_emailed_link_confirms_once_and_refuses_what_it_must(app, mail_to_smtp, smtp_server):
    lst, messages = send_reminders(app, smtp_server, 2)
    recipients = sorted(m["To"] for m in messages)
    assert recipients == ["colleague@demo.test", "provider@demo.test"]  # one e-mail each
    by_to = {m["To"]: m for m in messages}
    body = by_to["provider@demo.test"].get_body(preferencelist=("plain",)).get_content()
    assert "Phone numbers:" in body and "Hours:" in body and "Counties served:" in body
    path = link_of(by_to["provider@demo.test"])
    assert path != link_of(by_to["colleague@demo.test"])
    # only the hash of the token is stored
    token = re.search(r"t=([^&\s]+)", path).group(1)
    assert db.session.scalar(db.select(VerificationLink.token_hash)) != token
    assert (
        db.session.scalar(
            db.select(db.func.count(VerificationLink.id)).where(
                VerificationLink.token_hash == token_hash(token)
            )
        )
        == 1
    )

    visitor = app.test_client()  # nobody signed in
    page = visitor.get(path).get_data(as_text=True)
    assert f"Is “{LISTING}” still correct?" in page and "Everything is still correct" in page
    before = lst.verified_at
    done = answer(visitor, path, "correct")
    assert done.status_code == 200 and "marked as verified today" in done.get_data(as_text=True)
    db.session.expire_all()
    lst = listing_named(LISTING)
    assert lst.verified_at > before and lst.verified_at.date() == utcnow().date()
    event = db.session.scalar(
        db.select(AuditEvent).filter_by(action="listing.attest").order_by(AuditEvent.id.desc())
    )
    provider_id = db.session.scalar(db.select(User.id).filter_by(email="provider@demo.test"))
    assert event.after["via"] == "e-mailed link" and event.actor_id == provider_id

    again = visitor.get(path)  # reused
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    tampered = visitor.get(path[:-3] + "abc")
    assert tampered.status_code == 404 and "not valid" in tampered.get_data(as_text=True)

    colleague = db.session.scalar(db.select(User).filter_by(email="colleague@demo.test"))
    admin = db.session.scalar(db.select(User).filter_by(email="admin@demo.test"))
    deactivate_user(colleague, by=admin)  # deactivated: their link stops working
    db.session.commit()
    gone = visitor.get(link_of(by_to["colleague@demo.test"]))
    assert gone.status_code == 410 and "no longer valid" in gone.get_data(as_text=True)

    provider = db.session.scalar(db.select(User).filter_by(email="provider@demo.test"))
    old = issue_link(lst, provider)
    db.session.scalar(
        db.select(VerificationLink).filter_by(token_hash=token_hash(old))
    ).expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    expired = visitor.get(f"/verify?t={old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)


def test_something_changed_spends_the_link_and_leads_to_sign_in_then_the_editor(app):
    lst = listing_named(LISTING)
    provider = db.session.scalar(db.select(User).filter_by(email="provider@demo.test"))
    token = issue_link(lst, provider)
    db.session.commit()
    visitor = app.test_client()
    resp = answer(visitor, f"/verify?t={token}", "changed")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"] and resp.headers["Location"].endswith(
        f"next=/portal/listings/{lst.id}/edit"
    )
    link = db.session.scalar(db.select(VerificationLink).filter_by(token_hash=token_hash(token)))
    assert link.outcome == "changed" and link.used_at is not None
    assert visitor.get(f"/verify?t={token}").status_code == 410


def test_no_answer_for_14_days_reminds_the_admins_once_and_dmh_sees_the_campaign(
    app, mail_to_smtp, smtp_server, login
):
    from tasks.sweeps import run_verification_sweep

    lst, messages = send_reminders(app, smtp_server, 2)
    links = db.session.scalars(db.select(VerificationLink).filter_by(listing_id=lst.id)).all()
    for link in links:
        link.created_at -= timedelta(days=15)  # two weeks, no answer
    db.session.commit()
    before = len(smtp_server.messages)
    run_verification_sweep(today())
    follow = [
        m for m in smtp_server.wait_for(before + 1) if m["Subject"].startswith("No answer yet")
    ]
    assert len(follow) == 1 and follow[0]["To"] == "provider@demo.test"  # the organization's admin
    run_verification_sweep(today())  # never twice
    assert [m for m in smtp_server.messages if m["Subject"].startswith("No answer yet")] == follow

    staff = login("reviewer")
    page = staff.get("/review/reverification").get_data(as_text=True)
    row = re.search(r"Bluestem Valley[^<]*</th>((?:<td>\d+</td>)+)", page)
    assert row and re.findall(r"<td>(\d+)</td>", row.group(1)) == ["2", "0", "0", "0", "2"]
