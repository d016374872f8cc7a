"""The fixed lattice of public bins and the rule that decides which of them a release shows.

Pure Python, no database: reporter/maps/release.py feeds it counts and stores what it returns;
the differencing harness (tests/test_differencing.py) attacks what it returns.

A bin is (period, area, attribute):

- period: a whole month "2026-09", quarter "2026-Q3" or year "2026" (never a range);
- area: the country, a province, or an h3 hexagon of resolution 5 or 6 *within a province*
  (the resolution-5 hexagon of an incident is the parent of its resolution-6 one, so the areas
  form a tree: country > province > r5 > r6);
- attribute: every incident ("*"), one category ("c:<value>") or one perpetrator type
  ("p:<value>"); never two at once.

Every bin is the sum of its children in three ways (relations): by area (country = sum of
provinces, province = sum of its r5 hexagons, r5 = sum of its r6 children), by time (year = sum
of quarters, quarter = sum of months) and by attribute (every incident = those with category c
+ those without it: the "without" bins, written "~c:<value>", are never shown but can be
worked out from the other two, so they take part in the rule like any bin).

The rule (docs/maps.md, "The suppression rule"). The attacker is assumed to know which bins
are non-empty (stronger than reality). Starting from every bin with at least k incidents, the
shown set is reduced until, for every relation whose parent is known (shown, or worked out from
shown bins by repeatedly solving relations with one unknown), the children that are not known
hold 0 or at least k incidents between them. So no single hidden bin, and no union of hidden
bins, with 1 to k-1 incidents follows from a parent and its siblings. When a relation breaks
the rule, the smallest shown child that can still be hidden is hidden (for a "without" bin: its
"with" partner); when no child can be (released earlier, so frozen), the parent is hidden.
Bins of periods released earlier never change and are never hidden afterwards; a new period
must also not make any of their hidden bins known.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import h3

ANY = "*"
RESOLUTIONS = (5, 6)  # public hexagon sizes; 7 (about 5 km2) is not public (docs/maps.md)
NOT = "~"  # prefix of the never-shown "without" attribute bins

Geo = tuple[int, str, str]  # (resolution 0/5/6, province or ANY, cell or ANY)
Node = tuple[str, Geo, str]  # (period, geo, attribute)
NATIONAL: Geo = (0, ANY, ANY)

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_YEAR = re.compile(r"([0-9]{4})")


@dataclass(frozen=True)
class Period:
    kind: str  # month, quarter, year
    label: str
    months: tuple[dt.date, ...]

    @property
    def first(self) -> dt.date:
        return self.months[0]

    @property
    def last(self) -> dt.date:
        return self.months[-1]

    def children(self) -> list[Period]:
        """The periods it is the sum of: a year's quarters, a quarter's months."""
        if self.kind == "year":
            return [quarter_of(dt.date(self.first.year, 3 * q + 1, 1)) for q in range(4)]
        if self.kind == "quarter":
            return [month_period(m) for m in self.months]
        return []


def month_label(m: dt.date) -> str:
    return f"{m.year:04d}-{m.month:02d}"


def month_period(m: dt.date) -> Period:
    first = dt.date(m.year, m.month, 1)
    return Period("month", month_label(first), (first,))


def quarter_of(m: dt.date) -> Period:
    q = (m.month - 1) // 3
    months = tuple(dt.date(m.year, 3 * q + i + 1, 1) for i in range(3))
    return Period("quarter", f"{m.year:04d}-Q{q + 1}", months)


def year_of(m: dt.date) -> Period:
    return Period("year", f"{m.year:04d}", tuple(dt.date(m.year, i, 1) for i in range(1, 13)))


def parse_period(text: str) -> Period | None:
    """A period label, or None when it is none (a range, a day, a typo)."""
    if m := _MONTH.fullmatch(text):
        year, month = int(m.group(1)), int(m.group(2))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return month_period(dt.date(year, month, 1))
    elif m := _QUARTER.fullmatch(text):
        year = int(m.group(1))
        if 2000 <= year <= 2100:
            return quarter_of(dt.date(year, 3 * int(m.group(2)) - 2, 1))
    elif m := _YEAR.fullmatch(text):
        year = int(m.group(1))
        if 2000 <= year <= 2100:
            return year_of(dt.date(year, 1, 1))
    return None


def add_months(m: dt.date, n: int) -> dt.date:
    index = m.year * 12 + m.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def attribute_key(category: str | None, perpetrator: str | None) -> str:
    if category:
        return f"c:{category}"
    if perpetrator:
        return f"p:{perpetrator}"
    return ANY


_parents: dict[str, str] = {}


def parent5(cell6: str) -> str:
    got = _parents.get(cell6)
    if got is None:
        got = _parents[cell6] = h3.cell_to_parent(cell6, 5)
    return got


def geos_of(province: str, cell6: str | None) -> list[Geo]:
    out: list[Geo] = [NATIONAL, (0, province, ANY)]
    if cell6:
        out += [(5, province, parent5(cell6)), (6, province, cell6)]
    return out


def geo_parent(g: Geo) -> Geo | None:
    res, province, cell = g
    if res == 6:
        return (5, province, parent5(cell))
    if res == 5:
        return (0, province, ANY)
    if province != ANY:
        return NATIONAL
    return None


CountRow = tuple[str, str | None, Sequence[str], Sequence[str], int]


def month_counts(rows: Iterable[CountRow]) -> dict[tuple[Geo, str], int]:
    """(geo, attribute) -> incidents of one month, from rows (province, r6 cell, categories,
    perpetrators, number of incidents); includes the "without" bins. Non-empty bins only."""
    counts: dict[tuple[Geo, str], int] = defaultdict(int)
    for province, cell6, categories, perpetrators, n in rows:
        attrs = [ANY, *{f"c:{c}" for c in categories}, *{f"p:{p}" for p in perpetrators}]
        for g in geos_of(province, cell6):
            for a in attrs:
                counts[(g, a)] += n
    return with_complements(counts)


def with_complements(counts: dict[tuple[Geo, str], int]) -> dict[tuple[Geo, str], int]:
    out = {key: n for key, n in counts.items() if n and not key[1].startswith(NOT)}
    for (g, a), n in list(out.items()):
        if a != ANY:
            rest = out[(g, ANY)] - n
            if rest > 0:
                out[(g, NOT + a)] = rest
    return out


def add_counts(parts: Iterable[dict[tuple[Geo, str], int]]) -> dict[tuple[Geo, str], int]:
    total: dict[tuple[Geo, str], int] = defaultdict(int)
    for part in parts:
        for key, n in part.items():
            if not key[1].startswith(NOT):
                total[key] += n
    return with_complements(total)


def is_virtual(node: Node) -> bool:
    return node[2].startswith(NOT)


def relations(values: dict[Node, int], periods: dict[str, Period]) -> list[tuple[Node, list[Node]]]:
    """Every (parent, children) relation among the non-empty bins of the given periods."""
    groups: dict[tuple[str, Node, str], list[Node]] = defaultdict(list)
    ups: dict[str, str] = {}
    for label, p in periods.items():
        if p.kind == "month":
            ups[label] = quarter_of(p.first).label
        elif p.kind == "quarter":
            ups[label] = year_of(p.first).label
    geo_parents: dict[Geo, Geo | None] = {}
    for node in values:
        period, g, a = node
        if g not in geo_parents:
            geo_parents[g] = geo_parent(g)
        parent = geo_parents[g]
        if parent is not None:
            groups[("geo", (period, parent, a), "")].append(node)
        if a != ANY:
            base = a[len(NOT) :] if a.startswith(NOT) else a
            groups[("attr", (period, g, ANY), base)].append(node)
        up = ups.get(period, "")
        if up in periods:
            groups[("time", (up, g, a), "")].append(node)
    out: list[tuple[Node, list[Node]]] = []
    for (_kind, whole, _base), children in groups.items():
        if whole in values:
            out.append((whole, sorted(children)))
    return out


class _Graph:
    """Bins as numbers, relations as lists, and who takes part in which relation."""

    def __init__(self, values: dict[Node, int], rels: list[tuple[Node, list[Node]]]) -> None:
        self.nodes = list(values)
        self.index = {node: i for i, node in enumerate(self.nodes)}
        self.value = [values[node] for node in self.nodes]
        self.rels = [(self.index[p], [self.index[c] for c in cs]) for p, cs in rels]
        self.member: list[list[int]] = [[] for _ in self.nodes]
        for r, (p, cs) in enumerate(self.rels):
            self.member[p].append(r)
            for c in cs:
                self.member[c].append(r)

    def known(self, shown: set[int]) -> set[int]:
        """Shown bins and every bin that follows from them: a relation with a known parent
        and one unknown child gives that child; one with every child known gives the parent.
        self.why[bin] is the relation each derived bin follows from."""
        known = set(shown)
        self.why: dict[int, int] = {}
        queue = list(range(len(self.rels)))
        queued = set(queue)
        while queue:
            r = queue.pop()
            queued.discard(r)
            p, cs = self.rels[r]
            new = None
            unknown = [c for c in cs if c not in known]
            if p in known:
                if len(unknown) == 1:
                    new = unknown[0]
            elif not unknown:
                new = p
            if new is not None:
                known.add(new)
                self.why[new] = r
                for r2 in self.member[new]:
                    if r2 not in queued:
                        queued.add(r2)
                        queue.append(r2)
        return known

    def violations(self, known: set[int], k: int) -> list[int]:
        out = []
        for r, (p, cs) in enumerate(self.rels):
            if p in known:
                rest = sum(self.value[c] for c in cs if c not in known)
                if 0 < rest < k:
                    out.append(r)
        return out


class _Suppression:
    """One release's choice of the new bins to show: `shown` starts with every new bin of at
    least k (and the released shown bins) and loses bins until nothing below k follows."""

    def __init__(self, graph: _Graph, new: set[str], k: int, frozen_shown: set[Node]) -> None:
        self.graph, self.k = graph, k
        n = len(graph.nodes)
        self.mutable = [
            graph.nodes[i][0] in new and not is_virtual(graph.nodes[i]) for i in range(n)
        ]
        self.shown = {
            i
            for i in range(n)
            if (self.mutable[i] and graph.value[i] >= k) or graph.nodes[i] in frozen_shown
        }
        self.is_new = [graph.nodes[i][0] in new for i in range(n)]
        self.baseline = graph.known({i for i in range(n) if graph.nodes[i] in frozen_shown})
        self.frozen_hidden = {
            i for i in range(n) if graph.nodes[i][0] not in new and i not in self.baseline
        }

    def hideable(self, i: int) -> int | None:
        if i in self.shown and self.mutable[i]:
            return i
        node = self.graph.nodes[i]
        if is_virtual(node):
            partner = self.graph.index.get((node[0], node[1], node[2][len(NOT) :]))
            if partner is not None and partner in self.shown and self.mutable[partner]:
                return partner
        return None

    def problems(self, known: set[int]) -> tuple[list[int], list[int], list[int]]:
        """The broken relations, the leaked released bins and the small known bins."""
        graph, k = self.graph, self.k
        broken = [
            r
            for r in graph.violations(known, k)
            if not all(
                not self.is_new[m] and (m in self.baseline or m not in known)
                for m in (graph.rels[r][0], *graph.rels[r][1])
            )
        ]
        # a released period's hidden bin must stay hidden: a new period may not reveal it
        leaked = [i for i in self.frozen_hidden if i in known]
        # a bin below k that follows from its relations (e.g. "all" minus "with c")
        # (one that earlier releases already give away cannot be helped here)
        small = [i for i in known if graph.value[i] < k and i not in self.baseline]
        return broken, leaked, small

    def _smallest(self, picks: list[int]) -> int:
        return min(picks, key=lambda j: (self.graph.value[j], j))

    def _around(self, nodes: list[int]) -> set[int]:
        return _around(self.graph, nodes, self.shown, self.mutable)

    def hide_for_small(self, i: int, known: set[int]) -> set[int]:
        graph = self.graph
        for r in graph.member[i]:
            p, cs = graph.rels[r]
            if all(m in known for m in (p, *cs) if m != i):
                picks = [h for m in cs if m != i and (h := self.hideable(m)) is not None]
                if not picks and p != i and (h := self.hideable(p)) is not None:
                    picks = [h]
                if picks:
                    return {self._smallest(picks)}
        return _sources(graph, i, self.shown, self.mutable) or self._around([i])

    def hide_for_broken(self, r: int, known: set[int]) -> set[int]:
        p, cs = self.graph.rels[r]
        picks = [h for c in cs if c in known and (h := self.hideable(c)) is not None]
        if not picks and (h := self.hideable(p)) is not None:
            picks = [h]
        return {self._smallest(picks)} if picks else self._around([p, *cs])

    def to_hide(
        self, known: set[int], broken: list[int], leaked: list[int], small: list[int]
    ) -> set[int]:
        hide: set[int] = set()
        for i in small:
            hide |= self.hide_for_small(i, known)
        for r in broken:
            hide |= self.hide_for_broken(r, known)
        for i in leaked:
            hide |= _sources(self.graph, i, self.shown, self.mutable) or self._around([i])
        if not hide:
            # nothing near the problem is left to hide: widen to every new bin (showing no
            # new bin at all is always safe)
            hide = {i for i in self.shown if self.mutable[i]}
        return hide


def choose_shown(
    values: dict[Node, int],
    periods: dict[str, Period],
    new: set[str],
    k: int,
    frozen_shown: set[Node],
) -> set[Node]:
    """The bins of the periods in `new` to show. `values` holds the non-empty bins of the new
    periods and of the released periods they are sums of (whose shown bins are
    `frozen_shown`); those released bins never change."""
    graph = _Graph(values, relations(values, periods))
    run = _Suppression(graph, new, k, frozen_shown)
    for _round in range(10_000):
        known = graph.known(run.shown)
        broken, leaked, small = run.problems(known)
        if not broken and not leaked and not small:
            break
        hide = run.to_hide(known, broken, leaked, small)
        if not hide:
            break  # only earlier releases' bins are involved: nothing this release can do
        run.shown -= hide
    else:  # pragma: no cover - each round hides at least one bin
        raise RuntimeError("suppression did not settle")
    # a hidden bin that follows from the shown ones anyway tells nothing new: show it
    known = graph.known(run.shown)
    return {graph.nodes[i] for i in known if run.mutable[i] and graph.value[i] >= k}


def _sources(graph: _Graph, i: int, shown: set[int], mutable: list[bool]) -> set[int]:
    """The smallest shown, changeable bin on the chain of relations that `i` follows from."""
    seen, frontier = {i}, [i]
    for _depth in range(64):
        picks, nxt = [], []
        for x in frontier:
            r = graph.why.get(x)
            if r is None:
                continue
            p, cs = graph.rels[r]
            for m in (p, *cs):
                if m in seen:
                    continue
                seen.add(m)
                if m in shown and mutable[m]:
                    picks.append(m)
                elif m in graph.why:
                    nxt.append(m)
        if picks:
            return {min(picks, key=lambda j: (graph.value[j], j))}
        if not nxt:
            return set()
        frontier = nxt
    return set()


def _around(graph: _Graph, members: list[int], shown: set[int], mutable: list[bool]) -> set[int]:
    """Every shown, changeable bin in a relation with one of `members` (the fallback when the
    relation itself has nothing left to hide)."""
    out = set()
    for m in members:
        for r in graph.member[m]:
            p, cs = graph.rels[r]
            out |= {i for i in (p, *cs) if i in shown and mutable[i]}
    return out
