"""Door-level coverage: door-visit logs, their store and their aggregation.

Modules, one per concept:

* :mod:`geo.coverage.schema` -- the documented CSV / XLSX column schema of door-visit logs;
* :mod:`geo.coverage.errors` -- every message a user can read (file refusals, row rejections);
* :mod:`geo.coverage.template` -- the blank template (CSV and XLSX bytes);
* :mod:`geo.coverage.reader` -- file sniffing (encodings, separators, XLSX, size, binary);
* :mod:`geo.coverage.vocabulary` -- closed lists (languages, topics) and identifier patterns (no names);
* :mod:`geo.coverage.territory` -- France's land from the département polygons (coordinate check);
* :mod:`geo.coverage.validate` -- row-by-row validation (vectorised) and content keys;
* :mod:`geo.coverage.keys` -- the building key and roll-up week of a visit (shared by the store and the aggregation);
* :mod:`geo.coverage.store` -- the SQL store (tables, visits, their roll-up, geocoding cache; engine and migrations of
  :mod:`geo.db`);
* :mod:`geo.coverage.geocode` -- client of the national address API (CSV endpoint);
* :mod:`geo.coverage.importer` -- the import pipeline (read, validate, locate, store in one transaction);
* :mod:`geo.coverage.aggregate` -- pure aggregation to buildings, H3 cells, QPV, campaigns and weeks;
* :mod:`geo.coverage.rollup` -- the same views read from the roll-up (national, site, QPV, cells, impact cells);
* :mod:`geo.coverage.prepared` -- prepared visits per data version, memory-mapped and shared by processes;
* :mod:`geo.coverage.impact` -- the funders' impact calculation (households met, protected by secrecy);
* :mod:`geo.coverage.demo` -- a seeded, fictitious campaign history ("données fictives").

Importing this package does no I/O.
"""
