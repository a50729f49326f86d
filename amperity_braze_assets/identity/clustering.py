"""Clustering: records joined by strong pairs form one person, with guards.

Connected components alone are fragile: one wrong pair joins two people, and a chain
A~B~C can join A and C although they clearly differ. So every component of three or more
records is checked pair by pair: if any two of its members clearly contradict each other (the
same hard rules that forbid a pair), or it is larger than a person plausibly is, it is rebuilt
greedily: strongest pairs first, never joining two groups that contain a contradicting pair,
never past the size cap. Most components pass the check, so the Python loop only sees the few
that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from .blocking import block_pairs

MAX_CLUSTER_SIZE = 40
# Components up to this size are checked on all member pairs; larger ones only on the
# contradicting pairs blocking found.
ALL_PAIRS_LIMIT = 80


@dataclass
class ClusterResult:
    labels: np.ndarray  # int64 per record: a representative row of its cluster
    components_checked: int
    components_split: int
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


def _greedy_rebuild(
    nodes: np.ndarray,
    edge_left: list[int],
    edge_right: list[int],
    conflicts: dict[int, set[int]],
    max_size: int,
) -> dict[int, int]:
    """Rebuild flagged components: edges in the given order (strongest first within each
    component), joining two groups only when no member of one contradicts a member of the
    other and the result fits the cap. Components are disjoint, so one pass serves them all.
    Returns each node's new representative (the smallest node of its group)."""
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


def cluster(
    size: int,
    edges: pl.DataFrame,
    forbidden: pl.DataFrame,
    is_forbidden: Callable[[np.ndarray, np.ndarray], np.ndarray],
    max_cluster_size: int = MAX_CLUSTER_SIZE,
) -> ClusterResult:
    """Cluster ``size`` records.

    edges: ``left``, ``right``, ``priority`` (higher first) of the pairs that match.
    forbidden: ``left``, ``right`` of candidate pairs that must never share a cluster.
    is_forbidden: scores any further pairs (member pairs of a component) against the same rules.
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

    # Contradictions inside components: blocked pairs found forbidden, plus every member
    # pair of components small enough to check exhaustively.
    forbidden_left = forbidden.get_column("left").to_numpy().astype(np.int64)
    forbidden_right = forbidden.get_column("right").to_numpy().astype(np.int64)
    inside = labels[forbidden_left] == labels[forbidden_right]
    conflict_left = [forbidden_left[inside]]
    conflict_right = [forbidden_right[inside]]
    checkable = multi & (component_size <= ALL_PAIRS_LIMIT)
    member_left, member_right = block_pairs(np.where(checkable, labels, -1), ALL_PAIRS_LIMIT)
    if member_left.size:
        contradicts = is_forbidden(member_left, member_right)
        conflict_left.append(member_left[contradicts])
        conflict_right.append(member_right[contradicts])
    conflict_left = np.concatenate(conflict_left)
    conflict_right = np.concatenate(conflict_right)
    flagged = np.zeros(size, dtype=bool)
    flagged[labels[conflict_left]] = True
    flagged[sizes > max_cluster_size] = True
    components_split = int(flagged.sum())
    if components_split == 0:
        return ClusterResult(labels, components_checked, 0, supersized)

    nodes = np.flatnonzero(flagged[labels])
    in_flagged = flagged[labels[left]]
    edge_left, edge_right = left[in_flagged], right[in_flagged]
    priority = edges.get_column("priority").to_numpy()[in_flagged]
    order = np.lexsort((edge_right, edge_left, -priority, labels[edge_left]))
    conflict_map: dict[int, set[int]] = {}
    for a, b in zip(conflict_left.tolist(), conflict_right.tolist(), strict=True):
        conflict_map.setdefault(a, set()).add(b)
        conflict_map.setdefault(b, set()).add(a)
    assignment = _greedy_rebuild(
        nodes,
        edge_left[order].tolist(),
        edge_right[order].tolist(),
        conflict_map,
        max_cluster_size,
    )
    new_labels = labels.copy()
    new_labels[np.fromiter(assignment.keys(), dtype=np.int64, count=len(assignment))] = np.fromiter(
        assignment.values(), dtype=np.int64, count=len(assignment)
    )
    return ClusterResult(new_labels, components_checked, components_split, supersized)
