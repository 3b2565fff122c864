"""The DMH HSDS profile (extension fields, taxonomies, feed rules) and our API's OpenAPI document.

Both are served by the read side: `GET /api/hsds/` links to them."""

from __future__ import annotations

from typing import Any

from models.listings import simple_fields

HSDS_SCHEMA = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema"
PROFILE_VERSION = "1.0.0"
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50

EXTENSIONS: dict[str, dict[str, Any]] = {
    "mo_dmh_service_type": {
        "type": "string",
        "description": "Code of the DMH crisis service type (also an attribute of the MO DMH Crisis Service Type taxonomy).",
    },
    "mo_dmh_certification_status": {
        "type": "string",
        "enum": ["certified", "provisional", "conditional"],
        "description": "Status of the DMH certification the service type requires, as of the release.",
    },
    "mo_dmh_certification_type": {
        "type": "string",
        "description": "Code of that certification type.",
    },
    "mo_dmh_certification_number": {
        "type": "string",
        "description": "Certificate number, when DMH issued one.",
    },
    "mo_dmh_certification_expires": {
        "type": "string",
        "format": "date",
        "description": "Date (YYYY-MM-DD) the certification expires.",
    },
    "mo_dmh_max_stay_hours": {
        "type": "integer",
        "minimum": 1,
        "description": "Longest stay, in hours (e.g. 23 for a BHCC).",
    },
    "mo_dmh_capacity": {
        "type": "integer",
        "minimum": 0,
        "description": "Number of beds or recliner chairs.",
    },
    "mo_dmh_capacity_unit": {
        "type": "string",
        "enum": ["beds", "chairs"],
        "description": "What mo_dmh_capacity counts.",
    },
    "mo_dmh_target_response_minutes": {
        "type": "integer",
        "minimum": 1,
        "description": "Target time for a mobile team to arrive, in minutes.",
    },
    "mo_dmh_timezone": {
        "type": "string",
        "enum": ["America/Chicago"],
        "description": "The IANA time zone of every opens_at / closes_at of the service's "
        "schedules (HSDS's schedule.timezone is a fixed UTC offset, which Missouri's daylight "
        "saving time would make wrong for half the year).",
    },
    "mo_dmh_coordinates": {
        "type": "string",
        "enum": ["provided", "postal_code_centroid"],
        "description": "Where the physical location's latitude/longitude come from: given by "
        "the provider and reviewed by DMH, or the centroid of its ZIP code (approximate; "
        "several addresses share it).",
    },
    "mo_dmh_primary_counties": {
        "type": "string",
        "pattern": "^29\\d{3}( 29\\d{3})*$",
        "description": "988 centers: FIPS codes (space-separated) of the counties whose 988 calls "
        "this center answers first. Each also appears in service_areas.",
    },
    "mo_dmh_backup_counties": {
        "type": "string",
        "pattern": "^29\\d{3}( 29\\d{3})*$",
        "description": "988 centers: FIPS codes (space-separated) of the counties whose 988 calls "
        "this center answers when the primary center cannot.",
    },
}


def catalogue_extensions() -> dict[str, dict[str, Any]]:
    """The extension properties of the fields declared in the field catalogue alone
    (models/listings/fields.py): typed from their control; a list of codes is space-separated text."""
    out: dict[str, dict[str, Any]] = {}
    for spec in simple_fields():
        if spec.hsds and spec.hsds not in EXTENSIONS:
            kind = {"number": "integer", "checkbox": "boolean"}.get(spec.widget or "", "string")
            out[spec.hsds] = {"type": kind, "description": spec.help or spec.label}
    return out


def extensions() -> dict[str, dict[str, Any]]:
    return {**EXTENSIONS, **catalogue_extensions()}


def extension_csv_types() -> dict[str, str]:
    """The CSV type of each extension column in services.csv."""
    return {
        name: "date"
        if spec.get("format") == "date"
        else {"integer": "integer", "boolean": "boolean"}.get(spec["type"], "string")
        for name, spec in extensions().items()
    }


def profile_document(base_url: str) -> dict[str, Any]:
    return {
        "name": "Missouri DMH crisis services profile of HSDS 3.0",
        "version": PROFILE_VERSION,
        "uri": f"{base_url}/api/hsds/profile",
        "hsds_version": "3.0",
        "license": "CC-BY-SA-4.0 (profile); HSDS is an Open Referral resource (https://openreferral.org/)",
        "description": (
            "Only listings approved by DMH reviewers, not suspended, and whose required certification is "
            "active on the release day are published; every published service has status 'active'. "
            "Ids are UUIDs that never change for a listing. 24/7 services carry one WEEKLY schedule "
            "MO-SU 00:00:00-23:59:59. Hours are US Central time (mo_dmh_timezone). A holiday closure is a "
            "schedule with valid_from = valid_to = that date and no opens_at/closes_at: the service is "
            "closed that day. Counties served are service_areas whose "
            "uri is urn:us-fips:<5-digit county FIPS>. DMH's own terms are attributes of the taxonomies "
            "published at /api/hsds/taxonomies."
        ),
        "service": {
            "properties": extensions(),
            "notes": "Extension fields appear only when they have a value; they are also columns of services.csv.",
        },
        "attribute_link_types": {
            "service_type": "MO DMH Crisis Service Type",
            "feature": "MO DMH Crisis Service Features",
            "audience": "MO DMH Population Served",
            "referral": "MO DMH Referral Source",
        },
        "api": {
            "openapi_url": f"{base_url}/api/hsds/openapi.json",
            "paging": f"page is 1-based; per_page defaults to {DEFAULT_PER_PAGE} and is capped at {MAX_PER_PAGE}; "
            "a page past the last answers an empty contents list with total_pages unchanged; an empty "
            "result has total_pages 0.",
            "extra_filters": {
                "county": "5-digit Missouri county FIPS code (29xxx); services serving or located in that county",
                "postcode": "HSDS's postcode, also on /services: services whose service area covers the ZIP code's county",
                "proximity": "HSDS's proximity (meters from the postcode's centroid), also on /services: "
                "services or locations within reach, nearest first",
                "service_type": "DMH service type code, e.g. bhcc, mobile_crisis, 988_center",
            },
            "errors": "Bad parameters answer 400 and unknown ids 404, with {error: {status, title, detail, parameter}}. "
            "A parameter an endpoint does not take (q, keyword...), an empty value "
            "(page=) or a parameter given twice is a 400 naming it, never silently ignored. Queries over "
            "2048 characters answer 414; other methods than GET answer 405 with Allow.",
        },
        "feeds": {
            "current": f"{base_url}/feeds/current/manifest.json",
            "files": [
                "hsds/services.json",
                "hsds/datapackage.json",
                "hsds/*.csv",
                "listings.geojson",
                "listings.csv",
                "changes.json",
                "changes.atom",
                "history.json",
                "counties.json",
                "coverage.json",
                "manifest.json",
            ],
        },
    }


def _list_op(summary: str, item_schema: str, params: list[str]) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in params],
        "responses": {
            "200": {
                "description": "A page",
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [{"$ref": "#/components/schemas/Page"}],
                            "type": "object",
                            "required": ["contents"],
                            "properties": {
                                "contents": {"type": "array", "items": {"$ref": item_schema}}
                            },
                        }
                    },
                    "application/x-ndjson": {
                        "schema": {
                            "type": "string",
                            "description": "format=ndjson: every result, one JSON document "
                            "(the same item as in contents) per line.",
                        }
                    },
                },
            },
            "400": {"$ref": "#/components/responses/BadRequest"},
        },
    }


def _one_op(summary: str, schema: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {
                "description": "The object",
                "content": {"application/json": {"schema": {"$ref": schema}}},
            },
            "404": {"$ref": "#/components/responses/NotFound"},
        },
    }


COUNTY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["fips", "name", "kind", "latitude", "longitude"],
    "properties": {
        "fips": {"type": "string", "pattern": "^29\\d{3}$"},
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["county", "city"]},
        "latitude": {"type": ["number", "null"]},
        "longitude": {"type": ["number", "null"]},
        "zip_codes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["zip_code", "city", "latitude", "longitude"],
                "properties": {
                    "zip_code": {"type": "string", "pattern": "^\\d{5}$"},
                    "city": {"type": "string"},
                    "latitude": {"type": "number"},
                    "longitude": {"type": "number"},
                },
            },
        },
    },
}


def _counties_op() -> dict[str, Any]:
    op = _list_op(
        "Missouri's 115 county-level areas (DMH extension)",
        "#/components/schemas/County",
        ["search", "page", "per_page", "format", "postcode", "full"],
    )
    op["description"] = (
        "FIPS code, name, kind ('city' for the independent City of St. Louis) and centroid; "
        "full=true adds each area's ZIP codes; postcode= answers the one area holding that ZIP."
    )
    return op


def _capacity_op() -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    status = {"type": "string", "enum": ["accepting", "limited", "full", "diverting", "unknown"]}
    stamp = {"type": ["string", "null"], "format": "date-time"}
    return {
        "summary": "Live capacity of crisis centers, crisis residential and sobering centers "
        "(DMH extension)",
        "description": (
            "Set by each site without review and rewritten every minute; also at "
            "/feeds/current/capacity.json. Only services public in the current release. A status "
            "older than its expiry (expires_after_hours) is 'unknown', with the time it was last "
            "updated, never the stale value. Poll with If-None-Match."
        ),
        "responses": {
            "200": {
                "description": "Every site",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["generated_at", "sites"],
                            "properties": {
                                "generated_at": {"type": "string", "format": "date-time"},
                                "release": {"type": ["integer", "null"]},
                                "expires_after_hours": {"type": "object"},
                                "sites": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["service_id", "mo_dmh_capacity_status"],
                                        "properties": {
                                            "service_id": {"type": "string", "format": "uuid"},
                                            "name": {"type": "string"},
                                            "service_type": {"type": "string"},
                                            "mo_dmh_capacity_status": status,
                                            "mo_dmh_capacity_available": {
                                                "type": "integer",
                                                "minimum": 0,
                                            },
                                            "mo_dmh_capacity_reason": {"type": "string"},
                                            "mo_dmh_capacity_note": {"type": "string"},
                                            "mo_dmh_capacity_updated_at": stamp,
                                            "mo_dmh_capacity_valid_until": stamp,
                                        },
                                    },
                                },
                            },
                        }
                    }
                },
            },
            "503": {"description": "Not published yet", "content": error},
        },
    }


def _changes_op() -> dict[str, Any]:
    ids = {"type": "array", "items": {"type": "string", "format": "uuid"}}
    stamp = {"type": ["string", "null"], "format": "date-time"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "summary": "Services added, changed and removed since a release (DMH extension)",
        "description": (
            "Ids of the services a client holding release `since` must fetch (added, changed) "
            "or delete (removed) to hold the current release. Covers every release since, "
            "pruned ones included. 410 when the history does not reach back that far (or the "
            "registry rolled back past it): sync in full."
        ),
        "parameters": [
            {
                "name": "since",
                "in": "query",
                "required": True,
                "description": "A release number (0: from nothing) or an RFC 3339 date-time "
                "(the newest release created at or before it).",
                "schema": {"type": "string", "pattern": "^(\\d{1,9}|\\d{4}-.+)$"},
            }
        ],
        "responses": {
            "200": {
                "description": "The ids, each list sorted",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [
                                "since",
                                "release",
                                "created_at",
                                "added",
                                "changed",
                                "removed",
                            ],
                            "properties": {
                                "since": {
                                    "type": "object",
                                    "required": ["release", "created_at"],
                                    "properties": {
                                        "release": {"type": "integer", "minimum": 0},
                                        "created_at": stamp,
                                    },
                                },
                                "release": {"type": "integer"},
                                "created_at": stamp,
                                "added": ids,
                                "changed": ids,
                                "removed": ids,
                            },
                        }
                    }
                },
            },
            "400": {"$ref": "#/components/responses/BadRequest"},
            "410": {"description": "The history does not reach `since`", "content": error},
        },
    }


def openapi_document(base_url: str) -> dict[str, Any]:
    s = HSDS_SCHEMA
    param = {
        "search": (
            "string",
            "Words that must all appear in the name, description, organization or county.",
        ),
        "page": ("integer", "1-based page number."),
        "per_page": (
            "integer",
            f"Results per page (default {DEFAULT_PER_PAGE}, at most {MAX_PER_PAGE}).",
        ),
        "modified_after": (
            "string",
            "Only services whose last_modified is after this date-time (RFC 3339). A service's "
            "last_modified is the created_at of the release in which its published content last "
            "changed, so a release's created_at returns exactly what changed after it; "
            "removals are listed by /changes.",
        ),
        "taxonomy_term_id": ("string", "Only services with this taxonomy term."),
        "taxonomy_id": ("string", "Only services with any term of this taxonomy."),
        "organization_id": ("string", "Only services of this organization."),
        "minimal": ("boolean", "Only id and last_modified of each service."),
        "full": ("boolean", "Fully nested services."),
        "county": ("string", "5-digit county FIPS code (29xxx)."),
        "postcode": (
            "string",
            "A Missouri ZIP code: services whose service area covers its county; with "
            "proximity, locations within that many meters of its centroid, nearest first.",
        ),
        "proximity": (
            "integer",
            "Meters from the centroid of `postcode` (which it needs); only locations with "
            "coordinates are within reach.",
        ),
        "service_type": ("string", "DMH service type code."),
        "format": (
            "string",
            "json (pages, the default) or ndjson: every result, one JSON document per line, "
            "without page or per_page.",
        ),
        "open_now": (
            "boolean",
            "Only services open at this moment by their published hours (US Central time); "
            "services without published hours are left out.",
        ),
        "open_at": (
            "string",
            "Only services open at this date-time (RFC 3339), by their hours in US Central time.",
        ),
        "age": ("integer", "Only services that serve a person of this age (years, 0-130)."),
    }
    parameters = {
        name: {
            "name": name,
            "in": "query",
            "required": False,
            "description": desc,
            "schema": {
                "type": typ,
                **({"format": "date-time"} if name in ("modified_after", "open_at") else {}),
                **({"enum": ["json", "ndjson"]} if name == "format" else {}),
            },
        }
        for name, (typ, desc) in param.items()
    }
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                    "parameter": {"type": "string"},
                },
            }
        },
    }
    page = {
        "type": "object",
        "required": [
            "total_items",
            "total_pages",
            "page_number",
            "size",
            "first_page",
            "last_page",
            "empty",
        ],
        "properties": {
            k: {"type": "integer"} for k in ("total_items", "total_pages", "page_number", "size")
        }
        | {k: {"type": "boolean"} for k in ("first_page", "last_page", "empty")},
    }
    common = ["search", "page", "per_page", "format"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Missouri Crisis Services Registry — HSDS 3.0 API",
            "version": PROFILE_VERSION,
            "description": f"Read-only HSDS 3.0 API answered from the current release. Profile: {base_url}/api/hsds/profile",
        },
        "servers": [{"url": f"{base_url}/api/hsds"}],
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": {
            "/": {
                "get": {
                    "summary": "API root",
                    "responses": {
                        "200": {
                            "description": "Version and links",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["version", "profile", "openapi_url"],
                                        "properties": {
                                            "version": {"type": "string"},
                                            "profile": {"type": "string", "format": "uri"},
                                            "openapi_url": {"type": "string", "format": "uri"},
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/services": {
                "get": _list_op(
                    "Services",
                    f"{s}/compiled/service_list.json",
                    [
                        *common,
                        "modified_after",
                        "taxonomy_term_id",
                        "taxonomy_id",
                        "organization_id",
                        "minimal",
                        "full",
                        "county",
                        "service_type",
                        "postcode",
                        "proximity",
                        "open_now",
                        "open_at",
                        "age",
                    ],
                )
            },
            "/services/{id}": {"get": _one_op("One service", f"{s}/compiled/service.json")},
            "/changes": {"get": _changes_op()},
            "/capacity": {"get": _capacity_op()},
            "/organizations": {
                "get": _list_op(
                    "Organizations", f"{s}/compiled/organization_list.json", [*common, "full"]
                )
            },
            "/organizations/{id}": {
                "get": _one_op("One organization", f"{s}/compiled/organization.json")
            },
            "/service_at_locations": {
                "get": _list_op(
                    "Services at locations",
                    f"{s}/compiled/service_at_location_list.json",
                    [
                        *common,
                        "modified_after",
                        "taxonomy_term_id",
                        "taxonomy_id",
                        "organization_id",
                        "full",
                        "county",
                        "service_type",
                        "postcode",
                        "proximity",
                        "open_now",
                        "open_at",
                        "age",
                    ],
                )
            },
            "/service_at_locations/{id}": {
                "get": _one_op(
                    "One service at a location", f"{s}/compiled/service_at_location.json"
                )
            },
            "/counties": {"get": _counties_op()},
            "/counties/{id}": {
                "get": {
                    **_one_op(
                        "One county-level area, with its ZIP codes", "#/components/schemas/County"
                    ),
                }
            },
            "/taxonomies": {"get": _list_op("Taxonomies", f"{s}/taxonomy.json", common)},
            "/taxonomies/{id}": {"get": _one_op("One taxonomy", f"{s}/taxonomy.json")},
            "/taxonomy_terms": {
                "get": _list_op(
                    "Taxonomy terms", f"{s}/taxonomy_term.json", [*common, "taxonomy_id"]
                )
            },
            "/taxonomy_terms/{id}": {
                "get": _one_op("One taxonomy term", f"{s}/taxonomy_term.json")
            },
        },
        "components": {
            "parameters": parameters,
            "schemas": {"Page": page, "Error": error, "County": COUNTY_SCHEMA},
            "responses": {
                "BadRequest": {
                    "description": "A parameter is invalid; `parameter` names it.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "NotFound": {
                    "description": "No such id in the current release.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        },
    }
