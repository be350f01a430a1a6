"""``voisinmap recommend``: where to open the next sites (ranked table, CSV, GeoJSON and a brief)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from geo import config
from geo.siting.params import (
    DEFAULT_CAPACITY,
    DEFAULT_EPCI_REACH,
    DEFAULT_HOME_RADIUS_KM,
    DEFAULT_MAX_CITIES,
    DEFAULT_MAX_REGIONS,
    DEFAULT_PACE,
    DEFAULT_RADIUS_KM,
    DEFAULT_SCOPE,
    DEFAULT_TARGET,
    EPCI_REACHES,
    SCOPES,
)

DEFAULT_SITES = config.PROJECT_ROOT / "data" / "sites.csv"
#: Files written into --out.
OUTPUT_FILES = ("recommendations.csv", "recommendations.geojson", "brief.md", "curve.csv", "assignments.csv",
                "regions.csv", "roadmap.csv")
#: With the capacitated model (the default), curve.csv is not written (the roadmap replaces it).
PLAN_FILES = ("recommendations.csv", "recommendations.geojson", "brief.md", "assignments.csv", "regions.csv",
              "roadmap.csv")


def parse_capacity(value: str | None) -> float | None:
    """``--capacity``: a positive number of residents per site, or ``none`` (uncapacitated model)."""
    if value is None or str(value).strip().lower() == "none":
        return None
    try:
        cap = float(str(value).replace("_", "").replace(" ", ""))
    except ValueError:
        cap = float("nan")
    if not cap > 0 or cap == float("inf"):
        raise click.BadParameter(f"expected a positive number of residents per site or 'none', got {value!r}",
                                 param_hint="'--capacity'")
    return cap


@click.command("recommend")
@click.option("--sites", "sites_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SITES,
              show_default="data/sites.csv", help="Fichier CSV des sites actuels (code, name, opening_year, kind, source).")
@click.option("--k", type=click.IntRange(min=1), default=None,
              help="Nombre de nouveaux sites. Sans --k, le mode objectif choisit le nombre minimal.")
@click.option("--radius-km", type=float, default=DEFAULT_RADIUS_KM, show_default=True, help="Rayon d'action d'un site (km).")
@click.option("--home-radius-km", type=float, default=DEFAULT_HOME_RADIUS_KM, show_default=True,
              help="Distance maximale entre un site et les QPV de sa propre commune qu'il touche au-delà du rayon (km).")
@click.option("--target", type=float, default=DEFAULT_TARGET, show_default=True,
              help="Part des habitants des QPV à atteindre (0–1).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Dossier de sortie (recommendations.csv, recommendations.geojson, brief.md, curve.csv).")
@click.option("--quota", "quotas", multiple=True, metavar="REG=MIN:MAX",
              help="Quota régional : MIN sites du réseau (actuels + nouveaux), MAX nouveaux sites. "
                   "Ex. --quota main6=1 --quota '*=:3' --quota 11=:2. Répétable.")
@click.option("--weights", default="default", show_default=True,
              help="Poids de l'indice de besoin, ex. 'poverty_rate=0.5,npnru=0.5' ; 'none' = population seule.")
@click.option("--same-epci", is_flag=True, help="Limiter l'aire d'un site aux QPV de son EPCI.")
@click.option("--epci-reach", type=click.Choice(list(EPCI_REACHES)), default=DEFAULT_EPCI_REACH, show_default=True,
              help="Partenaire donné par un SIREN d'EPCI : les QPV de son EPCI seulement (epci), ou aussi ceux "
                   "à portée de ses communes au-delà de l'EPCI (radius).")
@click.option("--min-spacing-km", type=float, default=None, help="Distance minimale entre deux sites (km).")
@click.option("--method", type=click.Choice(["heuristic", "exact"]), default="exact", show_default=True,
              help="Programme linéaire en nombres entiers (HiGHS, optimum prouvé) ou heuristique (glouton + échanges, "
                   "écart à la borne indiqué).")
@click.option("--target-method", type=click.Choice(["heuristic", "exact"]), default="exact", show_default=True,
              help="Calcul du nombre de sites pour l'objectif (exact : minimalité prouvée).")
@click.option("--time-limit-s", type=float, default=120.0, show_default=True,
              help="Limite de temps du solveur exact (s) ; sans solution dans ce délai, l'heuristique le remplace.")
@click.option("--scope", type=click.Choice(list(SCOPES)), default=DEFAULT_SCOPE, show_default=True,
              help="QPV comptés et dénominateur : metro (les QPV de métropole, base de l'objectif) ou all "
                   "(métropole + outre-mer).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True,
              help="Langue des raisons et du brief.")
@click.option("--level", type=click.Choice(["commune", "epci"]), default="commune", show_default=True,
              help="Candidats : communes (arrondissements à Paris, Lyon, Marseille) ou EPCI.")
@click.option("--openings-per-year", type=click.IntRange(min=1), default=None,
              help="Rythme d'ouverture pour la projection de capacité (défaut : toutes la première année).")
@click.option("--capacity", "capacity_text", default=str(int(DEFAULT_CAPACITY)), show_default=True,
              help="Habitants suivis par un site (modèle avec capacité, quartiers partagés) ; 'none' = modèle sans "
                   "capacité (aires de chalandise).")
@click.option("--regions", "max_regions", type=click.IntRange(min=1), default=DEFAULT_MAX_REGIONS, show_default=True,
              help="Nombre maximal de régions urbaines (celles du réseau comprises).")
@click.option("--cities", "max_cities", type=click.IntRange(min=1), default=DEFAULT_MAX_CITIES, show_default=True,
              help="Nombre maximal de villes en tout (sites actuels compris), sans --k.")
@click.option("--pace", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_PACE, show_default=True,
              help="Rythme d'ouverture (sites par an) de la feuille de route.")
@click.option("--robustness", is_flag=True, help="Recalculer le plan sur la grille d'hypothèses (rayon, capacité, "
                                                   "pondération) et donner la fréquence de chaque choix.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Dossier des données traitées (défaut : ${config.ENV_DATA_DIR} ou data/processed).")
def recommend(
    sites_path: Path, k: int | None, radius_km: float, home_radius_km: float, target: float, out_dir: Path,
    quotas: tuple[str, ...], weights: str, same_epci: bool, epci_reach: str, min_spacing_km: float | None, method: str,
    target_method: str, time_limit_s: float, scope: str, lang: str, level: str, openings_per_year: int | None,
    capacity_text: str, max_regions: int, max_cities: int, pace: float, robustness: bool, data_dir: Path | None,
) -> None:
    """Recommander les prochaines régions urbaines et villes où ouvrir un site VoisinMalin."""
    capacity = parse_capacity(capacity_text)
    if capacity is not None:
        from geo.cli.plan_output import run_plan

        target_given = click.get_current_context().get_parameter_source("target").name != "DEFAULT"
        run_plan(sites_path=sites_path, k=k, radius_km=radius_km, home_radius_km=home_radius_km, target=target,
                 target_given=target_given, out_dir=out_dir, quotas=quotas, weights=weights, same_epci=same_epci,
                 epci_reach=epci_reach, min_spacing_km=min_spacing_km, method=method, time_limit_s=time_limit_s,
                 scope=scope, lang=lang, level=level, capacity=capacity, max_regions=max_regions,
                 max_cities=max_cities, pace=pace, robustness=robustness, data_dir=data_dir)
        return
    from geo.cli.plan_output import usage_errors
    from geo.export.tables import neutralise
    from geo.load import load_arrondissements, load_communes, load_qpv
    from geo.siting import brief_markdown, build_instance, read_sites
    from geo.siting import recommend as reco_fn
    from geo.siting.demand import parse_weights
    from geo.siting.params import DEFAULT_WEIGHTS
    from geo.siting.quotas import Quotas

    console = Console() if sys.stdout.isatty() else Console(width=160)
    err = Console(stderr=True)
    with usage_errors(lang):
        w = DEFAULT_WEIGHTS if weights.strip().lower() == "default" else parse_weights(weights)
        q = Quotas.parse(quotas) if quotas else None
        sites = read_sites(sites_path)
        with err.status("Chargement des données et calcul des aires d'action…"):
            inst = build_instance(load_qpv(data_dir=data_dir), load_communes(data_dir=data_dir),
                                  load_arrondissements(data_dir=data_dir), radius_km=radius_km, same_epci=same_epci,
                                  weights=w, scope=scope, level=level, home_radius_km=home_radius_km)
        with err.status("Optimisation…"):
            reco = reco_fn(inst, sites, k=k, target=target, quotas=q, min_spacing_km=min_spacing_km, method=method,
                           target_method=target_method, time_limit_s=time_limit_s, openings_per_year=openings_per_year,
                           epci_reach=epci_reach, lang=lang)

    out_dir.mkdir(parents=True, exist_ok=True)
    table = reco.table
    neutralise(table).to_csv(out_dir / "recommendations.csv", index=False)
    gdf = reco.to_geodataframe()
    (out_dir / "recommendations.geojson").write_text(gdf.to_json(drop_id=True, ensure_ascii=False), encoding="utf-8")
    (out_dir / "brief.md").write_text(brief_markdown(reco, lang=lang), encoding="utf-8")
    neutralise(reco.curve).to_csv(out_dir / "curve.csv", index=False)
    from geo.cli.plan_output import write_plan_files
    from geo.siting.plan import plan as plan_fn

    uncapacitated = plan_fn(inst, sites, capacity=None, max_regions=None, weighted=w is not None, target=target,
                            pace=pace, epci_reach=epci_reach, chosen=table["insee_code"].tolist())
    write_plan_files(uncapacitated, out_dir)

    en = lang == "en"
    view = Table(title=(f"{len(table)} new sites recommended (radius {radius_km:g} km, {reco.method_label(lang=lang)})" if en
                        else f"{len(table)} nouveaux sites recommandés (rayon {radius_km:g} km, "
                             f"{reco.method_label(lang=lang)})"))
    headers = (("Rank", "Code", "Site", "Region", "Weighted gain", "Residents added", f"within {radius_km:g} km",
                "Cumulative share", "NPNRU", "Poverty", "Nearest current site") if en else
               ("Rang", "Code", "Site", "Région", "Gain pondéré", "Habitants ajoutés", f"dont < {radius_km:g} km",
                "Part cumulée", "NPNRU", "Pauvreté", "Site actuel le plus proche"))
    for col in headers:
        view.add_column(col, justify="left" if col in ("Code", "Site", "Région", "Region", headers[-1]) else "right")
    sep, pct, na = (",", "%", "n/a") if en else (" ", " %", "n.d.")
    for r in table.itertuples(index=False):
        view.add_row(str(r.rank), r.insee_code, r.name, r.region, f"{r.added_demand:,.0f}".replace(",", sep),
                     f"{r.added_population:,.0f}".replace(",", sep), f"{r.added_population_radius:,.0f}".replace(",", sep),
                     f"{100 * r.cumulative_share:.1f}{pct}", str(r.npnru_count),
                     na if r.poverty_rate != r.poverty_rate else f"{r.poverty_rate:.0f}{pct}",
                     "—" if r.nearest_site_km != r.nearest_site_km else f"{r.nearest_site} ({r.nearest_site_km:.1f} km)")
    console.print(view)
    base = (f"{reco.denominator:,.0f} residents of {reco.denominator_qpv:,} {'metropolitan ' if scope == 'metro' else ''}QPV"
            if en else f"{reco.denominator:,.0f} habitants de {reco.denominator_qpv:,} QPV"
            f"{' de métropole' if scope == 'metro' else ''}").replace(",", sep)
    console.print(f"Current network: {100 * reco.baseline_share:.1f}% of QPV residents within reach; with these sites: "
                  f"[bold]{100 * reco.share:.1f}%[/] (denominator {base})." if en else
                  f"Réseau actuel : {100 * reco.baseline_share:.1f} % des habitants des QPV à portée ; "
                  f"avec ces sites : [bold]{100 * reco.share:.1f} %[/] (dénominateur {base}).")
    if reco.fallback:
        err.print(f"[bold yellow]{'Note' if en else 'Attention'} :[/] {reco.fallback}")
    if reco.target_sites is not None:
        if reco.target_proven_minimal:
            proof = "proven minimal" if en else "minimal prouvé"
        else:
            proof = (f"upper bound, at least {reco.target_lower_bound}" if en else
                     f"borne supérieure, au moins {reco.target_lower_bound}")
        console.print(f"Goal {100 * target:.0f}%: {reco.target_sites} new sites ({proof})." if en else
                      f"Objectif {100 * target:.0f} % : {reco.target_sites} nouveaux sites ({proof}).")
    else:
        console.print(f"Goal {100 * target:.0f}%: out of reach ({reco.target_note})." if en else
                      f"Objectif {100 * target:.0f} % : inatteignable ({reco.target_note}).")
    console.print(f"{'Written to' if en else 'Écrit dans'} {out_dir} : {', '.join(OUTPUT_FILES)}")
    err.print(f"Optimisation : {reco.elapsed_s:.2f} s", style="dim")
