"""Reference data: validated forms, an audit event with before/after per change, and the
versioned history that explains the reference data a past release was built from."""

from __future__ import annotations

from datetime import timedelta

from manage_helpers import post_form

from models import AuditEvent, Region, ServiceType, db, utcnow
from models.reference import reference_as_of, reference_version, save_reference


def _service_type_form(st: ServiceType, **changes) -> dict:
    form = {
        "code": st.code,
        "name": st.name,
        "short_name": st.short_name,
        "pillar": st.pillar,
        "sort_order": str(st.sort_order),
        "description": st.description,
        "rule_citation": st.rule_citation,
        "hours_rule": st.hours_rule,
        "max_stay_hours": str(st.max_stay_hours or ""),
        "site_address_rule": st.site_address_rule,
        "counties_rule": st.counties_rule,
        "coverage_kind": st.coverage_kind,
        "required_certification_code": st.required_certification_code or "",
        "org_certification_code": st.org_certification_code or "",
    }
    for flag in ("walk_in_allowed", "requires_nonviolent", "is_role", "has_capacity"):
        if getattr(st, flag):
            form[flag] = "y"
    form.update(changes)
    return form


def test_editing_a_service_type_rule_is_audited_and_versioned(admin_client):
    st = db.session.get(ServiceType, "bhcc")
    version = reference_version()
    url = "/manage/reference/service_type/bhcc"
    resp = post_form(admin_client, url, _service_type_form(st, max_stay_hours="24"), token_url=url)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert db.session.get(ServiceType, "bhcc").max_stay_hours == 24
    ev = db.session.scalar(
        db.select(AuditEvent).filter_by(action="reference.service_type.update", object_id="bhcc")
    )
    assert ev.before["max_stay_hours"] == 23 and ev.after["max_stay_hours"] == 24
    assert reference_version() > version
    # the history is on the edit page
    assert "reference.service_type.update" in admin_client.get(url).get_data(as_text=True)


def test_invalid_rules_are_refused_next_to_the_field(admin_client):
    st = db.session.get(ServiceType, "mobile_crisis")
    url = "/manage/reference/service_type/mobile_crisis"
    resp = post_form(
        admin_client,
        url,
        _service_type_form(
            st, max_stay_hours="0", walk_in_allowed="y", required_certification_code="nosuch"
        ),
        token_url=url,
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'id="max_stay_hours-error"' in html and 'id="site_address_rule-error"' in html
    assert 'id="required_certification_code-error"' in html
    assert db.session.get(ServiceType, "mobile_crisis").max_stay_hours is None


def test_past_reference_data_can_be_rebuilt(users):
    st = db.session.get(ServiceType, "sobering_center")
    old_name = st.name
    moment = utcnow()
    db.session.flush()
    save_reference("service_type", st, {"name": "Sobering and recovery center"}, by=users.admin)
    ev = db.session.scalar(
        db.select(AuditEvent).filter_by(
            action="reference.service_type.update", object_id="sobering_center"
        )
    )
    assert ev.at > moment
    past = reference_as_of(moment)
    assert past["service_type"]["sobering_center"]["name"] == old_name
    now = reference_as_of(utcnow() + timedelta(seconds=1))
    assert now["service_type"]["sobering_center"]["name"] == "Sobering and recovery center"
    # a record created after the moment did not exist then
    save_reference(
        "document_type", None, {"name": "Board minutes"}, by=users.admin, key="board_minutes"
    )
    assert "board_minutes" not in reference_as_of(moment)["document_type"]
    assert "board_minutes" in reference_as_of(utcnow() + timedelta(seconds=1))["document_type"]


def test_region_by_checkboxes_and_pasted_fips(admin_client):
    url = "/manage/reference/region/new"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'name="counties" value="29019"' in page
    data = {
        "name": "Test Troop",
        "slug": "test-troop",
        "layer": "Highway Patrol troop",
        "description": "",
        "fips_list": "29051, 29135",
    }
    resp = post_form(admin_client, url, {**data, "counties": "29019"}, token_url=url)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    region = db.session.scalar(db.select(Region).filter_by(slug="test-troop"))
    assert region.fips_set == {"29019", "29051", "29135"}
    ev = db.session.scalar(
        db.select(AuditEvent).filter_by(action="reference.region.create", object_id=str(region.id))
    )
    assert ev.after["counties"] == ["29019", "29051", "29135"]
    bad = post_form(
        admin_client, url, {**data, "slug": "other", "fips_list": "29999"}, token_url=url
    )
    assert bad.status_code == 400 and "29999" in bad.get_data(as_text=True)


def test_certification_type_needs_a_rule_and_a_sane_period(admin_client):
    url = "/manage/reference/certification_type/new"
    resp = post_form(
        admin_client,
        url,
        {
            "code": "ccbho_plus",
            "name": "X",
            "rule_citation": "",
            "scope": "organization",
            "default_period_months": "500",
        },
        token_url=url,
    )
    html = resp.get_data(as_text=True)
    assert (
        resp.status_code == 400
        and 'id="rule_citation-error"' in html
        and 'id="default_period_months-error"' in html
    )
    ok = post_form(
        admin_client,
        url,
        {
            "code": "ccbho_plus",
            "name": "CCBHO plus",
            "rule_citation": "9 CSR 30-6.020",
            "scope": "organization",
            "default_period_months": "24",
        },
        token_url=url,
    )
    assert ok.status_code == 302
