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
    sa.Column("building_key", sa.String(255), nullable=False, server_default=""),
    sa.Column("week_start", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("content_key", name="uq_door_visits_content_key"),
    sa.Index("ix_door_visits_site_campaign", "site", "campaign"),
    sa.Index("ix_door_visits_visited_at", "visited_at"),
    sa.Index("ix_door_visits_location_status", "location_status"),
    sa.Index("ix_door_visits_building_key", "building_key"),
    sa.Index("ix_door_visits_import_id", "import_id"),
)

#: Visits rolled up per (building, week, outcome, campaign), kept in step with :data:`VISITS` by every
#: write of the store (:mod:`geo.coverage.store.rollup`). ``week_start`` and ``building_key`` are those of
#: :mod:`geo.coverage.keys`; ``located`` says whether the visits have coordinates; ``new_doors`` counts
#: the doors whose first visit with this outcome (among the visits of the same ``located`` state) is here.
ROLLUP = sa.Table(
    "door_rollup",
    metadata,
    sa.Column("building_key", sa.String(255), primary_key=True),
    sa.Column("week_start", sa.Integer, primary_key=True),
    sa.Column("outcome", sa.String(16), primary_key=True),
    sa.Column("campaign", sa.String(80), primary_key=True),
    sa.Column("site", sa.String(60), primary_key=True),
    sa.Column("located", sa.Boolean, primary_key=True),
    sa.Column("visits", sa.Integer, nullable=False),
    sa.Column("new_doors", sa.Integer, nullable=False),
    sa.Index("ix_door_rollup_site_week", "site", "week_start"),
    sa.Index("ix_door_rollup_week", "week_start"),
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
