"""One open renewal per certificate, only of a decided one; while it is with DMH the portal
stops asking for a renewal."""

from __future__ import annotations

from models import Certification, db
from tests.portal.conftest import page_errors, read_form


def certified_of(org_id: int) -> Certification:
    return db.session.scalar(
        db.select(Certification)
        .where(Certification.organization_id == org_id, Certification.status == "certified")
        .order_by(Certification.id)
    )


def renew(provider, cert_id: int):
    page = provider.get(f"/portal/certifications/new?renews={cert_id}").get_data(as_text=True)
    form = read_form(page, "cert-form")
    return provider.post("/portal/certifications/new", data=form)


def renewals_of(cert_id: int) -> list[Certification]:
    return db.session.scalars(db.select(Certification).filter_by(renews_id=cert_id)).all()


def test_a_second_renewal_of_the_same_certificate_is_refused(provider, bluestem):
    old = certified_of(bluestem.id)
    old_id = old.id
    first = renew(provider, old_id)
    assert first.status_code == 302, page_errors(first.get_data(as_text=True))
    second = renew(provider, old_id)
    assert second.status_code == 422
    assert "A renewal of this certificate is already with DMH" in second.get_data(as_text=True)
    (renewal,) = renewals_of(old_id)
    # a pending renewal cannot itself be renewed
    third = renew(provider, renewal.id)
    assert third.status_code == 422
    assert "still submitted at DMH" in third.get_data(as_text=True)
    assert renewals_of(renewal.id) == []

    # the list links to the renewal instead of offering "Renew" again
    page = provider.get("/portal/certifications").get_data(as_text=True)
    assert f'href="/portal/certifications/{renewal.id}">Renewal with DMH</a>' in page
    assert f'/portal/certifications/new?renews={old_id}"' not in page
    assert f'/portal/certifications/new?renews={renewal.id}"' not in page


def test_once_a_renewal_is_certified_the_old_certificate_reads_renewed(provider, bluestem, users):
    from datetime import timedelta

    from models import today
    from models.listings import workflow as wf

    old = certified_of(bluestem.id)
    old_id = old.id
    assert renew(provider, old_id).status_code == 302
    (renewal,) = renewals_of(old_id)
    wf.decide_certification(
        renewal,
        users.reviewer,
        "certified",
        certificate_number="DEMO-RENEWED-1",
        effective_on=today(),
        expires_on=today() + timedelta(days=730),
    )
    db.session.commit()
    renewal_id = renewal.id
    page = provider.get("/portal/certifications").get_data(as_text=True)
    row = page.split(f'href="/portal/certifications/{old_id}"', 1)[1].split("</tr>", 1)[0]
    assert ">renewed<" in row and "DEMO-RENEWED-1" in row
    assert f'/portal/certifications/new?renews={old_id}"' not in page
    # the dashboard shows one line per certificate lineage: the renewal, not the old one
    dashboard = provider.get("/portal/").get_data(as_text=True)
    assert f'href="/portal/certifications/{renewal_id}"' in dashboard
    assert f'href="/portal/certifications/{old_id}"' not in dashboard
