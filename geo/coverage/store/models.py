"""Tables of the door-visit store, in their own SQLAlchemy metadata (Core tables, like :mod:`geo.auth.models`).

They share the database of the accounts (:func:`geo.config.database_url`) but have their own Alembic
chain (``geo/coverage/migrations``, version table :data:`VERSION_TABLE`), so the two schemas evolve
independently. Stored per visit: campaign, site, date-time, building address or coordinates, building id,
door mark, outcome, language, topics, pseudonymous Voisin id, location status and QPV code. Never a
resident's name, phone number or e-mail: there is no column for them.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Alembic version table of the coverage schema.
VERSION_TABLE = "coverage_alembic_version"

#: Location status of a visit.
LOCATION_PROVIDED = "fourni"  # coordinates given in the file
LOCATION_GEOCODED = "geocode"  # found by the address API
LOCATION_PENDING = "en_attente"  # address only, geocoding not done yet (offline)
LOCATION_FAILED = "echec"  # the address API found no reliable match
LOCATION_STATUSES = (LOCATION_PROVIDED, LOCATION_GEOCODED, LOCATION_PENDING, LOCATION_FAILED)

#: QPV status of a located visit.
QPV_INSIDE = "dans_qpv"
QPV_OUTSIDE = "hors_qpv"
QPV_UNKNOWN = "inconnu"  # not located yet, or the QPV layer was not available

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

#: One imported file (or demo batch).
IMPORTS = sa.Table(
    "coverage_imports",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("file_format", sa.String(8), nullable=False),
    sa.Column("imported_at", sa.DateTime(), nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("n_imported", sa.Integer, nullable=False),
    sa.Column("n_duplicates", sa.Integer, nullable=False),
    sa.Column("n_rejected", sa.Integer, nullable=False),
    sa.Column("n_pending", sa.Integer, nullable=False),
    sa.Column("demo", sa.Boolean, nullable=False, default=False),
)

#: One knock on one door.
VISITS = sa.Table(
    "door_visits",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("content_key", sa.String(32), nullable=False),
    sa.Column("import_id", _BigId, sa.ForeignKey("coverage_imports.id"), nullable=False),
    sa.Column("campaign", sa.String(80), nullable=False),
    sa.Column("site", sa.String(60), nullable=False),
    sa.Column("visited_at", sa.DateTime(), nullable=False),
    sa.Column("time_known", sa.Boolean, nullable=False),
    sa.Column("street_number", sa.String(10), nullable=False, default=""),
    sa.Column("street", sa.String(120), nullable=False, default=""),
    sa.Column("postcode", sa.String(5), nullable=False, default=""),
    sa.Column("city", sa.String(80), nullable=False, default=""),
    sa.Column("building", sa.String(40), nullable=False, default=""),
    sa.Column("door", sa.String(40), nullable=False, default=""),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("location_status", sa.String(12), nullable=False),
    sa.Column("geocode_score", sa.Float, nullable=True),
    sa.Column("code_qp", sa.String(10), nullable=True),
    sa.Column("qpv_status", sa.String(10), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("language", sa.String(30), nullable=False, default=""),
    sa.Column("topics", sa.String(200), nullable=False, default=""),
    sa.Column("voisin", sa.String(32), nullable=False, default=""),
    sa.Column("demo", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("content_key", name="uq_door_visits_content_key"),
    sa.Index("ix_door_visits_site_campaign", "site", "campaign"),
    sa.Index("ix_door_visits_visited_at", "visited_at"),
    sa.Index("ix_door_visits_location_status", "location_status"),
)

#: Cached answers of the address API, keyed by a hash of the normalised query.
GEOCODE_CACHE = sa.Table(
    "geocode_cache",
    metadata,
    sa.Column("query_key", sa.String(32), primary_key=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("result_type", sa.String(20), nullable=False, default=""),
    sa.Column("citycode", sa.String(5), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)
