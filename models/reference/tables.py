"""Reference data: Missouri county areas, regions, service types and their rules,
certification types and document types. Service-type rules are *data* read by forms,
models and templates alike."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import StrEnum, TimestampMixin, check_in, db

DATA_DIR = Path(__file__).parent / "data"


class Pillar(StrEnum):
    CONTACT = "contact"  # someone to contact
    RESPOND = "respond"  # someone to respond
    PLACE = "place"  # a safe place for help
    SUPPORT = "support"  # ERE, CIT, liaisons

    @property
    def title(self) -> str:
        return PILLAR_TITLES[self]


PILLAR_TITLES = {
    Pillar.CONTACT: "Someone to contact",
    Pillar.RESPOND: "Someone to respond",
    Pillar.PLACE: "A safe place for help",
    Pillar.SUPPORT: "Partners and liaisons",
}


class HoursRule(StrEnum):
    ALWAYS = "24_7"  # must be open 24 hours a day, 7 days a week
    UNDER_24 = "under_24"  # must NOT be open around the clock
    ANY = "any"


class FieldRule(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    FORBIDDEN = "forbidden"


class CoverageKind(StrEnum):
    SERVED = "served"  # counties served
    PRIMARY_BACKUP = "primary_backup"  # 988: each county answered as primary or backup


class CoverageGroup(StrEnum):
    """Where a service type counts in county coverage (models/reference/coverage.py), besides 988
    answering, which `CoverageKind.PRIMARY_BACKUP` decides."""

    NONE = "none"
    MOBILE_TEAM = "mobile_team"  # a county without one has the "no mobile crisis team" gap
    CRISIS_CENTER = "crisis_center"  # a region without one has the "no crisis center" gap
    SOBERING_CENTER = "sobering_center"  # listed, no gap


COVERAGE_GROUP_LABELS = {
    CoverageGroup.NONE: "—",
    CoverageGroup.MOBILE_TEAM: "mobile crisis team",
    CoverageGroup.CRISIS_CENTER: "crisis center",
    CoverageGroup.SOBERING_CENTER: "sobering center",
}


class CertificationScope(StrEnum):
    ORGANIZATION = "organization"  # e.g. CCBHO: the organization holds it
    LISTING = "listing"  # e.g. BHCC: the certification names the listings it covers


class County(db.Model):
    """One of Missouri's 115 county-level areas (114 counties + St. Louis city). Match on FIPS."""

    __tablename__ = "county"
    fips: Mapped[str] = mapped_column(String(5), primary_key=True)
    census_name: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(80))  # display name

    __table_args__ = (CheckConstraint("length(fips) = 5 AND fips LIKE '29%'", name="fips_mo"),)

    def __repr__(self) -> str:
        return f"<County {self.fips} {self.name}>"


region_county = Table(
    "region_county",
    db.metadata,
    Column("region_id", ForeignKey("region.id", ondelete="CASCADE"), primary_key=True),
    Column("county_fips", ForeignKey("county.fips"), primary_key=True, index=True),
)


def county_names() -> dict[str, str]:
    """FIPS code → name of every county area (the one lookup the pages, diffs and feeds use)."""
    return dict(db.session.execute(db.select(County.fips, County.name)).all())


class Region(TimestampMixin, db.Model):
    """A named set of counties in one layer (DMH service area, Highway Patrol troop, ERE region...)."""

    __tablename__ = "region"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    layer: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    counties: Mapped[list[County]] = relationship(secondary=region_county, order_by=County.name)

    @property
    def fips_set(self) -> set[str]:
        return {c.fips for c in self.counties}


class CertificationType(TimestampMixin, db.Model):
    __tablename__ = "certification_type"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    rule_citation: Mapped[str] = mapped_column(String(80), default="")
    scope: Mapped[str] = mapped_column(String(20), default=CertificationScope.LISTING.value)
    default_period_months: Mapped[int] = mapped_column(Integer, default=36)
    description: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint(check_in("scope", CertificationScope), name="scope"),
        CheckConstraint("default_period_months BETWEEN 1 AND 120", name="period"),
    )


class ServiceType(TimestampMixin, db.Model):
    """A kind of crisis service with the rules every listing of that kind must meet."""

    __tablename__ = "service_type"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(40))
    pillar: Mapped[str] = mapped_column(String(20))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    rule_citation: Mapped[str] = mapped_column(String(80), default="")
    # --- per-type rules ---
    hours_rule: Mapped[str] = mapped_column(String(20), default=HoursRule.ANY.value)
    max_stay_hours: Mapped[int | None] = mapped_column(Integer)  # upper bound for max stay
    site_address_rule: Mapped[str] = mapped_column(String(20), default=FieldRule.OPTIONAL.value)
    walk_in_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    counties_rule: Mapped[str] = mapped_column(String(20), default=FieldRule.OPTIONAL.value)
    coverage_kind: Mapped[str] = mapped_column(String(20), default=CoverageKind.SERVED.value)
    coverage_group: Mapped[str] = mapped_column(String(20), default=CoverageGroup.NONE.value)
    requires_nonviolent: Mapped[bool] = mapped_column(Boolean, default=False)
    is_role: Mapped[bool] = mapped_column(Boolean, default=False)  # liaison: a role, not a facility
    has_capacity: Mapped[bool] = mapped_column(Boolean, default=False)
    required_certification_code: Mapped[str | None] = mapped_column(
        ForeignKey("certification_type.code")
    )
    org_certification_code: Mapped[str | None] = mapped_column(
        ForeignKey("certification_type.code")
    )

    required_certification: Mapped[CertificationType | None] = relationship(
        foreign_keys=[required_certification_code]
    )
    org_certification: Mapped[CertificationType | None] = relationship(
        foreign_keys=[org_certification_code]
    )

    __table_args__ = (
        CheckConstraint(check_in("pillar", Pillar), name="pillar"),
        CheckConstraint(check_in("hours_rule", HoursRule), name="hours_rule"),
        CheckConstraint(check_in("site_address_rule", FieldRule), name="site_address_rule"),
        CheckConstraint(check_in("counties_rule", FieldRule), name="counties_rule"),
        CheckConstraint(check_in("coverage_kind", CoverageKind), name="coverage_kind"),
        CheckConstraint(check_in("coverage_group", CoverageGroup), name="coverage_group"),
        CheckConstraint("max_stay_hours IS NULL OR max_stay_hours > 0", name="max_stay"),
    )

    @property
    def pillar_title(self) -> str:
        return PILLAR_TITLES[Pillar(self.pillar)]

    @property
    def answers_primary_backup(self) -> bool:
        """988 answering: each county is listed as primary or as backup."""
        return self.coverage_kind == CoverageKind.PRIMARY_BACKUP

    @property
    def coverage_label(self) -> str:
        """Where the type counts in county coverage, for people."""
        if self.answers_primary_backup:
            return "988 primary / backup"
        return COVERAGE_GROUP_LABELS.get(self.coverage_group, "—")

    def required_certification_codes(self) -> list[str]:
        return [c for c in (self.required_certification_code, self.org_certification_code) if c]


class DocumentType(TimestampMixin, db.Model):
    __tablename__ = "document_type"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    has_expiry: Mapped[bool] = mapped_column(Boolean, default=False)


# ---------------------------------------------------------------- seed data


def county_rows() -> list[dict[str, str]]:
    with open(DATA_DIR / "counties.csv", newline="") as f:
        return list(csv.DictReader(f))


CERTIFICATION_TYPES = [
    dict(
        code="ccbho",
        name="Certified Community Behavioral Health Organization",
        rule_citation="9 CSR 30-6.010",
        scope="organization",
        default_period_months=36,
    ),
    dict(
        code="bhcc",
        name="Behavioral Health Crisis Center",
        rule_citation="9 CSR 30-7.010",
        scope="listing",
        default_period_months=36,
    ),
    dict(
        code="sobering",
        name="Sobering Center",
        rule_citation="9 CSR 30-7.020",
        scope="listing",
        default_period_months=36,
    ),
    dict(
        code="aci",
        name="Access Crisis Intervention (mobile response)",
        rule_citation="9 CSR 30-4.195",
        scope="listing",
        default_period_months=36,
    ),
    dict(
        code="core",
        name="Core rules for psychiatric and SUD programs",
        rule_citation="9 CSR 10-7",
        scope="organization",
        default_period_months=36,
    ),
]

SERVICE_TYPES = [
    dict(
        code="988_center",
        name="988 crisis center",
        short_name="988 center",
        pillar="contact",
        sort_order=10,
        description="Answers 988 calls, texts and chats for its counties (primary) or as backup.",
        hours_rule="24_7",
        site_address_rule="optional",
        walk_in_allowed=False,
        counties_rule="required",
        coverage_kind="primary_backup",
    ),
    dict(
        code="mobile_crisis",
        name="Mobile crisis response team",
        short_name="Mobile crisis",
        pillar="respond",
        sort_order=20,
        description="A two-person team that meets the person where they are, at no cost.",
        rule_citation="9 CSR 30-4.195",
        hours_rule="24_7",
        site_address_rule="forbidden",
        walk_in_allowed=False,
        counties_rule="required",
        coverage_group="mobile_team",
        required_certification_code="aci",
    ),
    dict(
        code="bhcc",
        name="Behavioral health crisis center",
        short_name="Crisis center",
        pillar="place",
        sort_order=30,
        description="Open 24/7; up to 23 consecutive hours of supervised care; walk-in and law-enforcement drop-off.",
        rule_citation="9 CSR 30-7.010",
        hours_rule="24_7",
        max_stay_hours=23,
        site_address_rule="required",
        counties_rule="optional",
        coverage_group="crisis_center",
        has_capacity=True,
        required_certification_code="bhcc",
    ),
    dict(
        code="urgent_bhcc",
        name="Urgent-care behavioral health crisis center",
        short_name="Urgent crisis center",
        pillar="place",
        sort_order=40,
        description="A crisis center open less than 24 hours a day.",
        rule_citation="9 CSR 30-7.010(1)(D)",
        hours_rule="under_24",
        max_stay_hours=23,
        site_address_rule="required",
        counties_rule="optional",
        coverage_group="crisis_center",
        has_capacity=True,
        required_certification_code="bhcc",
    ),
    dict(
        code="crisis_residential",
        name="Crisis residential / stabilization unit",
        short_name="Crisis residential",
        pillar="place",
        sort_order=50,
        description="Short-term, sub-acute residential stabilization (multi-day stays).",
        hours_rule="24_7",
        site_address_rule="required",
        counties_rule="optional",
        has_capacity=True,
    ),
    dict(
        code="sobering_center",
        name="Sobering center",
        short_name="Sobering center",
        pillar="place",
        sort_order=60,
        description="For intoxicated, nonviolent adults to recover safely, up to 23 consecutive hours; run by a CCBHO.",
        rule_citation="9 CSR 30-7.020",
        hours_rule="any",
        max_stay_hours=23,
        site_address_rule="required",
        counties_rule="optional",
        coverage_group="sobering_center",
        requires_nonviolent=True,
        has_capacity=True,
        required_certification_code="sobering",
        org_certification_code="ccbho",
    ),
    dict(
        code="ere",
        name="Emergency room enhancement",
        short_name="ERE",
        pillar="support",
        sort_order=70,
        description="Follow-up for people seen in emergency departments for behavioral health crises.",
        site_address_rule="optional",
        walk_in_allowed=False,
        counties_rule="required",
    ),
    dict(
        code="cit_council",
        name="Crisis intervention team (CIT) council",
        short_name="CIT council",
        pillar="support",
        sort_order=80,
        description="Law enforcement, behavioral health and community partners; runs the 40-hour CIT training.",
        site_address_rule="optional",
        walk_in_allowed=False,
        counties_rule="required",
    ),
    dict(
        code="cbhl",
        name="Community behavioral health liaison",
        short_name="CBHL",
        pillar="support",
        sort_order=90,
        description="A liaison who helps law enforcement and courts; a role with a coverage area, not a facility.",
        site_address_rule="forbidden",
        walk_in_allowed=False,
        counties_rule="required",
        is_role=True,
    ),
    dict(
        code="ybhl",
        name="Youth behavioral health liaison",
        short_name="YBHL",
        pillar="support",
        sort_order=100,
        description="A liaison for children and youth, often through schools; a role, not a facility.",
        site_address_rule="forbidden",
        walk_in_allowed=False,
        counties_rule="required",
        is_role=True,
    ),
]

DOCUMENT_TYPES = [
    dict(code="application", name="Signed application form"),
    dict(code="governing_body", name="Governing body authority"),
    dict(code="policy_manual", name="Policy and procedure manual"),
    dict(code="staffing_plan", name="Staffing plan / roster"),
    dict(code="fire_inspection", name="Fire safety inspection", has_expiry=True),
    dict(code="emergency_plan", name="Emergency preparedness plan"),
    dict(code="accreditation_certificate", name="Accreditation certificate", has_expiry=True),
    dict(code="accreditation_survey", name="Accreditation survey report"),
    dict(code="plan_of_correction", name="Plan of correction"),
    dict(code="insurance", name="Certificate of insurance", has_expiry=True),
    dict(code="other", name="Other supporting document"),
]


def snapshot_county_names(reference: dict[str, Any]) -> dict[str, str]:
    """FIPS -> display name, from a release's reference snapshot (not the live tables)."""
    return {c["fips"]: c["name"] for c in reference.get("counties", [])}


def reference_snapshot() -> dict[str, Any]:
    """Reference data as of the build: counties, regions and service types (explains a
    release). Read as rows, in four queries: every release reads it."""
    county, region = County.__table__, Region.__table__
    counties = [
        {"fips": fips, "name": name}
        for fips, name in db.session.execute(
            db.select(county.c.fips, county.c.name).order_by(county.c.fips)
        )
    ]
    members: dict[int, list[str]] = {}
    for region_id, fips in db.session.execute(
        db.select(region_county.c.region_id, region_county.c.county_fips)
    ):
        members.setdefault(region_id, []).append(fips)
    regions = [
        {"slug": slug, "name": name, "layer": layer, "counties": sorted(members.get(rid, []))}
        for rid, slug, name, layer in db.session.execute(
            db.select(region.c.id, region.c.slug, region.c.name, region.c.layer).order_by(
                region.c.layer, region.c.name
            )
        )
    ]
    st = ServiceType.__table__
    types = [
        {
            "code": t.code,
            "name": t.name,
            "short_name": t.short_name,
            "pillar": t.pillar,
            "pillar_title": PILLAR_TITLES[Pillar(t.pillar)],
            "sort_order": t.sort_order,
            "description": t.description,
            "rule_citation": t.rule_citation,
            "coverage_kind": t.coverage_kind,
            "coverage_group": t.coverage_group,
        }
        for t in db.session.execute(
            db.select(
                st.c.code,
                st.c.name,
                st.c.short_name,
                st.c.pillar,
                st.c.sort_order,
                st.c.description,
                st.c.rule_citation,
                st.c.coverage_kind,
                st.c.coverage_group,
            ).order_by(st.c.sort_order)
        )
    ]
    return {"counties": counties, "regions": regions, "service_types": types}
