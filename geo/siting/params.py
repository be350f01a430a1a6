"""Named model assumptions of the expansion engine, each with its default and its source.

Every number the siting model relies on lives here, so that the strategy team can read, question and
override it (all public functions take these as keyword-only arguments).
"""

from __future__ import annotations

#: Travel radius of a city team, in km, measured between the candidate's point (commune or
#: arrondissement centroid) and the QPV's representative point, in the zone's metric CRS.
#: Assumption (team choice, not a field figure): Voisins Malins work 12–19 h a month in their own and
#: neighbouring quartiers, on foot or by local public transport; 3 km is about 40 minutes' walk or
#: 15 minutes by bus. Override with ``radius_km=`` / ``--radius-km``.
DEFAULT_RADIUS_KM: float = 3.0

#: Indicator weights of the need score (they are renormalised to sum to 1 over the indicators
#: available for each QPV). Source: team choice. Poverty comes first because the association's work is
#: access to rights; NPNRU quartiers bring partners and missions (urban renewal, see ARCHITECTURE);
#: low employment, a high share of social housing and large households complete the picture.
DEFAULT_WEIGHTS: dict[str, float] = {
    "poverty_rate": 0.4,
    "employment_rate": 0.2,
    "npnru": 0.2,
    "social_housing": 0.1,
    "household_size": 0.1,
}

#: Demand of a QPV = population × (1 + NEED_STRENGTH × need), need in [0, 1]: the neediest quartier
#: counts at most twice a quartier of the same size with the lowest need. Source: team choice.
DEFAULT_NEED_STRENGTH: float = 1.0

#: Share of QPV residents the association aims to reach (VoisinMalin's public goal: 20 %).
DEFAULT_TARGET: float = 0.20

#: Which QPV make the denominator of "share of QPV residents within reach" (and which QPV and candidate
#: sites the instance holds): ``"metro"`` (default) = the metropolitan QPV, the base of the association's
#: goal: "reach 20 % of the ~5.3 million residents of the 1,362 metropolitan QPV" (INSEE 2024 population:
#: 5,307,455); ``"all"`` = every QPV with a known population in the processed data, métropole and
#: overseas (QPV the data give no population count for nothing; the brief states how many there are).
DEFAULT_SCOPE: str = "metro"
SCOPES: tuple[str, ...] = ("all", "metro")

#: A city team always works in the QPV of its own commune (or arrondissement), even beyond
#: ``radius_km``, but only up to this distance (km) from its base: a commune is one team's ground, not a
#: whole territory. 10 km ≈ 30 minutes by tram or bus across the largest cities (Toulouse's farthest
#: QPV lie 5.8 km from its centre). The base is the commune's centroid, or, when some of its QPV lie
#: farther and one of its QPV reaches more of their residents, that QPV's point
#: (:func:`geo.siting.candidates.team_bases`: Arles in the métropole, Saint-Laurent-du-Maroni, Kourou…
#: overseas, whose centroids lie far from the town). Without the cap, a team was credited with QPV 64 km
#: away. Assumption (team choice). Override with ``home_radius_km=`` / ``--home-radius-km``.
DEFAULT_HOME_RADIUS_KM: float = 10.0

#: How a partner given by an EPCI SIREN (``data/sites.csv``) reaches QPV: ``"epci"`` (default) = the
#: QPV of its own EPCI only (a partner such as l'Établi works for the CA de la Porte du Hainaut, not for
#: the neighbouring Valenciennes Métropole); ``"radius"`` = also the QPV within ``radius_km`` of its
#: communes, across the EPCI border. Override with ``epci_reach=`` / ``--epci-reach``.
DEFAULT_EPCI_REACH: str = "epci"
EPCI_REACHES: tuple[str, ...] = ("epci", "radius")

#: Régions of the six largest French urban areas (INSEE aires d'attraction des villes 2020: Paris,
#: Lyon, Aix-Marseille, Lille, Toulouse, Bordeaux). Used as VoisinMalin's "6 main urban regions"
#: (the association does not publish its own list here; assumption).
MAIN_URBAN_REGIONS: dict[str, str] = {
    "11": "Île-de-France",
    "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur",
    "32": "Hauts-de-France",
    "76": "Occitanie",
    "75": "Nouvelle-Aquitaine",
}

#: Households a site meets in a year. Field figure: about 4,500 households met in 2014 by the whole
#: network of 6 branches (VoisinMalin), i.e. 750 per site-year.
HOUSEHOLDS_MET_2014: int = 4_500
BRANCHES_2014: int = 6
DEFAULT_HOUSEHOLDS_PER_SITE_YEAR: float = HOUSEHOLDS_MET_2014 / BRANCHES_2014

#: Second field figure, for cross-checking: 23,500 families met in 5 years (VoisinMalin).
FAMILIES_MET_5_YEARS: int = 23_500

#: Years a new site takes to build its team before it meets households (ARCHITECTURE: "a site takes
#: about 1 year to build"); during those years it meets none.
DEFAULT_BUILD_YEARS: int = 1

#: The three communes whose QPV are placed in arrondissements municipaux (Paris, Lyon, Marseille).
PLM_COMMUNES: dict[str, str] = {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}

#: Greedy curve length (new sites) when no target is reached earlier.
DEFAULT_CURVE_MAX_SITES: int = 150

#: Relative tolerance under which two gains are a tie (then the lowest INSEE code wins).
TIE_RTOL: float = 1e-9

#: Residents a city team serves (its capacity in the capacitated model). Derivation: the association's
#: own plan, 20 % of the ~5.3 million residents of metropolitan QPV in 20 cities, is 1.06 M / 20 ≈
#: 53,000 residents per city; Grigny's team works in Grigny 2 and La Grande Borne, 23,636 residents
#: (QPV 2024), so a city team with a few quartiers serves a few tens of thousands. Rounded to 50,000.
#: Override with ``capacity=`` / ``--capacity`` (``None`` / ``none``: the uncapacitated model).
DEFAULT_CAPACITY: float = 50_000.0

#: The association's plan: at most this many urban regions and cities (current ones included).
DEFAULT_MAX_REGIONS: int = 6
DEFAULT_MAX_CITIES: int = 20

#: Openings per year in the roadmap. Assumption: the network went from 6 branches (2014) to 19 cities
#: (2024), about 1.3 a year; the plan doubles it to 2 a year with the essaimage.
DEFAULT_PACE: float = 2.0

#: A site meets its full number of households a year from its 4th year (seed figure: "4 years to pay
#: its own direct costs"); the ramp is linear after the build year.
DEFAULT_MATURITY_YEARS: int = 4

#: First year of the roadmap (the plan's first openings) and last year projected.
DEFAULT_START_YEAR: int = 2026
DEFAULT_ROADMAP_END: int = 2035

#: The association's door goals: (households met, within years): 150,000 in 5 years, 500,000 in 10.
DOOR_GOALS: tuple[tuple[int, int], ...] = ((150_000, 5), (500_000, 10))
