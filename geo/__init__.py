"""voisinmap's library: official data sources, the national build, siting, coverage and exports.

Import the submodules you need (``geo.sources``, ``geo.build``, ``geo.load``, ...); importing ``geo``
itself does no I/O.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
