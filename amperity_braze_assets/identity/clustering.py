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


def _greedy_split(
    members: np.ndarray,
    edges: list[tuple[int, int]],
    conflicts: dict[int, set[int]],
    max_size: int,
) -> dict[int, int]:
    """Rebuild one component: edges in priority order, joining two groups only when no member
    of one contradicts a member of the other and the result fits the cap."""
    parent = {int(node): int(node) for node in members}
    group: dict[int, set[int]] = {int(node): {int(node)} for node in members}

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            continue
        group_a, group_b = group[root_a], group[root_b]
        if len(group_a) + len(group_b) > max_size:
            continue
        if len(group_a) > len(group_b):
            group_a, group_b = group_b, group_a
        if any(conflicts.get(node, set()) & group_b for node in group_a):
            continue
        root, child = (root_a, root_b) if root_a < root_b else (root_b, root_a)
        parent[child] = root
        group[root] = group[root_a] | group[root_b]
        del group[child]
    return {node: find(node) for node in parent}


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
    left = edges.get_column("left").to_numpy()
    right = edges.get_column("right").to_numpy()
    labels = connected_components(size, left, right)

    membership = pl.DataFrame({"row": np.arange(size, dtype=np.int64), "label": labels})
    sizes = membership.group_by("label").len()
    supersized = int((sizes.get_column("len") > max_cluster_size).sum())
    multi = membership.join(sizes.filter(pl.col("len") >= 3), on="label")
    if multi.height == 0:
        return ClusterResult(labels, 0, 0, supersized)

    # Contradictions inside components: blocked pairs found forbidden, plus every member
    # pair of components small enough to check exhaustively.
    label_of = pl.DataFrame({"row": np.arange(size, dtype=np.int64), "label": labels})
    known = (
        forbidden.select(pl.col("left").cast(pl.Int64), pl.col("right").cast(pl.Int64))
        .join(label_of.rename({"row": "left", "label": "label_left"}), on="left")
        .join(label_of.rename({"row": "right", "label": "label_right"}), on="right")
        .filter(pl.col("label_left") == pl.col("label_right"))
        .select("left", "right", pl.col("label_left").alias("label"))
    )
    small = multi.filter(pl.col("len") <= ALL_PAIRS_LIMIT).select("row", "label")
    member_pairs = (
        small.join(small, on="label", suffix="_right")
        .filter(pl.col("row") < pl.col("row_right"))
        .select(pl.col("row").alias("left"), pl.col("row_right").alias("right"), "label")
    )
    if member_pairs.height:
        contradicts = is_forbidden(
            member_pairs.get_column("left").to_numpy(), member_pairs.get_column("right").to_numpy()
        )
        member_conflicts = member_pairs.filter(pl.Series(contradicts))
    else:
        member_conflicts = member_pairs
    conflicts = pl.concat([known, member_conflicts]).unique()
    flagged = pl.concat(
        [
            conflicts.select("label"),
            sizes.filter(pl.col("len") > max_cluster_size).select(pl.col("label").cast(pl.Int64)),
        ]
    ).unique()
    components_checked = int(multi.get_column("label").n_unique())
    if flagged.height == 0:
        return ClusterResult(labels, components_checked, 0, supersized)

    flagged_members = membership.join(flagged, on="label").sort("row")
    flagged_edges = (
        edges.with_columns(pl.col("left").cast(pl.Int64), pl.col("right").cast(pl.Int64))
        .join(label_of.rename({"row": "left"}), on="left")
        .join(flagged, on="label")
        .sort(["label", "priority", "left", "right"], descending=[False, True, False, False])
    )
    conflicts_flagged = conflicts.join(flagged, on="label")
    conflict_map: dict[int, set[int]] = {}
    for a, b in conflicts_flagged.select("left", "right").iter_rows():
        conflict_map.setdefault(a, set()).add(b)
        conflict_map.setdefault(b, set()).add(a)

    new_labels = labels.copy()
    members_by_label = flagged_members.group_by("label", maintain_order=True).agg("row")
    edges_by_label = {
        key[0]: list(
            zip(
                frame.get_column("left").to_list(), frame.get_column("right").to_list(), strict=True
            )
        )
        for key, frame in flagged_edges.partition_by(
            "label", as_dict=True, maintain_order=True
        ).items()
    }
    for label, rows in members_by_label.iter_rows():
        assignment = _greedy_split(
            np.asarray(rows), edges_by_label.get(label, []), conflict_map, max_cluster_size
        )
        for node, root in assignment.items():
            new_labels[node] = root
    return ClusterResult(new_labels, components_checked, flagged.height, supersized)
