"""Provision Metabase from the dashboard definitions through its REST API (open-source edition, v0.47+).

What `saas-analytics metabase provision` does, in order:

1. `GET /api/health`; then authenticates: an API key (`x-api-key`), or the admin's email and password
   (`POST /api/session`); on a fresh Metabase it first creates that admin (`GET /api/session/properties`
   for the setup token, `POST /api/setup`).
2. The warehouse connection: a Postgres database found by name, connected as the read-only role
   (`POST /api/database`; `PUT /api/database/:id` when host, port, database or user differ).
3. Collections: one top-level collection, one sub-collection per dashboard for its cards.
4. Cards: native SQL questions with `date` template tags (`POST /api/card`, or `PUT /api/card/:id` when
   the SQL, visualization or description differ).
5. Dashboards: `POST /api/dashboard`, then `PUT /api/dashboard/:id` with the filters (`parameters`) and the
   whole `dashcards` list (new ones with negative ids) wired to the cards' template tags.

Everything it manages carries MANAGED_MARKER in its description and is found by name; items with the
same name but without the marker are never touched (the run stops and says so). A second run with
nothing changed sends only GETs (plus the login). Cards and dashboards removed from the repository are
archived, not deleted.
"""

from saas_analytics.dashboards.definitions import GRID_COLUMNS
from saas_analytics.dashboards.metabase.client import MetabaseClient, MetabaseError
from saas_analytics.dashboards.metabase.config import (
    DEFAULT_COLLECTION_NAME,
    DEFAULT_DATABASE_NAME,
    PASSWORD_RULE,
    MetabaseConfig,
    WarehouseConnection,
    password_problems,
)
from saas_analytics.dashboards.metabase.payloads import (
    MANAGED_MARKER,
    card_body,
    dashboard_parameters,
    metabase_display,
    parameter_id,
    tag_id,
    visualization_settings,
)
from saas_analytics.dashboards.metabase.provisioner import Change, Provisioner, ProvisionResult, provision

__all__ = [
    "DEFAULT_COLLECTION_NAME", "DEFAULT_DATABASE_NAME", "GRID_COLUMNS", "MANAGED_MARKER", "PASSWORD_RULE", "Change",
    "MetabaseClient", "MetabaseConfig", "MetabaseError", "ProvisionResult", "Provisioner", "WarehouseConnection",
    "card_body", "dashboard_parameters", "metabase_display", "parameter_id", "password_problems", "provision",
    "tag_id", "visualization_settings",
]
