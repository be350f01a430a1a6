"""WSGI entry point: ``gunicorn 'app.wsgi:server'``.

The cached layers and the default siting instance are computed in a background thread as soon as the
worker starts, so the first visitor does not wait for them.
"""

from __future__ import annotations

import threading

from app.main import create_app
from app.server import warm_up_once as warm_up
from app.settings import DATA_DIR_KEY

app = create_app()
server = app.server
threading.Thread(target=warm_up, kwargs={"data_dir": server.config.get(DATA_DIR_KEY)},
                 name="voisinmap-warm-up", daemon=True).start()
