"""Clustering: records joined by links form one person, with guards.

Connected components alone are fragile: one wrong link joins two people, and a chain
A~B~C can join A and C although they clearly differ. A cluster is only as good as its weakest
link, so every component of three or more records is checked pair by pair
(``rules.pair_rules``' conflicts: two people by the household rules, however the chain between them
runs; or an ``sk`` or a steward's ``never_merge`` between them), and a component with a
conflict is split:

- Records an assertion joins (a shared foreign key, a steward's ``always_merge``) are one unit:
  their values are one person's aliases, so a record conflicts with a unit only where it
  conflicts with more of its members than it links to. A hard conflict (an ``sk`` or
  ``never_merge``) is never crossed, not even by an assertion.
- The component is rebuilt from its strongest links down: two groups join along a link only
  when nothing in one conflicts with anything in the other. So the core is what the strongest
  evidence says, and a record at odds with it (joined only through a chain) stays out: Jr's
  records join Jr, Sr's join Sr, and the one record that could be either goes where its
  strongest link is.

A component larger than a person plausibly is, is rebuilt greedily under the size cap. Most
components pass the check, so the Python loops only see the few that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from .blocking import block_pairs
from .rules import HARD

MAX_CLUSTER_SIZE = 40
# Components up to this size are checked on all member pairs; larger ones only on the
# conflicting pairs blocking found.
ALL_PAIRS_LIMIT = 80


@dataclass
class ClusterResult:
    labels: np.ndarray  # int64 per record: a representative row of its cluster
    components_checked: int
    components_split: int  # components a conflict split in two or more
    supersized: int  # components larger than the size cap before the guard


def connected_components(size: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label per node: the smallest node index of its component (hooking + pointer jumping)."""
    labels = np.arange(size, dtype=np.int64)
    if left.size == 0:
        return labels
    left = left.astype(np.int64)
    right = right.astype(np.int64)
    while True:
        label_left = labels[left]
        label_right = labels[right]
        differ = label_left != label_right
        if not differ.any():
            return labels
        low = np.minimum(label_left[differ], label_right[differ])
        high = np.maximum(label_left[differ], label_right[differ])
        np.minimum.at(labels, high, low)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


class _Component:
    """One flagged component: its units, the evidence between them and their conflicts."""

    def __init__(
        self,
        nodes: list[int],
        edges: list[tuple[int, int, float, bool]],
        conflicts: list[tuple[int, int, int]],
    ):
        # Units: records joined by assertions, never across a hard conflict.
        parent = {node: node for node in nodes}
        members = {node: {node} for node in nodes}
        hard: dict[int, set[int]] = {}
        for a, b, code in conflicts:
            if code == HARD:
                hard.setdefault(a, set()).add(b)
                hard.setdefault(b, set()).add(a)

        def find(node: int) -> int:
            while parent[node] != node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        for a, b, _, asserted in sorted(edges, key=lambda edge: (-edge[2], edge[0], edge[1])):
            if not asserted:
                continue
            root_a, root_b = find(a), find(b)
            if root_a == root_b:
                continue
            if any(
                not hard.get(node, _EMPTY).isdisjoint(members[root_b]) for node in members[root_a]
            ):
                continue
            root, child = (root_a, root_b) if root_a < root_b else (root_b, root_a)
            parent[child] = root
            members[root] |= members.pop(child)
        self.members = members
        unit = {node: find(node) for node in nodes}
        # Between two units: links (with the strongest evidence) and conflicts, counted.
        self.link_weight: dict[int, dict[int, float]] = {}
        link_count: dict[tuple[int, int], int] = {}
        for a, b, weight, _ in edges:
            ua, ub = unit[a], unit[b]
            if ua == ub:
                continue
            for x, y in ((ua, ub), (ub, ua)):
                row = self.link_weight.setdefault(x, {})
                row[y] = max(row.get(y, -np.inf), weight)
            key = (min(ua, ub), max(ua, ub))
            link_count[key] = link_count.get(key, 0) + 1
        conflict_count: dict[tuple[int, int], int] = {}
        hard_units: set[tuple[int, int]] = set()
        for a, b, code in conflicts:
            ua, ub = unit[a], unit[b]
            if ua == ub:
                continue
            key = (min(ua, ub), max(ua, ub))
            conflict_count[key] = conflict_count.get(key, 0) + 1
            if code == HARD:
                hard_units.add(key)
        self.conflicts: dict[int, set[int]] = {}
        for key, count in conflict_count.items():
            if key in hard_units or count > link_count.get(key, 0):
                self.conflicts.setdefault(key[0], set()).add(key[1])
                self.conflicts.setdefault(key[1], set()).add(key[0])

    def groups(self) -> list[list[int]]:
        """The records of the component in groups with no conflict inside: units joined along
        their links, strongest first, never two groups with a conflict between them."""
        parent = {unit: unit for unit in self.members}
        group = {unit: {unit} for unit in self.members}

        def find(unit: int) -> int:
            while parent[unit] != unit:
                parent[unit] = parent[parent[unit]]
                unit = parent[unit]
            return unit

        links = sorted(
            (
                (weight, a, b)
                for a, row in self.link_weight.items()
                for b, weight in row.items()
                if a < b
            ),
            key=lambda link: (-link[0], link[1], link[2]),
        )
        for _, a, b in links:
            root_a, root_b = find(a), find(b)
            if root_a == root_b:
                continue
            group_a, group_b = group[root_a], group[root_b]
            if any(not self.conflicts.get(u, _EMPTY).isdisjoint(group_b) for u in group_a):
                continue
            root, child = (root_a, root_b) if root_a < root_b else (root_b, root_a)
            parent[child] = root
            group[root] = group_a | group_b
            del group[child]
        return [
            sorted(node for unit in units for node in self.members[unit])
            for units in group.values()
        ]


def _greedy_rebuild(
    nodes: np.ndarray,
    edge_left: list[int],
    edge_right: list[int],
    conflicts: dict[int, set[int]],
    max_size: int,
) -> dict[int, int]:
    """Rebuild components: edges in the given order (strongest first within each component),
    joining two groups only when no member of one conflicts with a member of the other and the
    result fits the cap. Components are disjoint, so one pass serves them all. Returns each
    node's new representative (the smallest node of its group)."""
    parent = {int(node): int(node) for node in nodes}
    group: dict[int, set[int]] = {int(node): {int(node)} for node in nodes}

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in zip(edge_left, edge_right, strict=True):
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            continue
        group_a, group_b = group[root_a], group[root_b]
        if len(group_a) + len(group_b) > max_size:
            continue
        if len(group_a) > len(group_b):
            group_a, group_b = group_b, group_a
        if any(not conflicts.get(node, _EMPTY).isdisjoint(group_b) for node in group_a):
            continue
        root, child = (root_a, root_b) if root_a < root_b else (root_b, root_a)
        parent[child] = root
        group[root] = group_a | group_b
        del group[child]
    return {node: find(node) for node in parent}


_EMPTY: frozenset[int] = frozenset()


def _conflicts_inside(
    labels: np.ndarray,
    checkable: np.ndarray,
    conflicts: pl.DataFrame,
    conflict_codes: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The conflicts inside components, as (left, right, code) with left < right, each pair once
    and sorted: the candidate pairs found conflicting, plus every member pair of the
    ``checkable`` records' components (small enough to check exhaustively)."""
    conflict_left = conflicts.get_column("left").to_numpy().astype(np.int64)
    conflict_right = conflicts.get_column("right").to_numpy().astype(np.int64)
    conflict_code = conflicts.get_column("code").to_numpy().astype(np.int8)
    inside = labels[conflict_left] == labels[conflict_right]
    found_left, found_right, found_code = (
        [conflict_left[inside]],
        [conflict_right[inside]],
        [conflict_code[inside]],
    )
    member_left, member_right = block_pairs(np.where(checkable, labels, -1), ALL_PAIRS_LIMIT)
    if member_left.size:
        codes = conflict_codes(member_left, member_right)
        conflicting = codes > 0
        found_left.append(member_left[conflicting])
        found_right.append(member_right[conflicting])
        found_code.append(codes[conflicting])
    # A pair found both ways counts once (with its harder code).
    distinct = (
        pl.DataFrame(
            {
                "left": np.concatenate(found_left),
                "right": np.concatenate(found_right),
                "code": np.concatenate(found_code),
            }
        )
        .select(
            pl.min_horizontal("left", "right").alias("left"),
            pl.max_horizontal("left", "right").alias("right"),
            "code",
        )
        .group_by("left", "right")
        .agg(pl.col("code").max())
        .sort("left", "right")
    )
    return (
        distinct.get_column("left").to_numpy(),
        distinct.get_column("right").to_numpy(),
        distinct.get_column("code").to_numpy(),
    )


@dataclass
class _Flagged:
    """The links and conflicts of the components that need a rebuild, by component label."""

    edge_left: np.ndarray
    edge_right: np.ndarray
    weight: np.ndarray
    asserted: np.ndarray
    edges_of: dict[int, list[tuple[int, int, float, bool]]]
    conflicts_of: dict[int, list[tuple[int, int, int]]]

    @classmethod
    def gather(
        cls,
        labels: np.ndarray,
        flagged: np.ndarray,
        edges: pl.DataFrame,
        left: np.ndarray,
        right: np.ndarray,
        conflict: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> _Flagged:
        in_flagged = flagged[labels[left]]
        edge_left, edge_right = left[in_flagged], right[in_flagged]
        weight = edges.get_column("weight").to_numpy()[in_flagged]
        asserted = edges.get_column("asserted").to_numpy()[in_flagged]
        edges_of: dict[int, list] = {}
        for label, a, b, w, f in zip(
            labels[edge_left].tolist(),
            edge_left.tolist(),
            edge_right.tolist(),
            weight.tolist(),
            asserted.tolist(),
            strict=True,
        ):
            edges_of.setdefault(label, []).append((a, b, w, f))
        conflict_left, conflict_right, conflict_code = conflict
        conflicts_of: dict[int, list] = {}
        for label, a, b, c in zip(
            labels[conflict_left].tolist(),
            conflict_left.tolist(),
            conflict_right.tolist(),
            conflict_code.tolist(),
            strict=True,
        ):
            conflicts_of.setdefault(label, []).append((a, b, c))
        return cls(edge_left, edge_right, weight, asserted, edges_of, conflicts_of)


def _split_components(
    labels: np.ndarray, flagged: np.ndarray, found: _Flagged, max_cluster_size: int
) -> tuple[np.ndarray, list[int], int]:
    """Each flagged component rebuilt from its strongest links down (``_Component``): the new
    labels, the records of groups still over the size cap and how many components split."""
    nodes = np.flatnonzero(flagged[labels])
    order = np.argsort(labels[nodes], kind="stable")
    ordered = nodes[order]
    bounds = np.flatnonzero(np.r_[True, labels[ordered][1:] != labels[ordered][:-1], True])
    new_labels = labels.copy()
    oversized: list[int] = []
    components_split = 0
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        label = int(labels[ordered[start]])
        component = _Component(
            ordered[start:end].tolist(),
            found.edges_of.get(label, []),
            found.conflicts_of.get(label, []),
        )
        groups = component.groups()
        components_split += len(groups) > 1
        for group in groups:
            new_labels[group] = group[0]
            if len(group) > max_cluster_size:
                oversized.extend(group)
    return new_labels, oversized, components_split


def _cap_oversized(
    new_labels: np.ndarray,
    oversized: list[int],
    found: _Flagged,
    conflict: tuple[np.ndarray, np.ndarray, np.ndarray],
    max_cluster_size: int,
) -> None:
    """Groups too large for one person, rebuilt greedily in place: strongest links (asserted
    first) under the cap, never across a hard conflict."""
    edge_left, edge_right = found.edge_left, found.edge_right
    members = np.asarray(oversized, dtype=np.int64)
    inside = np.isin(edge_left, members) & (new_labels[edge_left] == new_labels[edge_right])
    priority = np.where(found.asserted, found.weight + 1e6, found.weight)[inside]
    a, b = edge_left[inside], edge_right[inside]
    order = np.lexsort((b, a, -priority, new_labels[a]))
    conflict_left, conflict_right, conflict_code = conflict
    hard: dict[int, set[int]] = {}
    for x, y, c in zip(
        conflict_left.tolist(), conflict_right.tolist(), conflict_code.tolist(), strict=True
    ):
        if c == HARD:
            hard.setdefault(x, set()).add(y)
            hard.setdefault(y, set()).add(x)
    assignment = _greedy_rebuild(
        members, a[order].tolist(), b[order].tolist(), hard, max_cluster_size
    )
    new_labels[np.fromiter(assignment.keys(), dtype=np.int64, count=len(assignment))] = np.fromiter(
        assignment.values(), dtype=np.int64, count=len(assignment)
    )


def cluster(
    size: int,
    edges: pl.DataFrame,
    conflicts: pl.DataFrame,
    conflict_codes: Callable[[np.ndarray, np.ndarray], np.ndarray],
    max_cluster_size: int = MAX_CLUSTER_SIZE,
) -> ClusterResult:
    """Cluster ``size`` records.

    edges: ``left``, ``right``, ``weight`` (evidence, bits), ``asserted`` (an fk or a steward
    joins them) of the pairs that link.
    conflicts: ``left``, ``right``, ``code`` (SOFT or HARD) of candidate pairs that may not
    share a cluster. conflict_codes: the same codes for any further pairs (the member pairs of
    a component).
    """
    left = edges.get_column("left").to_numpy().astype(np.int64)
    right = edges.get_column("right").to_numpy().astype(np.int64)
    labels = connected_components(size, left, right)
    sizes = np.bincount(labels, minlength=size)
    supersized = int((sizes > max_cluster_size).sum())
    component_size = sizes[labels]
    multi = component_size >= 3
    if not multi.any():
        return ClusterResult(labels, 0, 0, supersized)
    components_checked = int(((sizes >= 3) & (np.arange(size) == labels)).sum())

    checkable = multi & (component_size <= ALL_PAIRS_LIMIT)
    conflict = _conflicts_inside(labels, checkable, conflicts, conflict_codes)
    flagged = np.zeros(size, dtype=bool)
    flagged[labels[conflict[0]]] = True
    flagged[sizes > max_cluster_size] = True
    if not flagged.any():
        return ClusterResult(labels, components_checked, 0, supersized)

    found = _Flagged.gather(labels, flagged, edges, left, right, conflict)
    new_labels, oversized, components_split = _split_components(
        labels, flagged, found, max_cluster_size
    )
    if oversized:
        _cap_oversized(new_labels, oversized, found, conflict, max_cluster_size)
    return ClusterResult(new_labels, components_checked, components_split, supersized)
