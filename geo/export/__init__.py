"""Export formats: files that leave the application (the calculations they show live elsewhere).

Modules, one per format or job:

* :mod:`geo.export.tables` -- CSV, XLSX and GeoJSON of tables, safe to open in a spreadsheet;
* :mod:`geo.export.html_map` -- self-contained HTML maps (folium, Leaflet vendored in ``vendor/``);
* :mod:`geo.export.png` -- PNG pictures of the same maps (matplotlib);
* :mod:`geo.export.report` -- export labels of the funders' report tables;
* :mod:`geo.export.bundle` -- one function per kind of export, returning the file's bytes;
* :mod:`geo.export.loaders` -- the I/O edge: read the store and the processed data, then call the builders.

The funders' figures come from :mod:`geo.coverage.impact`, the scenarios from :mod:`geo.siting`.
Importing this package does no I/O and imports none of its modules.
"""
