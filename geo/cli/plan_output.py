"""``voisinmap recommend`` with the capacitated model (the default): the plan, its files and its console summary."""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from geo.i18n import format_number, format_percent, t


@contextlib.contextmanager
def usage_errors(lang: str):  # noqa: ANN201
    """Turn the library's errors into exit code 2: missing data (message on stderr) or a bad value (usage error)."""
    from geo.load import DataNotBuiltError
    from geo.siting import InfeasibleError, SitesError

    try:
        yield
    except DataNotBuiltError as exc:
        Console(stderr=True).print(f"[bold red]{t('siting.cli.no_data', lang)}[/] {exc}")
        sys.exit(2)
    except (SitesError, InfeasibleError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc


def write_plan_files(result, out_dir: Path) -> None:  # noqa: ANN001
    """``assignments.csv``, ``regions.csv`` and ``roadmap.csv`` of a plan."""
    from geo.export.tables import neutralise

    out_dir.mkdir(parents=True, exist_ok=True)
    neutralise(result.assignments).to_csv(out_dir / "assignments.csv", index=False)
    neutralise(result.regions).to_csv(out_dir / "regions.csv", index=False)
    result.roadmap.table.to_csv(out_dir / "roadmap.csv", index=False)


def recommendations_frame(result, instance, *, lang: str = "fr"):  # noqa: ANN001, ANN201
    """The plan's new sites with the columns readers of ``recommendations.csv`` know (rank order).

    ``added_population`` is the residents the site serves (capacitated, split quartiers),
    ``added_population_radius`` / ``added_population_own`` those within the radius and beyond it,
    ``added_demand`` the need-weighted residents, ``cumulative_share`` the presence share.
    """
    import numpy as np

    table = result.table.copy()
    a = result.assignments[result.assignments["status"] == "new"]
    near = a[a["distance_km"] <= instance.radius_km + 1e-9].groupby("site_code")["residents"].sum()
    cand = instance.candidates.set_index("insee_code")
    table["added_population"] = table["residents_served"]
    table["added_population_radius"] = table["insee_code"].map(near).fillna(0.0).to_numpy(float)
    table["added_population_own"] = table["added_population"] - table["added_population_radius"]
    table["added_demand"] = table["weighted_served"]
    table["added_households"] = table["households_served"]
    table["cumulative_share"] = table["cumulative_presence"]
    table["insee_reg"] = cand.loc[table["insee_code"], "insee_reg"].to_numpy(str) if len(table) else np.array([])
    table["reason"] = [t("siting.plan.reason", lang, name=r.name, region=r.urban_region,
                         residents=format_number(r.residents_served, lang), qpv=r.qpv_served, npnru=r.npnru_qpv,
                         near=format_number(r.added_population_radius, lang),
                         radius=format_number(instance.radius_km, lang, decimals=1),
                         gain=format_number(r.weighted_served, lang))
                       for r in table.itertuples(index=False)]
    return table


def _names(data_dir: Path | None) -> tuple[dict[str, str], dict[str, float]]:
    from geo.load import load_communes

    communes = load_communes(data_dir=data_dir)
    codes = communes["insee_com"].astype(str)
    return dict(zip(codes, communes["name"], strict=True)), dict(zip(codes, communes["population"], strict=True))


def run_plan(*, sites_path: Path, k: int | None, radius_km: float, home_radius_km: float, target: float,
             target_given: bool, out_dir: Path, quotas: tuple[str, ...], weights: str, same_epci: bool, epci_reach: str,
             min_spacing_km: float | None, method: str, time_limit_s: float, scope: str, lang: str, level: str,
             capacity: float, max_regions: int, max_cities: int, pace: float, robustness: bool,
             data_dir: Path | None) -> None:
    """Build the instance, solve the plan, write the files and print the answer (exit code 2 on a bad value)."""
    from geo.export.tables import neutralise
    from geo.load import load_arrondissements, load_communes, load_qpv
    from geo.siting import build_instance, read_sites
    from geo.siting.demand import parse_weights
    from geo.siting.params import DEFAULT_WEIGHTS
    from geo.siting.plan import plan, what_it_takes
    from geo.siting.plan_brief import plan_brief
    from geo.siting.quotas import Quotas
    from geo.siting.regions import urban_regions
    from geo.siting.robustness import robustness as robustness_fn

    err = Console(stderr=True)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    with usage_errors(lang):
        w = DEFAULT_WEIGHTS if weights.strip().lower() == "default" else parse_weights(weights)
        q = Quotas.parse(quotas) if quotas else None
        sites = read_sites(sites_path)
        frames = (load_qpv(data_dir=data_dir), load_communes(data_dir=data_dir), load_arrondissements(data_dir=data_dir))
        names, pops = _names(data_dir)
        options = {"same_epci": same_epci, "scope": scope, "level": level, "home_radius_km": home_radius_km}
        inst = build_instance(*frames, radius_km=radius_km, weights=w, **options)
        regions = urban_regions(inst.qpv, inst.qpv_xy, inst.qpv_epsg, inst.coverage, commune_names=names,
                                commune_population=pops)
        run = functools.partial(plan, sites=sites, max_regions=max_regions, max_cities=max_cities, method=method,
                                quotas=q, min_spacing_km=min_spacing_km, target=target, pace=pace,
                                time_limit_s=time_limit_s, epci_reach=epci_reach, commune_names=names,
                                commune_population=pops)
        result = run(inst, capacity=capacity, k=k, weighted=w is not None, regions=regions,
                     fewest_for=target if (target_given and k is None) else None)
        answer = what_it_takes(inst, sites, capacity=capacity, max_regions=max_regions, max_cities=max_cities,
                               target=target, regions=regions, epci_reach=epci_reach)
        robust = None
        if robustness:
            cache = {}

            def instance_for(radius: float, weights_key: str):  # noqa: ANN202
                key = (radius, weights_key)
                if key not in cache:
                    cache[key] = build_instance(*frames, radius_km=radius,
                                                weights=None if weights_key == "none" else DEFAULT_WEIGHTS, **options)
                return cache[key]

            robust = robustness_fn(instance_for, run, capacity=capacity)

    out_dir.mkdir(parents=True, exist_ok=True)
    reco = recommendations_frame(result, inst, lang=lang)
    neutralise(reco).to_csv(out_dir / "recommendations.csv", index=False)
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(reco, geometry=gpd.points_from_xy(reco["lon"], reco["lat"]), crs="EPSG:4326")
    (out_dir / "recommendations.geojson").write_text(gdf.to_json(drop_id=True, ensure_ascii=False), encoding="utf-8")
    write_plan_files(result, out_dir)
    if robust is not None:
        robust.scenarios.to_csv(out_dir / "robustness.csv", index=False)
    (out_dir / "brief.md").write_text(plan_brief(result, answer=answer, robust=robust, lang=lang), encoding="utf-8")
    _print(console, result, answer, reco, target, lang)
    files = [*(f for f in _files(robust is not None))]
    console.print(f"{t('siting.cli.written', lang)} {out_dir} : {', '.join(files)}")
    err.print(f"{t('siting.cli.elapsed', lang)} {format_number(result.elapsed_s, lang, decimals=2)} s", style="dim")


def _files(with_robustness: bool) -> list[str]:
    from geo.cli.recommend import PLAN_FILES

    return [*PLAN_FILES, *(["robustness.csv"] if with_robustness else [])]


def _print(console: Console, result, answer, reco, target: float, lang: str) -> None:  # noqa: ANN001
    view = Table(title=t("siting.cli.plan_title", lang, n=len(reco), capacity=format_number(result.params["capacity"], lang)))
    cols = ("rank", "city", "region", "gain", "served", "cumulative")
    for c in cols:
        view.add_column(t(f"siting.plan.col_{c}", lang), justify="left" if c in ("city", "region") else "right")
    for r in reco.itertuples(index=False):
        view.add_row(str(r.rank), f"{r.name} ({r.insee_code})", r.urban_region, format_number(r.weighted_served, lang),
                     format_number(r.residents_served, lang), format_percent(100 * r.cumulative_presence, lang))
    console.print(view)
    console.print(t("siting.cli.presence", lang, before=format_percent(100 * result.baseline_presence, lang),
                    after=format_percent(100 * result.presence, lang)))
    if answer.cities_needed_any_region is not None:
        console.print(t("siting.cli.goal", lang, target=format_number(100 * target, lang),
                        n=answer.cities_needed_any_region - answer.n_current))
    else:
        console.print(t("siting.cli.goal_out", lang, target=format_number(100 * target, lang)))
    year = result.roadmap.presence_goal_year
    console.print(t("siting.cli.roadmap", lang, year=year if year is not None else "—"))
