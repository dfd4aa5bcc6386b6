"""JSON Schemas of the Metabase REST API requests the provisioner sends, written from Metabase's own API
definitions (the malli schemas of `api.macros/defendpoint` in the open-source repository and the API
reference at metabase.com/docs/latest/api) for v0.47 and later:

- POST /api/setup              metabase.setup.api           token, user{email,password,…}, prefs{site_name,…}
- POST /api/session            metabase.session.api         username, password
- POST /api/database           metabase.warehouses.api      name, engine, details, is_full_sync, …
- PUT  /api/database/:id       metabase.warehouses.api      (all optional) name, engine, details, description, …
- POST /api/collection         metabase.collections.api     name, description (non-blank or null), parent_id, …
- PUT  /api/collection/:id     metabase.collections.api
- POST /api/card               metabase.queries.api.card    CardCreateSchema: name, dataset_query, display,
                                                            visualization_settings (required), parameters, …
- PUT  /api/card/:id           metabase.queries.api.card    CardUpdateSchema (all optional)
- POST /api/dashboard          metabase.dashboards.api      name, parameters, description, collection_id, …
- PUT  /api/dashboard/:id      metabase.dashboards.api      DashUpdates with dashcards (UpdatedDashboardCard:
                                                            id int (negative = new), size_x/size_y ≥ 1,
                                                            row/col ≥ 0, parameter_mappings, series)
- POST /api/dataset            metabase.query_processor.api  database, type, native
- lib schemas: template tags (metabase.lib.schema.template-tag), parameters and targets
  (metabase.lib.schema.parameter, metabase.parameters.schema).

Where Metabase's maps are open, these schemas are closed (`additionalProperties: false`) over the
documented keys: a misspelt key would be silently ignored by Metabase, so the tests treat it as an error.
Rules JSON Schema cannot express (a template tag's map key equals its name, dashcards fit the 24-column
grid without overlapping, mappings point at existing parameters and tags, parameter types suit the tag
type) are checked by `semantic_problems`.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

NON_BLANK = {"type": "string", "pattern": r"\S"}
NON_BLANK_OR_NULL = {"anyOf": [NON_BLANK, {"type": "null"}]}
POSITIVE_INT = {"type": "integer", "minimum": 1}
POSITIVE_INT_OR_NULL = {"anyOf": [POSITIVE_INT, {"type": "null"}]}
BOOL_OR_NULL = {"type": ["boolean", "null"]}
UUID = {"type": "string", "pattern": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}
EMAIL = {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}
LOCALE = {"anyOf": [{"type": "string", "pattern": r"^[a-z]{2}([_-][A-Za-z]{2})?$"}, {"type": "null"}]}

# metabase.lib.schema.parameter/types: parameter type → template tag types (or widget types) it may fill
PARAMETER_TYPES: dict[str, set[str]] = {
    "number": {"number", "number/=", "id", "category", "location/zip_code"},
    "text": {"text", "string/=", "id", "category", "location/city", "location/state", "location/zip_code",
             "location/country"},
    "date": {"date", "date/single", "date/all-options", "id", "category"},
    "boolean": {"boolean", "id", "category", "boolean/="},
    "date/single": {"date", "date/single", "date/all-options", "id", "category"},
    "id": {"id"}, "category": {"category", "number", "text", "date", "boolean"},
    "location/city": {"location/city"}, "location/state": {"location/state"},
    "location/zip_code": {"location/zip_code"}, "location/country": {"location/country"},
    "date/range": {"date/range", "date/all-options"}, "date/month-year": {"date/month-year", "date/all-options"},
    "date/quarter-year": {"date/quarter-year", "date/all-options"},
    "date/relative": {"date/relative", "date/all-options"}, "date/all-options": {"date/all-options"},
    "temporal-unit": {"temporal-unit"},
    "number/!=": {"number/!="}, "number/<=": {"number/<="}, "number/>=": {"number/>="},
    "number/=": {"number/=", "number", "id", "category", "location/zip_code"},
    "number/between": {"number/between"}, "string/!=": {"string/!="},
    "string/=": {"string/=", "text", "id", "category", "location/city", "location/state", "location/zip_code",
                 "location/country"},
    "string/contains": {"string/contains"}, "string/does-not-contain": {"string/does-not-contain"},
    "string/ends-with": {"string/ends-with"}, "string/starts-with": {"string/starts-with"},
    "boolean/=": {"boolean", "boolean/="},
}
TEMPLATE_TAG_TYPES = ["snippet", "card", "dimension", "number", "text", "date", "boolean"]
# the frontend's visualization registry (what `display` may name)
DISPLAYS = ["table", "bar", "line", "row", "area", "pie", "scalar", "smartscalar", "combo", "funnel", "progress",
            "gauge", "map", "scatter", "waterfall", "pivot", "object", "sankey", "list"]

TEMPLATE_TAG_REF = {
    "type": "array", "minItems": 2, "maxItems": 2,
    "prefixItems": [{"const": "template-tag"},
                    {"anyOf": [NON_BLANK, {"type": "object", "required": ["id"], "properties": {"id": NON_BLANK}}]}],
}
FIELD_REF = {"type": "array", "minItems": 3, "prefixItems": [{"const": "field"}]}
PARAMETER_TARGET = {
    "anyOf": [
        {"type": "array", "minItems": 2, "maxItems": 2, "prefixItems": [{"const": "variable"}, TEMPLATE_TAG_REF]},
        {"type": "array", "minItems": 2, "maxItems": 3,
         "prefixItems": [{"const": "dimension"}, {"anyOf": [TEMPLATE_TAG_REF, FIELD_REF]},
                         {"type": ["object", "null"]}]},
        FIELD_REF,
    ]
}
TEMPLATE_TAG = {
    "type": "object",
    "required": ["name", "display-name", "type", "id"],
    "properties": {
        "id": UUID, "name": NON_BLANK, "display-name": NON_BLANK, "type": {"enum": TEMPLATE_TAG_TYPES},
        "required": {"type": "boolean"}, "default": {}, "dimension": FIELD_REF,
        "widget-type": {"enum": ["none", *PARAMETER_TYPES]}, "options": {"type": ["object", "null"]},
        "snippet-name": NON_BLANK, "snippet-id": POSITIVE_INT, "card-id": POSITIVE_INT, "database": POSITIVE_INT,
    },
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"type": {"const": "dimension"}}},
         "then": {"required": ["dimension", "widget-type"]}, "else": {"not": {"required": ["dimension"]}}},
    ],
}
PARAMETER = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": NON_BLANK, "type": {"enum": list(PARAMETER_TYPES)}, "name": {"type": "string"},
        "slug": {"type": "string"}, "sectionId": NON_BLANK, "target": PARAMETER_TARGET, "default": {},
        "required": {"type": "boolean"}, "filteringParameters": {"type": ["array", "null"]},
        "temporal_units": {"type": ["array", "null"]}, "values_query_type": {"enum": ["none", "list", "search", None]},
        "values_source_type": {"enum": ["static-list", "card", None]},
        "values_source_config": {"type": ["object", "null"]},
    },
    "additionalProperties": False,
}
PARAMETER_MAPPING = {
    "type": "object",
    "required": ["parameter_id", "target"],
    "properties": {"parameter_id": NON_BLANK, "target": PARAMETER_TARGET, "card_id": POSITIVE_INT},
    "additionalProperties": False,
}
NATIVE_DATASET_QUERY = {
    "type": "object",
    "required": ["type", "database", "native"],
    "properties": {
        "type": {"const": "native"},
        "database": POSITIVE_INT,
        "native": {
            "type": "object",
            "required": ["query"],
            "properties": {"query": NON_BLANK,
                           "template-tags": {"type": "object", "additionalProperties": TEMPLATE_TAG}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
CARD_PROPERTIES = {
    "name": NON_BLANK, "type": {"enum": ["question", "model", "metric"]}, "dataset_query": NATIVE_DATASET_QUERY,
    "entity_id": NON_BLANK_OR_NULL, "parameters": {"type": ["array", "null"], "items": PARAMETER},
    "parameter_mappings": {"type": ["array", "null"], "items": PARAMETER_MAPPING},
    "description": NON_BLANK_OR_NULL, "display": {"enum": DISPLAYS}, "visualization_settings": {"type": "object"},
    "collection_id": POSITIVE_INT_OR_NULL, "collection_position": POSITIVE_INT_OR_NULL,
    "result_metadata": {"type": ["array", "null"]}, "cache_ttl": POSITIVE_INT_OR_NULL,
    "dashboard_id": POSITIVE_INT_OR_NULL, "dashboard_tab_id": POSITIVE_INT_OR_NULL,
}
CARD_CREATE = {
    "type": "object", "required": ["name", "dataset_query", "display", "visualization_settings"],
    "properties": CARD_PROPERTIES, "additionalProperties": False,
}
CARD_UPDATE = {
    "type": "object",
    "properties": CARD_PROPERTIES | {
        "description": {"type": ["string", "null"]}, "archived": BOOL_OR_NULL, "enable_embedding": BOOL_OR_NULL,
        "embedding_params": {"type": ["object", "null"]}, "collection_preview": BOOL_OR_NULL,
    },
    "additionalProperties": False,
}
DASHCARD = {
    "type": "object",
    "required": ["id", "size_x", "size_y", "row", "col"],
    "properties": {
        "id": {"type": "integer"}, "card_id": POSITIVE_INT_OR_NULL, "size_x": POSITIVE_INT, "size_y": POSITIVE_INT,
        "row": {"type": "integer", "minimum": 0}, "col": {"type": "integer", "minimum": 0},
        "parameter_mappings": {"type": ["array", "null"], "items": PARAMETER_MAPPING},
        "inline_parameters": {"type": ["array", "null"], "items": NON_BLANK},
        "series": {"type": ["array", "null"], "items": {"type": "object"}},
        "visualization_settings": {"type": ["object", "null"]}, "dashboard_tab_id": {"type": ["integer", "null"]},
        "action_id": POSITIVE_INT_OR_NULL,
    },
    "additionalProperties": False,
}
DASHBOARD_CREATE = {
    "type": "object", "required": ["name"],
    "properties": {
        "name": NON_BLANK, "parameters": {"type": ["array", "null"], "items": PARAMETER},
        "description": {"type": ["string", "null"]}, "cache_ttl": POSITIVE_INT_OR_NULL,
        "collection_id": POSITIVE_INT_OR_NULL, "collection_position": POSITIVE_INT_OR_NULL,
    },
    "additionalProperties": False,
}
DASHBOARD_UPDATE = {
    "type": "object",
    "properties": {
        "name": NON_BLANK_OR_NULL, "description": {"type": ["string", "null"]},
        "caveats": {"type": ["string", "null"]}, "points_of_interest": {"type": ["string", "null"]},
        "show_in_getting_started": BOOL_OR_NULL, "enable_embedding": BOOL_OR_NULL,
        "embedding_params": {"type": ["object", "null"]}, "parameters": {"type": ["array", "null"], "items": PARAMETER},
        "position": POSITIVE_INT_OR_NULL, "width": {"enum": ["fixed", "full"]}, "archived": BOOL_OR_NULL,
        "collection_id": POSITIVE_INT_OR_NULL, "collection_position": POSITIVE_INT_OR_NULL,
        "cache_ttl": POSITIVE_INT_OR_NULL, "auto_apply_filters": BOOL_OR_NULL,
        "dashcards": {"type": ["array", "null"], "items": DASHCARD},
        "tabs": {"type": ["array", "null"],
                 "items": {"type": "object", "required": ["id", "name"],
                           "properties": {"id": {"type": "integer"}, "name": NON_BLANK}}},
    },
    "additionalProperties": False,
}
POSTGRES_DETAILS = {
    "type": "object",
    "required": ["host", "port", "dbname", "user", "password"],
    "properties": {
        "host": NON_BLANK, "port": {"type": "integer", "minimum": 1, "maximum": 65535}, "dbname": NON_BLANK,
        "user": NON_BLANK, "password": NON_BLANK, "ssl": {"type": "boolean"},
        "schema-filters-type": {"enum": ["all", "inclusion", "exclusion"]},
        "schema-filters-patterns": {"type": "string"},
        "additional-options": {"type": ["string", "null"]}, "tunnel-enabled": {"type": "boolean"},
        "advanced-options": {"type": "boolean"}, "json-unfolding": {"type": "boolean"},
    },
    "additionalProperties": False,
}
DATABASE_CREATE = {
    "type": "object", "required": ["name", "engine", "details"],
    "properties": {
        "name": NON_BLANK, "engine": {"const": "postgres"}, "details": POSTGRES_DETAILS,
        "is_full_sync": BOOL_OR_NULL, "is_on_demand": BOOL_OR_NULL, "schedules": {"type": ["object", "null"]},
        "auto_run_queries": BOOL_OR_NULL, "cache_ttl": POSITIVE_INT_OR_NULL,
        "connection_source": {"enum": ["admin", "setup", None]}, "provider_name": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}
DATABASE_UPDATE = {
    "type": "object",
    "properties": {
        "name": NON_BLANK_OR_NULL, "engine": {"const": "postgres"}, "details": POSTGRES_DETAILS,
        "description": {"type": ["string", "null"]}, "caveats": {"type": ["string", "null"]},
        "points_of_interest": {"type": ["string", "null"]}, "schedules": {"type": ["object", "null"]},
        "auto_run_queries": BOOL_OR_NULL, "refingerprint": BOOL_OR_NULL, "cache_ttl": POSITIVE_INT_OR_NULL,
        "settings": {"type": ["object", "null"]}, "is_full_sync": BOOL_OR_NULL, "is_on_demand": BOOL_OR_NULL,
    },
    "additionalProperties": False,
}
COLLECTION_CREATE = {
    "type": "object", "required": ["name"],
    "properties": {"name": NON_BLANK, "description": NON_BLANK_OR_NULL, "parent_id": POSITIVE_INT_OR_NULL,
                   "namespace": NON_BLANK_OR_NULL, "authority_level": {"enum": ["official", None]}},
    "additionalProperties": False,
}
COLLECTION_UPDATE = {
    "type": "object",
    "properties": {"name": NON_BLANK_OR_NULL, "description": NON_BLANK_OR_NULL, "archived": BOOL_OR_NULL,
                   "parent_id": POSITIVE_INT_OR_NULL, "authority_level": {"enum": ["official", None]}},
    "additionalProperties": False,
}
SETUP = {
    "type": "object", "required": ["token", "user", "prefs"],
    "properties": {
        "token": NON_BLANK,
        "user": {"type": "object", "required": ["email", "password"],
                 "properties": {"email": EMAIL, "password": NON_BLANK, "first_name": NON_BLANK_OR_NULL,
                                "last_name": NON_BLANK_OR_NULL},
                 "additionalProperties": False},
        "prefs": {"type": "object", "required": ["site_name"],
                  "properties": {"site_name": NON_BLANK, "site_locale": LOCALE},
                  "additionalProperties": False},
        "invite": {"type": ["object", "null"]},
    },
    "additionalProperties": False,
}
SESSION = {
    "type": "object", "required": ["username", "password"],
    "properties": {"username": NON_BLANK, "password": NON_BLANK, "remember": {"type": "boolean"}},
    "additionalProperties": False,
}
DATASET = {
    "type": "object", "required": ["database", "type"],
    "properties": {"database": POSITIVE_INT, "type": {"enum": ["native", "query"]},
                   "native": {"type": "object", "required": ["query"], "properties": {"query": NON_BLANK}},
                   "parameters": {"type": "array"}},
}
EMPTY = {"type": ["object", "null"], "maxProperties": 0}
CARD_QUERY = {
    "type": ["object", "null"],
    "properties": {"parameters": {"type": "array", "items": {
        "type": "object", "required": ["type", "target"],
        "properties": {"id": NON_BLANK, "type": {"enum": list(PARAMETER_TYPES)}, "target": PARAMETER_TARGET,
                       "value": {}}}},
        "ignore_cache": {"type": "boolean"}, "collection_preview": {"type": "boolean"}},
    "additionalProperties": False,
}

ENDPOINTS: list[tuple[str, re.Pattern, dict | None]] = [
    ("GET", re.compile(r"^/api/health$"), None),
    ("GET", re.compile(r"^/api/session/properties$"), None),
    ("POST", re.compile(r"^/api/setup/?$"), SETUP),
    ("POST", re.compile(r"^/api/session/?$"), SESSION),
    ("GET", re.compile(r"^/api/user/current$"), None),
    ("GET", re.compile(r"^/api/database/?$"), None),
    ("POST", re.compile(r"^/api/database/?$"), DATABASE_CREATE),
    ("GET", re.compile(r"^/api/database/\d+$"), None),
    ("PUT", re.compile(r"^/api/database/\d+$"), DATABASE_UPDATE),
    ("POST", re.compile(r"^/api/database/\d+/sync_schema$"), EMPTY),
    ("POST", re.compile(r"^/api/dataset/?$"), DATASET),
    ("GET", re.compile(r"^/api/collection/?$"), None),
    ("POST", re.compile(r"^/api/collection/?$"), COLLECTION_CREATE),
    ("PUT", re.compile(r"^/api/collection/\d+$"), COLLECTION_UPDATE),
    ("GET", re.compile(r"^/api/collection/(\d+|root)/items$"), None),
    ("POST", re.compile(r"^/api/card/?$"), CARD_CREATE),
    ("GET", re.compile(r"^/api/card/\d+$"), None),
    ("PUT", re.compile(r"^/api/card/\d+$"), CARD_UPDATE),
    ("POST", re.compile(r"^/api/card/\d+/query$"), CARD_QUERY),
    ("POST", re.compile(r"^/api/dashboard/?$"), DASHBOARD_CREATE),
    ("GET", re.compile(r"^/api/dashboard/\d+$"), None),
    ("PUT", re.compile(r"^/api/dashboard/\d+$"), DASHBOARD_UPDATE),
]
COLLECTION_ITEM_MODELS = {"card", "dataset", "metric", "collection", "dashboard", "pulse", "snippet", "no_models",
                          "timeline"}


def endpoint_schema(method: str, path: str) -> tuple[bool, dict | None]:
    """(documented?, body schema) of a request."""
    for verb, pattern, schema in ENDPOINTS:
        if verb == method and pattern.match(path):
            return True, schema
    return False, None


def schema_problems(method: str, path: str, body: Any) -> list[str]:
    """Why a request does not match the documented API (empty when it does)."""
    documented, schema = endpoint_schema(method, path)
    if not documented:
        return [f"{method} {path} is not an endpoint of Metabase's API (or not one the provisioner should use)"]
    if schema is None:
        return [] if body is None else [f"{method} {path} takes no body"]
    validator = Draft202012Validator(schema)
    return [f"{method} {path}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path)))]


TAG_IN_SQL = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def _tag_of_target(target: Any) -> str | None:
    """The template tag a `[:variable [:template-tag name]]` / `[:dimension [:template-tag name]]` names."""
    if isinstance(target, list) and len(target) >= 2 and target[0] in ("variable", "dimension"):
        ref = target[1]
        if isinstance(ref, list) and len(ref) == 2 and ref[0] == "template-tag":
            return ref[1] if isinstance(ref[1], str) else ref[1].get("id")
    return None


def native_problems(dataset_query: dict) -> list[str]:
    """Template tags agree with the SQL: map keys equal names, every `{{tag}}` is declared and used, ids unique."""
    native = dataset_query.get("native") or {}
    tags = native.get("template-tags") or {}
    used = set(TAG_IN_SQL.findall(native.get("query") or ""))
    problems = [f"template tag key {k!r} differs from its name {v.get('name')!r}" for k, v in tags.items()
                if v.get("name") != k]
    problems += [f"{{{{{t}}}}} is used in the SQL but not declared in template-tags" for t in sorted(used - set(tags))]
    problems += [f"template tag {t!r} is declared but not used in the SQL" for t in sorted(set(tags) - used)]
    ids = [v.get("id") for v in tags.values()]
    if len(ids) != len(set(ids)):
        problems.append("template tag ids are not unique")
    return problems


def card_parameter_problems(card: dict) -> list[str]:
    """A card's `parameters` point at its template tags with a type that suits them."""
    tags = ((card.get("dataset_query") or {}).get("native") or {}).get("template-tags") or {}
    problems = []
    for parameter in card.get("parameters") or []:
        tag = _tag_of_target(parameter.get("target"))
        if tag not in tags:
            problems.append(f"card parameter {parameter.get('id')} targets unknown template tag {tag!r}")
            continue
        if tags[tag].get("id") != parameter.get("id"):
            problems.append(f"card parameter for {tag!r} should carry the tag's id")
        tag_type = tags[tag].get("widget-type") if tags[tag].get("type") == "dimension" else tags[tag].get("type")
        if tag_type not in PARAMETER_TYPES.get(parameter.get("type"), set()):
            problems.append(f"parameter type {parameter.get('type')!r} may not fill a {tag_type!r} template tag")
    return problems


def dashcard_problems(dashcards: list[dict], parameters: list[dict], cards: dict[int, dict],
                      existing_ids: set[int]) -> list[str]:
    """Dashcards: unique ids, existing cards, inside the 24-column grid, no overlaps, valid filter wiring."""
    problems = []
    ids = [d["id"] for d in dashcards]
    if len(ids) != len(set(ids)):
        problems.append("dashcard ids are not unique")
    problems += [f"dashcard id {i} is neither new (negative) nor on this dashboard" for i in ids
                 if i >= 0 and i not in existing_ids]
    params = {p["id"]: p for p in parameters}
    cells: dict[tuple[int, int], int] = {}
    for d in dashcards:
        card = cards.get(d.get("card_id"))
        if d.get("card_id") is not None and card is None:
            problems.append(f"dashcard {d['id']} shows card {d.get('card_id')}, which does not exist")
        if d["col"] + d["size_x"] > 24:
            problems.append(f"dashcard {d['id']} extends past the 24-column grid")
        for r in range(d["row"], d["row"] + d["size_y"]):
            for c in range(d["col"], d["col"] + d["size_x"]):
                if (r, c) in cells:
                    problems.append(f"dashcards {cells[(r, c)]} and {d['id']} overlap at row {r}, col {c}")
                cells[(r, c)] = d["id"]
        tags = (((card or {}).get("dataset_query") or {}).get("native") or {}).get("template-tags") or {}
        for mapping in d.get("parameter_mappings") or []:
            parameter = params.get(mapping["parameter_id"])
            if parameter is None:
                problems.append(f"dashcard {d['id']} maps unknown parameter {mapping['parameter_id']}")
                continue
            if mapping.get("card_id") not in (None, d.get("card_id")):
                problems.append(f"dashcard {d['id']} mapping names card {mapping.get('card_id')}")
            tag = _tag_of_target(mapping["target"])
            if tag not in tags:
                problems.append(f"dashcard {d['id']} maps to template tag {tag!r}, which its card lacks")
                continue
            tag_type = tags[tag].get("widget-type") if tags[tag].get("type") == "dimension" else tags[tag].get("type")
            if tag_type not in PARAMETER_TYPES.get(parameter["type"], set()):
                problems.append(f"dashboard parameter type {parameter['type']!r} may not fill {tag_type!r} tag {tag!r}")
            if mapping["target"][0] == "variable" and tags[tag].get("type") == "dimension":
                problems.append(f"tag {tag!r} is a field filter: map it with [:dimension …], not [:variable …]")
    return problems


def parameter_list_problems(parameters: list[dict]) -> list[str]:
    """Dashboard parameters: unique ids and slugs."""
    problems = []
    for key in ("id", "slug"):
        values = [p.get(key) for p in parameters if p.get(key) is not None]
        if len(values) != len(set(values)):
            problems.append(f"dashboard parameter {key}s are not unique")
    return problems
