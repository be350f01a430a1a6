"""Building blocks shared by the pages: map styles and legends, key-figure cards, the QPV panel, the
rendering of a recommendation, the door-coverage map, charts and tables of the page Terrain."""
