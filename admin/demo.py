"""`flask demo load`: clearly fictional demo data over every service type and state.

Invented organization names, real county names and FIPS codes, ZIP codes that lie in their
county, phones in the reserved 555-01xx range, example.org addresses. Idempotent: a second
run finds the demo marker and changes nothing."""

from __future__ import annotations

import random
from datetime import timedelta

import click
from flask.cli import AppGroup

from models import (
    Certification,
    County,
    Organization,
    Region,
    ReviewComment,
    Role,
    User,
    db,
    today,
    utcnow,
)
from models.certifications import CertificationStatus as CS
from models.listings import DAYS, empty_data
from models.listings import RevisionState as RS
from models.listings import workflow as wf
from models.reference import county_centroids, county_names, load_reference_data, zips_by_county

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo login
# 160 bits, so pyotp accepts it with its default checks
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - documented demo second factor
DEMO_STAFF = ("admin@demo.test", "reviewer@demo.test", "reviewer2@demo.test")
MARKER_ORG = "Bluestem Valley Behavioral Health"
GATEWAY_ORG = "Gateway Riverbend Crisis Services"
# the providers' demo logins: e-mail, name, organization, administers it
DEMO_PROVIDERS = [
    ("provider@demo.test", "Pat Provider (demo)", MARKER_ORG, True),
    ("colleague@demo.test", "Casey Colleague (demo)", MARKER_ORG, False),
    ("other-provider@demo.test", "Jordan Other-Org (demo)", GATEWAY_ORG, True),
]

KC_METRO = ["29095", "29047", "29165", "29037", "29177"]
STL_METRO = ["29510", "29189", "29183", "29099", "29071"]

REGIONS = [
    ("kansas-city-metro", "Kansas City metro"),
    ("st-louis-metro", "St. Louis metro"),
    ("northwest", "Northwest"),
    ("northeast", "Northeast"),
    ("west-central", "West Central"),
    ("central", "Central"),
    ("southwest", "Southwest"),
    ("southeast", "Southeast"),
]

# name, home county FIPS, area code, region slug
ORGS = [
    (MARKER_ORG, "29019", "573", "central"),  # Boone (Columbia)
    ("Osage Prairie Counseling Network", "29051", "573", "central"),  # Cole (Jefferson City)
    ("Current River Wellness Partners", "29023", "573", "southeast"),  # Butler (Poplar Bluff)
    ("Gateway Riverbend Crisis Services", "29510", "314", "st-louis-metro"),  # St. Louis city
    ("Ozark Hollow Community Health", "29077", "417", "southwest"),  # Greene (Springfield)
    ("Big Muddy Behavioral Partners", "29095", "816", "kansas-city-metro"),  # Jackson
    ("Tri-Lakes Hope Center", "29213", "417", "southwest"),  # Taney (Branson)
    ("Northland Prairie Health", "29147", "660", "northwest"),  # Nodaway (Maryville)
    ("Bluff City Counseling Alliance", "29127", "573", "northeast"),  # Marion (Hannibal)
    ("Bootheel Lantern Behavioral Health", "29069", "573", "southeast"),  # Dunklin (Kennett)
    ("Katy Trail Recovery Collaborative", "29159", "660", "west-central"),  # Pettis (Sedalia)
    ("Heartland Lifeline Network", "29161", "573", "central"),  # Phelps (Rolla)
]

WEST_PLAINS_CIT = ["29091", "29149", "29203", "29215", "29229", "29067", "29153"]
UNCOVERED_BY_MOBILE = "29227"  # Worth County: a deliberate coverage gap to show the map working


def region_of(fips: str, lat: float, lon: float) -> str:
    if fips in KC_METRO:
        return "kansas-city-metro"
    if fips in STL_METRO:
        return "st-louis-metro"
    if lat >= 39.2:
        return "northwest" if lon < -93.2 else "northeast"
    if lat >= 37.9:
        return "west-central" if lon < -93.3 else "central"
    return "southwest" if lon < -92.4 else "southeast"


DECIDED = (CS.CERTIFIED, CS.PROVISIONAL, CS.CONDITIONAL, CS.SUSPENDED, CS.EXPIRED, CS.REVOKED)
UNDONE = (CS.SUSPENDED, CS.EXPIRED, CS.REVOKED)  # certified first, then taken back
STREET_NAMES = [
    "Demo Prairie Rd",
    "Example Bluff Ave",
    "Fictional Oak St",
    "Sample Ridge Dr",
    "Make-Believe Ln",
    "Storybook Way",
    "Mockingbird Demo Ct",
    "Illustration Blvd",
    "Imaginary Elm St",
    "Pretend Pkwy",
]


# crisis residential and sobering centers: (organization, service type, name, home county,
# details), made in this order
RESIDENTIAL = [
    (
        MARKER_ORG,
        "crisis_residential",
        "Bluestem Crisis Stabilization House",
        "29019",
        {
            "description": "Short stays (up to three days) for adults stepping down from a crisis.",
            "capacity": 12,
            "capacity_unit": "beds",
            "max_stay_hours": 72,
            "min_age": 18,
            "cost": "insurance_no_one_refused",
            "no_one_turned_away": True,
        },
    ),
    (
        "Gateway Riverbend Crisis Services",
        "crisis_residential",
        "Riverbend Stabilization Residence",
        "29510",
        {
            "description": "Crisis residential unit for adults.",
            "capacity": 16,
            "capacity_unit": "beds",
            "max_stay_hours": 72,
            "min_age": 18,
        },
    ),
    (
        MARKER_ORG,
        "sobering_center",
        "Bluestem Sobering Support Center",
        "29019",
        {
            "description": "A safe place for intoxicated, nonviolent adults to recover, up to 23 hours.",
            "nonviolent_only": True,
            "min_age": 18,
            "max_stay_hours": 23,
            "capacity": 10,
            "capacity_unit": "beds",
            "le_dropoff": True,
            "walk_in": True,
            "referral_sources": ["law_enforcement", "ed", "self"],
            "cost": "no_cost",
            "no_one_turned_away": True,
        },
    ),
    (
        "Gateway Riverbend Crisis Services",
        "sobering_center",
        "Riverbend Sobering Center",
        "29510",
        {
            "description": "Sobering support for nonviolent adults; transport home on discharge.",
            "nonviolent_only": True,
            "min_age": 18,
            "max_stay_hours": 23,
            "capacity": 12,
            "capacity_unit": "beds",
            "le_dropoff": True,
            "referral_sources": ["law_enforcement", "ed"],
            "cost": "no_cost",
            "no_one_turned_away": True,
        },
    ),
]


def weekly(opens: str, closes: str, days=DAYS[:5]) -> dict:
    return {d: ([[opens, closes]] if d in days else []) for d in DAYS}


def office_hours(opens: str, closes: str, notes: str = "") -> dict:
    return {"is_24_7": False, "weekly": weekly(opens, closes), "closures": [], "notes": notes}


def other_centers() -> list[tuple[str, str, str, str, dict]]:
    """A youth crisis center and two urgent-care centers (one closed this Christmas Day)."""
    return [
        (
            MARKER_ORG,
            "bhcc",
            "Bluestem Youth Crisis Center",
            "29019",
            {
                "description": "A crisis center for children and teens, with family rooms.",
                "walk_in": True,
                "le_dropoff": True,
                "max_stay_hours": 23,
                "capacity": 8,
                "capacity_unit": "chairs",
                "min_age": 10,
                "max_age": 17,
                "populations": ["youth", "families"],
                "cost": "no_cost",
                "no_one_turned_away": True,
                "referral_sources": ["self", "family", "school", "law_enforcement"],
            },
        ),
        (
            "Osage Prairie Counseling Network",
            "urgent_bhcc",
            "Capital City Urgent Behavioral Health",
            "29051",
            {
                "hours": {
                    "is_24_7": False,
                    "weekly": weekly("07:00", "19:00", DAYS[:6]),
                    "closures": [{"date": f"{today().year}-12-25", "note": "Christmas Day"}],
                    "notes": "",
                },
                "description": "Urgent behavioral health care without an appointment.",
                "walk_in": True,
                "le_dropoff": False,
                "max_stay_hours": 12,
                "capacity": 6,
                "capacity_unit": "chairs",
                "cost": "sliding_scale",
                "no_one_turned_away": True,
                "min_age": 18,
            },
        ),
        (
            "Tri-Lakes Hope Center",
            "urgent_bhcc",
            "Tri-Lakes Urgent Crisis Care",
            "29213",
            {
                "hours": {
                    "is_24_7": False,
                    "weekly": weekly("08:00", "20:00", DAYS),
                    "closures": [],
                    "notes": "Last check-in 7:30 pm.",
                },
                "description": "Walk-in crisis care in the Branson area.",
                "walk_in": True,
                "max_stay_hours": 12,
                "capacity": 5,
                "capacity_unit": "chairs",
                "cost": "insurance_no_one_refused",
                "no_one_turned_away": True,
            },
        ),
    ]


ALWAYS = {"is_24_7": True, "weekly": {d: [] for d in DAYS}, "closures": [], "notes": ""}


class Builder:
    """One demo load: the people, organizations and listings made so far, and the steps that
    make them. The steps run in a fixed order (`load`): the random numbers, phone numbers and
    street numbers depend on it, so the demo is the same on every machine."""

    def __init__(self):
        self.rng = random.Random(20261127)  # noqa: S311 - repeatable demo data, not secrets
        self.phone_n = 100
        self.names = county_names()
        self.centroids = county_centroids()
        self.region_fips: dict[str, list[str]] = {slug: [] for slug, _ in REGIONS}
        for fips, (lat, lon) in sorted(self.centroids.items()):
            self.region_fips[region_of(fips, lat, lon)].append(fips)
        self.orgs: dict[str, Organization] = {}
        self.members: dict[int, User] = {}  # organization id -> who acts for it
        self.made: dict[str, list] = {}  # service type -> listings
        self.streets = (
            f"{1200 + 90 * i} {STREET_NAMES[i % len(STREET_NAMES)]}" for i in range(1000)
        )
        self.day = today()
        self.now = utcnow()

    def phone(self, area: str) -> str:
        self.phone_n = 100 + (self.phone_n - 99) % 100
        return f"+1{area}5550{self.phone_n:03d}"[:12]

    def site(self, fips: str, street: str) -> tuple[dict, float, float]:
        z = zips_by_county()[fips][0]
        addr = {
            "address_1": street,
            "address_2": "",
            "city": z.city,
            "state": "MO",
            "postal_code": z.zip_code,
            "county_fips": fips,
        }
        return addr, round(z.latitude, 5), round(z.longitude, 5)

    # ---------------------------------------------------------- the load, in order

    def load(self) -> None:
        self.regions()
        self.people()
        self.crisis_lines()
        self.mobile_teams()
        self.crisis_centers()
        for n in self.ccbho_orgs:
            status = {
                "Bluff City Counseling Alliance": "conditional",
                "Katy Trail Recovery Collaborative": "provisional",
            }.get(n, "certified")
            self.cert(n, "ccbho", status, expires_in=500 + len(n) * 3)
        self.residential_and_sobering()
        self.community_programs()
        db.session.flush()
        self.program_certifications()
        self.work_in_progress()
        self.new_listings()
        self.suspended_and_stale()

    # ---------------------------------------------------------- regions and people

    def regions(self) -> None:
        counties = {c.fips: c for c in db.session.scalars(db.select(County))}
        for slug, name in REGIONS:
            db.session.add(
                Region(
                    slug=slug,
                    name=f"{name} (demo planning region)",
                    layer="demo planning region",
                    description="Demo layer: a rough geographic grouping, not an official DMH boundary.",
                    counties=[counties[f] for f in self.region_fips[slug]],
                )
            )
        db.session.add(
            Region(
                slug="west-plains-cit",
                name="West Plains area CIT council",
                layer="CIT council area",
                counties=[counties[f] for f in WEST_PLAINS_CIT],
            )
        )

    def people(self) -> None:
        admin = User(email="admin@demo.test", name="Avery Admin (demo)", role=Role.ADMIN.value)
        self.reviewer = User(
            email="reviewer@demo.test", name="Riley Reviewer (demo)", role=Role.REVIEWER.value
        )
        self.reviewer2 = User(
            email="reviewer2@demo.test",
            name="Morgan Second-Reviewer (demo)",
            role=Role.REVIEWER.value,
        )
        for u in (admin, self.reviewer, self.reviewer2):
            u.set_password(DEMO_PASSWORD)
            u.totp_secret = DEMO_TOTP_SECRET
            u.totp_enabled_at = utcnow()
            db.session.add(u)
        self.organizations()
        providers = [
            User(
                email=email,
                name=name,
                role=Role.PROVIDER.value,
                organization_id=self.orgs[org_name].id,
                is_org_admin=is_org_admin,
            )
            for email, name, org_name, is_org_admin in DEMO_PROVIDERS
        ]
        for u in providers:
            u.set_password(DEMO_PASSWORD)
            db.session.add(u)
        db.session.flush()
        provider, _colleague, other = providers
        self.members[provider.organization_id] = provider
        self.members[other.organization_id] = other

    def organizations(self) -> None:
        for i, (name, fips, area, _region) in enumerate(ORGS, start=1):
            slug = name.lower().split()[0]
            self.orgs[name] = Organization(
                legal_name=name + ", Inc.",
                dba=name,
                ein=f"00-00000{i:02d}",
                npi="",
                website=f"https://{slug}.example.org",
                email=f"info@{slug}.example.org",
                phone=f"+1{area}5550{100 + i:03d}"[:12],
                contact_name=f"Director {i} (demo)",
                description=f"Fictional provider serving {self.names[fips]} and nearby counties.",
            )
            db.session.add(self.orgs[name])
        # the marker org keeps its exact legal name
        self.orgs[MARKER_ORG].legal_name = MARKER_ORG
        db.session.flush()

    def member(self, org: Organization) -> User:
        """Who acts for an organization: its demo login, else a staff account made on first use."""
        if org.id not in self.members:
            slug = org.dba.lower().split()[0]
            u = User(
                email=f"staff@{slug}.demo.test",
                name=f"{org.dba} staff (demo)",
                role=Role.PROVIDER.value,
                organization_id=org.id,
                is_org_admin=True,
            )
            u.set_password(DEMO_PASSWORD)
            db.session.add(u)
            db.session.flush()
            self.members[org.id] = u
        return self.members[org.id]

    @property
    def ccbho_orgs(self) -> list[str]:
        return [n for n, *_ in ORGS if not n.startswith("Heartland")]

    @staticmethod
    def org_for_region(slug: str, n: int = 0) -> str:
        names = [o for o, _f, _a, r in ORGS if r == slug and not o.startswith("Heartland")]
        return names[n % len(names)]

    # ---------------------------------------------------------- listings

    def listing(
        self,
        org_name: str,
        stype: str,
        name: str,
        *,
        fips: str | None = None,
        street: str = "",
        counties: list[tuple[str, str]] = (),
        hours=None,
        live=True,
        **fields,
    ):
        org = self.orgs[org_name]
        area = next(a for n, _f, a, _r in ORGS if n == org_name)
        data = empty_data()
        data.update(name=name, description=fields.pop("description", ""))
        if fips:
            addr, lat, lon = self.site(
                fips, street or f"{100 + len(self.made) * 7} Demo Prairie Rd"
            )
            data.update(address=addr, latitude=lat, longitude=lon)
        data["counties"] = [{"fips": f, "role": r} for f, r in counties]
        data["phones"] = [{"number": self.phone(area), "kind": "voice", "description": ""}]
        data["hours"] = hours or ALWAYS
        data["email"] = f"intake@{org.dba.lower().split()[0]}.example.org"
        data["website"] = f"https://{org.dba.lower().split()[0]}.example.org/services"
        data.update(fields)
        actor = self.member(org)  # act as a member of the listing's organization
        lst, rev = wf.create_listing(org, stype, data, actor)
        if live:
            wf.submit_revision(rev, actor, "Initial listing.")
            wf.approve(rev, self.reviewer, "Checked against the certification file.")
        self.made.setdefault(stype, []).append(lst)
        return lst

    def of(self, org_name: str, stype: str) -> list:
        return [lst for lst in self.made.get(stype, []) if lst.organization.dba == org_name]

    def crisis_lines(self) -> None:
        """988 centers: each county has exactly one primary; one statewide backup."""
        rf = self.region_fips
        primary_groups = [
            (
                "Big Muddy Behavioral Partners",
                rf["kansas-city-metro"] + rf["northwest"] + rf["west-central"],
            ),
            ("Gateway Riverbend Crisis Services", rf["st-louis-metro"]),
            ("Bluff City Counseling Alliance", rf["northeast"]),
            (MARKER_ORG, rf["central"]),
            ("Ozark Hollow Community Health", rf["southwest"]),
            ("Current River Wellness Partners", rf["southeast"]),
        ]
        for org_name, fipses in primary_groups:
            self.listing(
                org_name,
                "988_center",
                f"{org_name.rsplit(' ', 2)[0]} 988 Crisis Line",
                counties=[(f, "primary") for f in fipses],
                description="Answers 988 calls, texts and chats from these counties.",
                languages=["en", "es"],
                populations=[],
                cost="no_cost",
                no_one_turned_away=True,
                referral_sources=["988"],
            )
        self.listing(
            "Heartland Lifeline Network",
            "988_center",
            "Heartland Statewide Backup Crisis Line",
            counties=[(f, "backup") for f in sorted(self.centroids)],
            description="Statewide backup: answers when a regional center cannot.",
            languages=["en", "es"],
        )

    def mobile_teams(self) -> None:
        """Mobile crisis: each region split in two by longitude (metros: one team)."""
        for slug, _label in REGIONS:
            fipses = sorted(self.region_fips[slug], key=lambda f: self.centroids[f][1])
            metro = slug.endswith("metro")
            half = len(fipses) // 2
            parts = [fipses] if metro else [fipses[:half], fipses[half:]]
            for i, part in enumerate(parts):
                org_name = self.org_for_region(slug, i)
                side = "Metro" if metro else ["West", "East"][i]
                self.listing(
                    org_name,
                    "mobile_crisis",
                    f"{org_name.rsplit(' ', 2)[0]} Mobile Crisis Team — {side}",
                    counties=[(f, "served") for f in part if f != UNCOVERED_BY_MOBILE],
                    description="A two-person team comes to the person, at no cost, any time.",
                    target_response_minutes=60 if metro else 90,
                    cost="no_cost",
                    referral_sources=["988", "law_enforcement", "family", "self"],
                    populations=["adults", "youth"],
                )

    def crisis_centers(self) -> None:
        """One BHCC per region, plus a youth center and two urgent-care centers."""
        for slug, label in REGIONS:
            org_name = self.org_for_region(slug)
            home = next(f for n, f, _a, _r in ORGS if n == org_name)
            min_age = 18 if org_name.startswith("Ozark Hollow") else 12
            self.listing(
                org_name,
                "bhcc",
                f"{label} Behavioral Health Crisis Center",
                fips=home,
                street=next(self.streets),
                description="Walk in any time. Up to 23 hours of supervised care; law enforcement can drop off and go.",
                walk_in=True,
                le_dropoff=True,
                max_stay_hours=23,
                capacity=12 + len(label) % 6,
                capacity_unit="chairs",
                cost="insurance_no_one_refused",
                no_one_turned_away=True,
                populations=["adults"] if min_age == 18 else ["adults", "youth"],
                referral_sources=["self", "law_enforcement", "ems", "ed", "988"],
                accessibility="Step-free entrance; accessible restrooms.",
                languages=["en", "es"],
                min_age=min_age,
            )
        self.site_programs(other_centers())

    def site_programs(self, table: list[tuple[str, str, str, str, dict]]) -> None:
        """Programs at a site, from a table of (organization, service type, name, home county,
        details), each at the next demo street address."""
        for org_name, stype, name, fips, details in table:
            self.listing(org_name, stype, name, fips=fips, street=next(self.streets), **details)

    def residential_and_sobering(self) -> None:
        self.site_programs(RESIDENTIAL)

    def community_programs(self) -> None:
        """ERE, CIT councils, adult and youth liaisons."""
        for slug, label in REGIONS:
            self.listing(
                self.org_for_region(slug),
                "ere",
                f"{label} Emergency Room Enhancement",
                counties=[(f, "served") for f in self.region_fips[slug]],
                description="Follow-up and linkage after an emergency-department visit.",
                hours=office_hours("08:00", "17:00"),
            )
        cit_councils = [
            (
                "Big Muddy Behavioral Partners",
                "Kansas City Metro CIT Council",
                self.region_fips["kansas-city-metro"],
            ),
            (
                "Gateway Riverbend Crisis Services",
                "St. Louis Area CIT Council",
                self.region_fips["st-louis-metro"],
            ),
            (
                "Ozark Hollow Community Health",
                "Greene County Area CIT Council",
                ["29077", "29043", "29225"],
            ),
            ("Current River Wellness Partners", "West Plains Area CIT Council", WEST_PLAINS_CIT),
        ]
        for org_name, label, fipses in cit_councils:
            self.listing(
                org_name,
                "cit_council",
                label,
                counties=[(f, "served") for f in fipses],
                description="Law enforcement, behavioral health and community partners; 40-hour CIT training.",
                hours=office_hours("09:00", "16:00"),
            )
        for slug in ("northwest", "northeast", "west-central", "central", "southwest", "southeast"):
            self.listing(
                self.org_for_region(slug),
                "cbhl",
                f"Community Behavioral Health Liaison — {dict(REGIONS)[slug]}",
                counties=[(f, "served") for f in self.region_fips[slug]],
                description="Helps law enforcement and courts connect people to care.",
                hours=office_hours(
                    "08:00", "17:00", "On call after hours through the mobile crisis line."
                ),
                referral_sources=["law_enforcement", "court"],
                exclude_from_print=slug == "southeast",
            )
        for slug in ("kansas-city-metro", "st-louis-metro", "central", "southeast"):
            self.listing(
                self.org_for_region(slug),
                "ybhl",
                f"Youth Behavioral Health Liaison — {dict(REGIONS)[slug]}",
                counties=[(f, "served") for f in self.region_fips[slug]],
                populations=["youth", "families"],
                max_age=17,
                description="Works with schools and school resource officers on screening and safety planning.",
                hours=office_hours("07:30", "16:30"),
                referral_sources=["school", "law_enforcement", "family"],
            )

    # ---------------------------------------------------------- certifications

    def cert(
        self,
        org_name,
        type_code,
        status,
        *,
        listings=(),
        basis="survey",
        expires_in=700,
        effective_ago=400,
        accrediting_body="",
        accreditation_expires_in=None,
        renews=None,
        note="",
        number=None,
    ):
        """A certification applied for by the organization and taken to `status`."""
        org = self.orgs[org_name]
        day = self.day
        accreditation = (
            {
                "accreditation_number": f"DEMO-{accrediting_body}-{org.id:04d}",
                "accreditation_effective_on": day - timedelta(days=300),
            }
            if accrediting_body
            else {"accreditation_number": "", "accreditation_effective_on": None}
        )
        c = wf.submit_certification(
            org,
            type_code,
            self.member(org),
            listings=list(listings),
            basis=basis,
            accrediting_body=accrediting_body,
            **accreditation,
            accreditation_expires_on=day + timedelta(days=accreditation_expires_in)
            if accreditation_expires_in is not None
            else None,
            renews=renews,
            note=note,
        )
        if status in DECIDED:
            self._decide(c, type_code, status, basis, expires_in, effective_ago, number)
        elif status == CS.IN_REVIEW:
            wf.claim(c, self.reviewer2)
        elif status == CS.ON_HOLD:
            wf.decide_certification(
                c,
                self.reviewer,
                "on_hold",
                note="Demo moratorium on new applications until spring.",
            )
        elif status == CS.WITHDRAWN:
            wf.withdraw_certification(c, self.member(org))
        return c

    def _decide(self, c, type_code, status, basis, expires_in, effective_ago, number) -> None:
        """Certify (or provisionally/conditionally), then suspend, revoke or let expire."""
        day = self.day
        first = CS.CERTIFIED.value if status in UNDONE else status
        wf.decide_certification(
            c,
            self.reviewer,
            first,
            certificate_number=number or f"DEMO-{type_code.upper()}-{day.year - 1}-{c.id:04d}",
            effective_on=day - timedelta(days=effective_ago),
            expires_on=None
            if basis == "deemed"
            else day + timedelta(days=expires_in if status != CS.EXPIRED else 365),
            conditions="Submit the corrected fire-inspection report within 90 days."
            if status == CS.CONDITIONAL
            else "",
        )
        if status in (CS.SUSPENDED, CS.REVOKED):
            wf.decide_certification(
                c, self.reviewer, status, note="Demo: serious findings at the last survey."
            )
        if status == CS.EXPIRED:
            c.expires_on = day - timedelta(days=10)
            db.session.flush()
            wf.expire_certification(c, day)

    def program_certifications(self) -> None:
        for n in self.ccbho_orgs:
            self._bhcc_certifications(n)
            self._aci_certifications(n)
        self.cert(
            MARKER_ORG,
            "sobering",
            "certified",
            listings=self.of(MARKER_ORG, "sobering_center"),
            expires_in=800,
            number="DEMO-SOB-2024-0003",
        )
        self.cert(
            "Gateway Riverbend Crisis Services",
            "sobering",
            "certified",
            listings=self.of("Gateway Riverbend Crisis Services", "sobering_center"),
            expires_in=650,
        )
        self.cert(
            "Tri-Lakes Hope Center",
            "sobering",
            "on_hold",
            note="New sobering center planned for 2027.",
        )
        self.cert(
            "Osage Prairie Counseling Network", "sobering", "withdrawn", note="Applied in error."
        )

    def _bhcc_certifications(self, n: str) -> None:
        listings = self.of(n, "bhcc") + self.of(n, "urgent_bhcc")
        if not listings:
            return
        if n == MARKER_ORG:
            self.cert(
                n,
                "bhcc",
                "certified",
                listings=listings,
                expires_in=20,
                number="DEMO-BHCC-2023-0001",
            )
        elif n.startswith("Ozark Hollow"):
            self.cert(
                n,
                "bhcc",
                "certified",
                listings=listings,
                basis="deemed",
                accrediting_body="CARF",
                accreditation_expires_in=400,
            )
        elif n.startswith("Northland"):
            self.cert(n, "bhcc", "suspended", listings=listings)
        else:
            old = self.cert(n, "bhcc", "certified", listings=listings, expires_in=200 + len(n))
            if n.startswith("Current River"):
                self.cert(
                    n,
                    "bhcc",
                    "submitted",
                    listings=listings,
                    renews=old,
                    note="Renewal: survey scheduled.",
                )

    def _aci_certifications(self, n: str) -> None:
        mobile = self.of(n, "mobile_crisis")
        if not mobile:
            return
        if n.startswith("Katy Trail"):
            lapsed = self.cert(n, "aci", "expired", listings=mobile)
            self.cert(
                n,
                "aci",
                "in_review",
                listings=mobile,
                renews=lapsed,
                note="Late renewal; documents attached.",
            )
        elif n.startswith("Bootheel"):
            self.cert(n, "aci", "revoked", listings=mobile)
            self.cert(n, "aci", "certified", listings=mobile, expires_in=900)
        else:
            self.cert(n, "aci", "certified", listings=mobile, expires_in=600 + len(n))

    # ---------------------------------------------------------- work in progress

    def change(self, lst, mutate, *, state="submitted", days_ago=1, note=""):
        """A change to a live listing, left as a draft or taken to `state`."""
        data = dict(lst.live_revision.data)
        mutate(data)
        actor = self.member(lst.organization)
        rev = wf.save_draft(lst, data, actor)
        if state == RS.DRAFT:
            return rev
        wf.submit_revision(rev, actor, note)
        rev.submitted_at = self.now - timedelta(days=days_ago, hours=2)
        rev.due_at = wf.add_business_days(rev.submitted_at, 5)
        if state == RS.IN_REVIEW:
            wf.claim(rev, self.reviewer2)
        elif state == RS.CHANGES_REQUESTED:
            wf.claim(rev, self.reviewer)
            wf.add_comment(
                self.reviewer,
                "This number rings a fax line. Please give the voice line people should call.",
                revision=rev,
                field="phones",
            )
            wf.request_changes(rev, self.reviewer, "Please fix the phone number.")
        db.session.flush()
        return rev

    def work_in_progress(self) -> None:
        """Drafts and revisions awaiting review."""
        bluestem_bhcc = next(
            lst for lst in self.of(MARKER_ORG, "bhcc") if "Youth" not in lst.live_revision.name
        )
        self.change(
            bluestem_bhcc,
            lambda d: d.update(
                phones=[{"number": "+15735550188", "kind": "voice", "description": "Front desk"}]
            ),
            days_ago=4,
            note="New front-desk number after our phone system change.",
        )
        self.change(
            self.of("Gateway Riverbend Crisis Services", "mobile_crisis")[0],
            lambda d: d.update(target_response_minutes=45),
            days_ago=2,
            note="Added a second team; faster response.",
        )
        self.change(
            self.of("Ozark Hollow Community Health", "988_center")[0],
            lambda d: d.update(languages=["en", "es", "vi"]),
            state="in_review",
            days_ago=8,  # overdue on any weekday: 7 days always hold 5 business days
            note="Vietnamese interpreters now on staff.",
        )
        self.change(
            self.of("Big Muddy Behavioral Partners", "cit_council")[0],
            lambda d: d.update(
                phones=[{"number": "+18165550177", "kind": "fax", "description": ""}]
            ),
            state="changes_requested",
            days_ago=8,
            note="New coordinator line.",
        )
        bluestem_ere = self.of(MARKER_ORG, "ere")
        self.change(
            bluestem_ere[0] if bluestem_ere else bluestem_bhcc,
            lambda d: d.update(
                description=d["description"] + " Now including telehealth follow-up."
            ),
            state="draft",
        )

    def new_listings(self) -> None:
        """Brand-new listings: one submitted for review, one still a draft."""
        new_res = self.listing(
            "Osage Prairie Counseling Network",
            "crisis_residential",
            "Osage Prairie Crisis Residential",
            fips="29051",
            street="77 Fictional Capitol Ave",
            live=False,
            description="New 8-bed crisis residential unit opening soon.",
            capacity=8,
            capacity_unit="beds",
            max_stay_hours=72,
            min_age=18,
        )
        rev = new_res.open_revision
        wf.submit_revision(
            rev,
            self.member(new_res.organization),
            "New program; certification application to follow.",
        )
        rev.submitted_at = self.now - timedelta(days=1)
        self.listing(
            "Current River Wellness Partners",
            "ybhl",
            "Youth Liaison — Ozark Foothills",
            live=False,
            counties=[(f, "served") for f in WEST_PLAINS_CIT],
            populations=["youth"],
            max_age=17,
            hours=office_hours("08:00", "16:00"),
        )

    def suspended_and_stale(self) -> None:
        """A suspended listing, and a listing not re-verified for over a year."""
        bootheel_ere = self.of("Bootheel Lantern Behavioral Health", "ere") or self.of(
            "Current River Wellness Partners", "ere"
        )
        wf.suspend(
            bootheel_ere[0],
            self.reviewer,
            "The listed phone number is disconnected; suspended until a working number is confirmed.",
        )
        stale = self.of("Northland Prairie Health", "cbhl")[0]
        stale.verified_at = self.now - timedelta(days=400)
        db.session.flush()


def _refresh_demo_secrets() -> None:
    """A database loaded by an earlier version may hold the older, shorter demo secret."""
    for u in db.session.scalars(db.select(User).where(User.email.in_(DEMO_STAFF))):
        if u.totp_secret and u.totp_secret != DEMO_TOTP_SECRET:
            u.totp_secret = DEMO_TOTP_SECRET


def load_demo() -> bool:
    """Load the demo data; returns False when it was already there."""
    load_reference_data()
    if db.session.scalar(db.select(Organization).filter_by(legal_name=MARKER_ORG)):
        _refresh_demo_secrets()
        return False
    Builder().load()
    assert db.session.scalar(db.select(db.func.count(ReviewComment.id))) >= 1
    assert db.session.scalar(db.select(db.func.count(Certification.id))) >= 20
    return True


demo_cli = AppGroup("demo", help="Fictional demo data.")


@demo_cli.command("load")
def demo_load_command():
    """Load the demo organizations, listings, certifications and logins (idempotent)."""
    if load_demo():
        db.session.commit()
        click.echo(
            "demo data loaded. Logins (password demo-password): provider@demo.test, reviewer@demo.test, admin@demo.test"
        )
        click.echo(f"staff TOTP secret: {DEMO_TOTP_SECRET}")
    else:
        db.session.rollback()
        click.echo("demo data already present; nothing changed")


@demo_cli.command("totp")
def demo_totp_command():
    """Print the current second-factor code of the demo staff accounts."""
    from .auth.totp import totp

    click.echo(totp(DEMO_TOTP_SECRET).now())
