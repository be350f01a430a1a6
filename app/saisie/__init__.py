"""Field entry for Voisins: the phone page ``/saisie``, its JSON routes, service worker and manifest.

One Flask blueprint (:mod:`app.saisie.routes`) attached by :func:`init_app`. The page is a plain HTML
shell with a small script (``app/saisie/static``), not a Dash page: it must load and work with no
network, which a Dash page (its layout and every callback are requests) cannot. Its static files live
beside the blueprint rather than in ``app/assets/``, which Dash would load into every page.

* ``GET /saisie`` -- the shell (Voisin accounts; geolocation allowed on this page only);
* ``GET /saisie/api/context`` -- the site's campaigns, the chosen campaign's buildings and walk list, the
  Voisin's own entries of the day, the closed lists and a CSRF token;
* ``POST /saisie/api/sync`` -- queued entries, stored idempotently (:mod:`geo.coverage.field`);
* ``GET /saisie-sw.js`` -- the service worker, at the root so that its scope covers ``/saisie``;
* ``GET /saisie.webmanifest`` -- the manifest of the installable page.

The access check (:mod:`app.security.access`) admits the shell and the JSON routes to Voisins (admins
pass every declaration but have no Voisin code: the JSON routes refuse them); the static files, service
worker and manifest hold no data and are public.
"""

from __future__ import annotations

import flask


def init_app(server: flask.Flask) -> None:
    """Register the field-entry blueprint on ``server``."""
    from app.saisie.routes import blueprint

    server.register_blueprint(blueprint)
