"""Connected components of a small match graph on the driver, in numpy: what jobs.clusters does in
Spark with large-star / small-star rounds, without a Spark job per round."""

from __future__ import annotations

import numpy as np


def components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, roots) of the undirected graph with edges (a[i], b[i]): every node of an edge, sorted, and the
    smallest node of its component. Each round hooks the larger of two roots an edge joins under the smaller,
    then halves pointers until every node points at a root; done when no edge joins two roots."""
    nodes, index = np.unique(np.concatenate([np.asarray(a, np.int64), np.asarray(b, np.int64)]), return_inverse=True)
    u, v = index[: len(a)], index[len(a) :]
    parent = np.arange(nodes.size)
    while True:
        pu, pv = parent[u], parent[v]
        apart = pu != pv
        if not apart.any():
            return nodes, nodes[parent]
        # Node indices follow node order, so the smaller index is the smaller node: roots only go down.
        np.minimum.at(parent, np.maximum(pu, pv)[apart], np.minimum(pu, pv)[apart])
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
