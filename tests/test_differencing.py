"""The differencing attack (issue 12): synthetic incidents with planted small cells, published and
released, then every allowed public answer collected (the cells API, the summary API, the map
page's tables and image, media bundles; before and after a publish; in two releases) and
attacked:

- pairs: every two published numbers whose bins are nested (a bin and its parent in area, time
  or attribute, in one answer or two) or the same bin in two answers or releases; their
  difference is the count of a set of incidents, recovered when it is 1 to k-1;
- algebra: every published number and every relation of the lattice (parent = sum of children,
  "all" = "with c" + "without c") as one linear system over the hidden bins, the attacker
  knowing which bins are non-empty (more than a real one would); a hidden bin is recovered
  when the system fixes its value (it lies in the row space) or the bounds from
  non-negativity pin it, and it holds 1 to k-1 incidents.

`harness(app)` runs it all and returns the figures; bench/differencing.py prints
`differencing_recovered` in `make bench`. The goal is 0. The same attacker, given what a naive
publication (every bin of at least k) would show, recovers many: so it can fail.

Costs: the harness runs once for the module, about 60 s on a quiet 2-core machine (two
releases, about 900 requests, six bundles, a few SVDs of a few thousand columns), more under load.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import pytest
from flask import Flask
from sqlalchemy import func, select

from reporter.domain.vocabulary import PROVINCES
from reporter.maps import lattice
from reporter.maps.lattice import ANY, NOT, Node, Period
from reporter.maps.publish import publish_incident
from reporter.maps.release import cut_release, through_month
from reporter.models import db
from reporter.models.public import Incident

K = 5
CATS = ["extortion", "unlawful_arrest", "threats"]
PERPS = ["saps", "client"]


@dataclass
class Knowledge:
    """What the attacker has: bin -> value, plus sums of bins (from answers that add bins)."""

    facts: dict[Node, int] = field(default_factory=dict)
    sums: list[tuple[list[Node], int]] = field(default_factory=list)
    conflicts: list[tuple[Node, int, int]] = field(default_factory=list)
    answers: int = 0

    def learn(self, node: Node, value: int) -> None:
        old = self.facts.get(node)
        if old is not None and old != value:
            self.conflicts.append((node, old, value))
        self.facts[node] = value


# --- synthetic data with planted small cells ---------------------------------------------------


def _sites() -> dict[str, tuple[str, list[tuple[float, float]]]]:
    """Centres of r6 cells: three in one r5 hexagon of Johannesburg, one in Pretoria, two in
    Durban, one in Cape Town. With a 1 m radius an incident stays in its cell."""

    def children(lat: float, lon: float, n: int) -> list[tuple[float, float]]:
        parent = h3.latlng_to_cell(lat, lon, 5)
        return [h3.cell_to_latlng(c) for c in sorted(h3.cell_to_children(parent, 6))[:n]]

    return {
        "GP": ("GP", [*children(-26.2041, 28.0473, 3), *children(-25.7479, 28.2293, 1)]),
        "KZN": ("KZN", children(-29.8587, 31.0218, 2)),
        "WC": ("WC", children(-33.9249, 18.4241, 1)),
    }


def quarter_released(now: dt.datetime, settings: Any) -> Period:
    through = through_month(settings, now)
    q = lattice.quarter_of(through)
    return q if q.last <= through else lattice.quarter_of(lattice.add_months(q.first, -1))


def _incidents(
    rng: random.Random, months: list[dt.date], planted: bool
) -> Iterator[dict[str, Any]]:
    sites = _sites()
    for month in months:
        for _name, (province, places) in sites.items():
            for i, (lat, lon) in enumerate(places):
                # most cells busy, some planted small (1-4)
                n = (
                    rng.choice([1, 2, 3, 4])
                    if planted and rng.random() < 0.35
                    else rng.randint(5, 11)
                )
                for j in range(n):
                    cats = [CATS[(i + j) % 3]] if rng.random() < 0.7 else rng.sample(CATS, 2)
                    perps = ["saps"] if rng.random() < 0.75 else ["client"]
                    yield {
                        "categories": cats,
                        "perpetrators": perps,
                        "month": month,
                        "province": province,
                        "lat": lat,
                        "lon": lon,
                    }


def publish_all(app: Flask, items: Iterable[dict[str, Any]]) -> int:
    n = 0
    with app.app_context():
        session = db.session()
        for item in items:
            publish_incident(
                session,
                people_affected=1,
                verification_level="reported",
                source_type="self",
                privacy_radius_m=1.0,
                **item,
            )
            n += 1
        session.commit()
    return n


def cut(app: Flask, now: dt.datetime) -> None:
    with app.app_context():
        cut_release(db.session(), app.extensions["reporter.settings"], now)
        db.session().commit()
    app.extensions["reporter.maps.cache"].clear()


# --- collecting every allowed answer -------------------------------------------------------------


def _attrs() -> list[dict[str, str]]:
    return [{}, *({"category": c} for c in CATS), *({"perpetrator": p} for p in PERPS)]


def _attr_key(args: dict[str, str]) -> str:
    return lattice.attribute_key(args.get("category"), args.get("perpetrator"))


def collect(app: Flask, periods: list[str], kb: Knowledge, *, bundles: bool) -> list[bytes]:
    """Ask every lattice question about the periods; returns the raw bodies (for comparing
    answers before and after a publish)."""
    client = app.test_client()
    bodies = []
    for period in periods:
        for attrs in _attrs():
            a = _attr_key(attrs)
            for province in [None, *sorted({p for p, _ in _sites().values()})]:
                where = province or ANY
                args = {"period": period, **attrs, **({"province": province} if province else {})}
                for res in lattice.RESOLUTIONS:
                    resp = client.get("/api/v1/cells", query_string={**args, "res": res})
                    assert resp.status_code == 200, resp.data
                    bodies.append(resp.data)
                    kb.answers += 1
                    _learn_cells(kb, resp.json["features"], period, res, a, province)
                    if attrs or res != 6:
                        continue  # the image draws the cells answer: checked on a sample
                    svg = client.get("/map.svg", query_string={**args, "res": res})
                    shown = sorted(int(n) for n in re.findall(rb'data-count="(\d+)"', svg.data))
                    assert shown == sorted(f["properties"]["count"] for f in resp.json["features"])
                resp = client.get("/api/v1/summary", query_string=args)
                assert resp.status_code == 200, resp.data
                bodies.append(resp.data)
                kb.answers += 1
                body = resp.json
                for e in body["by_province"]:
                    kb.learn((period, (0, e["province"], ANY), a), e["count"])
                for e in body["by_category"]:
                    kb.learn((period, (0, where, ANY), f"c:{e['category']}"), e["count"])
                for e in body["by_perpetrator"]:
                    kb.learn((period, (0, where, ANY), f"p:{e['perpetrator']}"), e["count"])
                for e in body["by_month"]:
                    kb.learn((e["month"], (0, where, ANY), a), e["count"])
                for e in body["by_province_category"]:
                    kb.learn((period, (0, e["province"], ANY), f"c:{e['category']}"), e["count"])
                if attrs and province:
                    continue  # the page shows the summary answer: checked on a sample
                page = client.get("/map", query_string=args).get_data(as_text=True)
                kb.answers += 1
                table = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', page)]
                summary_numbers = {
                    e["count"]
                    for key in ("by_province", "by_perpetrator", "by_province_category")
                    for e in body[key]
                }
                assert set(table) <= summary_numbers, (period, args)
    if bundles:
        from reporter.export.filters import parse_export_filters
        from tests.support.export import build

        for period in periods[:2]:
            for attrs in ({}, {"category": CATS[0]}):
                for province in (None, "GP") if not attrs else (None,):
                    f = parse_export_filters(
                        {"period": period, **attrs, **({"province": province} if province else {})}
                    )
                    built = build(app, f)
                    kb.answers += 1
                    _learn_bundle(kb, built.data, period, _attr_key(attrs), province)
    return bodies


def _learn_cells(
    kb: Knowledge,
    features: list[dict[str, Any]],
    period: str,
    res: int,
    a: str,
    province: str | None,
) -> None:
    for feat in features:
        cell, n = feat["properties"]["cell"], feat["properties"]["count"]
        if province:
            kb.learn((period, (res, province, cell), a), n)
        else:  # the shown parts of one hexagon in every province, added up
            parts = [(period, (res, p, cell), a) for p in PROVINCES]
            kb.sums.append((parts, n))


def _learn_bundle(kb: Knowledge, data: bytes, period: str, a: str, province: str | None) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        fc = json.loads(zf.read("cells.geojson"))
        rows = list(csv.DictReader(io.StringIO(zf.read("summary.csv").decode())))
        readme = zf.read("README.txt").decode()
    assert "WHAT CANNOT BE LEARNT FROM IT" in readme
    _learn_cells(kb, fc["features"], period, fc["resolution"], a, province)
    for row in rows:
        key = a if row["category"] == "*" else f"c:{row['category']}"
        for p in PROVINCES:
            if row.get(p):
                kb.learn((period, (0, p, ANY), key), int(row[p]))


# --- the truth (what the releases counted) and the attack ----------------------------------------


def truth(app: Flask, periods: dict[str, Period]) -> dict[Node, int]:
    """Every non-empty bin of the released periods, from the incidents the releases counted."""
    months = sorted({m for p in periods.values() for m in p.months})
    with app.app_context():
        rows = (
            db.session()
            .execute(
                select(
                    Incident.month,
                    Incident.province,
                    Incident.cell_r6,
                    Incident.categories,
                    Incident.perpetrators,
                    func.count(),
                )
                .where(Incident.release_id.is_not(None), Incident.month.in_(months))
                .group_by(
                    Incident.month,
                    Incident.province,
                    Incident.cell_r6,
                    Incident.categories,
                    Incident.perpetrators,
                )
            )
            .all()
        )
    per_month: dict[str, list[lattice.CountRow]] = defaultdict(list)
    for month, province, cell, cats, perps, n in rows:
        per_month[lattice.month_label(month)].append((province, cell, cats, perps, n))
    counts = {
        lattice.month_label(m): lattice.month_counts(per_month[lattice.month_label(m)])
        for m in months
    }
    out: dict[Node, int] = {}
    for label, p in periods.items():
        c = lattice.add_counts(counts[lattice.month_label(m)] for m in p.months)
        out.update({(label, g, a): n for (g, a), n in c.items()})
    return out


def _ancestors(node: Node, periods: dict[str, Period]) -> set[Node]:
    period, g, a = node
    ps = {period}
    p = periods[period]
    if p.kind == "month":
        ps |= {lattice.quarter_of(p.first).label, lattice.year_of(p.first).label}
    elif p.kind == "quarter":
        ps.add(lattice.year_of(p.first).label)
    gs, up = {g}, lattice.geo_parent(g)
    while up is not None:
        gs.add(up)
        up = lattice.geo_parent(up)
    attrs = {a, ANY}
    return {(x, y, z) for x in ps for y in gs for z in attrs} - {node}


@dataclass(frozen=True)
class Result:
    small_bins: int  # hidden bins with 1 to k-1 incidents (the attack's targets)
    published: int  # distinct published numbers
    pairs: int  # nested or equal pairs of published numbers compared
    recovered_pairs: int  # of them, differences of 1 to k-1
    recovered_bins: int  # small bins the linear system or the bounds pin down
    shown_below_k: int  # published numbers below k (never expected)
    conflicts: int  # one bin, two different values (in two answers or two releases)

    @property
    def recovered(self) -> int:
        return self.recovered_pairs + self.recovered_bins + self.shown_below_k + self.conflicts


SLACK = "other"  # stands for every hexagon of a province that holds no incident


def open_universe(
    values: dict[Node, int], periods: dict[str, Period]
) -> tuple[dict[Node, int], list[tuple[Node, list[Node]]]]:
    """The bins an attacker who does not know which bins are empty must reckon with: every
    province, every r6 child of an r5 hexagon that holds incidents, both halves of every
    attribute, every month of a quarter. Empty ones are 0, unknown to the attacker, and hold
    nothing he could learn, so the empty children of one parent are one bin ("other": empty
    provinces, a province's empty r5 hexagons, an r5's empty r6 children; an empty bin's own
    parts are as free as itself). Returns values and relations."""
    attrs = sorted(
        {n[2] for n in values}
        | {NOT + a for n in values if (a := n[2]) != ANY and not a.startswith(NOT)}
    )
    provinces = sorted({g[1] for _p, g, _a in values if g[1] != ANY})
    r5 = sorted({(g[1], g[2]) for _p, g, _a in values if g[0] == 5})
    r6 = sorted({(g[1], g[2]) for _p, g, _a in values if g[0] == 6})
    geos: list[lattice.Geo] = [lattice.NATIONAL, (0, SLACK, ANY), *((0, p, ANY) for p in provinces)]
    geos += [(5, p, c) for p, c in r5] + [(5, p, SLACK) for p in provinces]
    geos += [(6, p, c) for p, c in r6] + [(6, p, f"{SLACK}:{c}") for p, c in r5]
    full = {(per, g, a): values.get((per, g, a), 0) for per in periods for g in geos for a in attrs}
    rels: list[tuple[Node, list[Node]]] = []
    for per, p in periods.items():
        for a in attrs:
            rels.append(
                ((per, lattice.NATIONAL, a), [(per, (0, q, ANY), a) for q in [*provinces, SLACK]])
            )
            for q in provinces:
                rels.append(
                    (
                        (per, (0, q, ANY), a),
                        [(per, (5, q, c), a) for qq, c in r5 if qq == q]
                        + [(per, (5, q, SLACK), a)],
                    )
                )
            for q, c in r5:
                rels.append(
                    (
                        (per, (5, q, c), a),
                        [
                            (per, (6, q, ch), a)
                            for qq, ch in r6
                            if qq == q and lattice.parent5(ch) == c
                        ]
                        + [(per, (6, q, f"{SLACK}:{c}"), a)],
                    )
                )
            if p.kind != "month":
                kids = [c.label for c in p.children() if c.label in periods]
                if len(kids) == len(p.children()):
                    for g in geos:
                        rels.append(((per, g, a), [(kid, g, a) for kid in kids]))
        for g in geos:
            for a in attrs:
                if a != ANY and not a.startswith(NOT):
                    rels.append(((per, g, ANY), [(per, g, a), (per, g, NOT + a)]))
    return full, rels


def attack(
    values: dict[Node, int],
    kb: Knowledge,
    periods: dict[str, Period],
    k: int = K,
    *,
    support_known: bool = False,
) -> Result:
    facts = {n: v for n, v in kb.facts.items() if n[0] in periods}
    shown_below = sum(1 for v in facts.values() if 0 < v < k)
    # pairs of nested published numbers (and equal bins across answers: the conflicts)
    pairs = recovered_pairs = 0
    for node, v in facts.items():
        for up in _ancestors(node, periods):
            if up in facts:
                pairs += 1
                if 0 < facts[up] - v < k:
                    recovered_pairs += 1
    # the linear system over the hidden bins
    if not support_known:
        values, rels = open_universe(values, periods)
    else:
        rels = lattice.relations(values, periods)
    hidden = sorted(n for n in values if n not in facts)
    col = {n: i for i, n in enumerate(hidden)}
    rows: list[dict[int, float]] = []
    rhs: list[float] = []

    def equation(terms: list[tuple[Node, int]], constant: float) -> None:
        row: dict[int, float] = defaultdict(float)
        b = constant
        for n, coef in terms:
            if n in col:
                row[col[n]] += coef
            elif n in facts:
                b -= coef * facts[n]
            # a bin that is empty and unpublished is 0 (the attacker knows the support)
        if any(row.values()):
            rows.append(dict(row))
            rhs.append(b)

    for parent, children in rels:
        equation([(parent, 1), *((c, -1) for c in children)], 0)
    for parts, total in kb.sums:
        shown = [p for p in parts if p in facts]
        # the answer adds shown parts: the same as the facts already say
        assert sum(facts[p] for p in shown) == total
    determined: set[Node] = set()
    if rows and hidden:
        a = np.zeros((len(rows), len(hidden)))
        for i, row in enumerate(rows):
            for j, coef in row.items():
                a[i, j] = coef
        _u, s, vt = np.linalg.svd(a, full_matrices=True)
        rank = int((s > 1e-9 * max(1.0, s[0] if len(s) else 1.0)).sum())
        null = vt[rank:]
        for j, n in enumerate(hidden):
            if null.shape[0] == 0 or np.abs(null[:, j]).max() < 1e-7:
                determined.add(n)
    determined |= _pinned_by_bounds(values, facts, rels, hidden)
    small = [n for n in hidden if 0 < values[n] < k]
    recovered_bins = sum(1 for n in small if n in determined)
    return Result(
        len(small),
        len(facts),
        pairs,
        recovered_pairs,
        recovered_bins,
        shown_below,
        len(kb.conflicts),
    )


def _pinned_by_bounds(
    values: dict[Node, int],
    facts: dict[Node, int],
    rels: list[tuple[Node, list[Node]]],
    hidden: list[Node],
) -> set[Node]:
    """Interval reasoning with non-negativity: lo <= x <= hi for every bin, narrowed through
    every relation until nothing changes; pinned when lo == hi."""
    inf = float("inf")
    lo = {n: float(facts.get(n, 0)) for n in values}
    hi = {n: float(facts[n]) if n in facts else inf for n in values}
    for _round in range(50):
        changed = False
        for parent, children in rels:
            s_lo = sum(lo[c] for c in children)
            s_hi = sum(hi[c] for c in children)
            if s_hi < hi[parent]:
                hi[parent], changed = s_hi, True
            if s_lo > lo[parent]:
                lo[parent], changed = s_lo, True
            for c in children:
                new_hi = hi[parent] - (s_lo - lo[c])
                new_lo = lo[parent] - (s_hi - hi[c])
                if new_hi < hi[c]:
                    hi[c], changed = new_hi, True
                if new_lo > lo[c]:
                    lo[c], changed = new_lo, True
        if not changed:
            break
    return {n for n in hidden if lo[n] == hi[n]}


# --- the whole run ---------------------------------------------------------------------------


def harness(app: Flask, seed: int = 12, bundles: bool = True) -> dict[str, Any]:
    """Plant, publish, release twice, collect, attack. Returns the figures (bench and tests)."""
    settings = app.extensions["reporter.settings"]
    rng = random.Random(seed)
    now1 = dt.datetime.now(dt.UTC)
    q = quarter_released(now1, settings)
    publish_all(app, _incidents(rng, list(q.months), planted=True))
    cut(app, now1)
    with app.app_context():
        first_periods = {p: lattice.parse_period(p) for p in _released_labels()}
    labels = [
        p
        for p in first_periods
        if first_periods[p].first >= q.first
        or first_periods[p].kind == "year"
        and first_periods[p].last >= q.first
    ]
    kb = Knowledge()
    before = collect(app, labels, kb, bundles=bundles)
    # a publish into a released month (late) and one into the next month: nothing public moves
    nxt = lattice.add_months(through_month(settings, now1), 1)
    publish_all(app, _incidents(rng, [q.months[0], nxt], planted=True))
    after = collect(app, labels, Knowledge(), bundles=False)
    changed_by_publish = sum(1 for x, y in zip(before, after, strict=True) if x != y)
    # the next release adds the next month (and any quarter or year it completes)
    now2 = dt.datetime.combine(
        lattice.add_months(dt.date(now1.year, now1.month, 1), 1), dt.time(0, 30), tzinfo=dt.UTC
    )
    cut(app, now2)
    with app.app_context():
        periods = {p: lattice.parse_period(p) for p in _released_labels()}
    labels2 = [p for p in periods if periods[p].last >= q.first]
    collect(app, labels2, kb, bundles=bundles)
    periods = {p: periods[p] for p in labels2}
    values = truth(app, periods)
    result = attack(values, kb, periods)
    return {
        "differencing_recovered": result.recovered + changed_by_publish,
        "differencing_small_bins": result.small_bins,
        "differencing_published_numbers": result.published,
        "differencing_pairs": result.pairs,
        "differencing_answers": kb.answers,
        "differencing_changed_by_publish": changed_by_publish,
        "result": result,
        "values": values,
        "periods": periods,
        "knowledge": kb,
    }


def _released_labels() -> list[str]:
    from reporter.models.counts import ReleasePeriod

    return list(db.session().scalars(select(ReleasePeriod.period)))


@pytest.fixture(scope="module")
def run(cluster: Any) -> Iterator[dict[str, Any]]:
    """The harness once for the module, on a database of its own (1 m radius)."""
    from sqlalchemy import create_engine

    from reporter.ops import migrate, pgcluster
    from tests.conftest import fresh_database, make_app, with_keys

    name, url = fresh_database(cluster)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    application = make_app(url, PRIVACY_RADIUS_M=1)
    with_keys(application)
    try:
        yield harness(application)
    finally:
        application.extensions["reporter.db"].engine.dispose()
        pgcluster.drop_database(cluster, name)


def test_no_planted_count_below_k_is_recovered(run: dict[str, Any]) -> None:
    result: Result = run["result"]
    print({k: v for k, v in run.items() if k.startswith("differencing")})
    assert result.small_bins > 20  # the data did plant small cells
    assert result.pairs > 100 and run["differencing_answers"] > 300
    assert run["differencing_changed_by_publish"] == 0
    assert result.conflicts == 0 and result.shown_below_k == 0
    assert result.recovered_pairs == 0
    assert result.recovered_bins == 0
    assert run["differencing_recovered"] == 0


def test_the_same_attack_breaks_a_naive_publication(run: dict[str, Any]) -> None:
    """Showing every bin of at least k (what the map did before releases): the attacker finds
    small counts by subtraction, so the harness can fail."""
    values, periods = run["values"], run["periods"]
    naive = Knowledge()
    for node, n in values.items():
        if n >= K and not node[2].startswith(NOT):
            naive.learn(node, n)
    result = attack(values, naive, periods)
    assert result.recovered_pairs > 0 and result.recovered_bins > 0


def test_an_attacker_who_knew_which_bins_are_empty_would_do_better(run: dict[str, Any]) -> None:
    """The documented limit (docs/maps.md, "Honest limits"), measured so that it stays known."""
    result = attack(run["values"], run["knowledge"], run["periods"], support_known=True)
    assert result.recovered_pairs == 0 and result.shown_below_k == 0
    print("support known: recovered bins", result.recovered_bins, "of", result.small_bins)
