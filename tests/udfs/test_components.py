"""udfs.components: connected components on the driver, against a plain union-find."""

from __future__ import annotations

import numpy as np

from leakwatch.udfs.components import components


def _union_find_roots(a: list[int], b: list[int]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for x, y in zip(a, b, strict=True):
        rx, ry = find(x), find(y)
        parent[max(rx, ry)] = min(rx, ry)
    return {x: find(x) for x in parent}


def test_components_root_every_node_at_the_smallest_of_its_component() -> None:
    chain = [(i, i + 1) for i in range(10, 60)] + [(200, 150), (150, 300), (7, 8), (-5, 400), (9, 9)]
    a, b = (np.array(side, dtype=np.int64) for side in zip(*chain, strict=True))
    nodes, roots = components(a, b)
    got = dict(zip(nodes.tolist(), roots.tolist(), strict=True))
    assert all(got[i] == 10 for i in range(10, 61))
    assert got[200] == got[300] == got[150] == 150 and got[8] == 7 and got[400] == -5 and got[9] == 9
    rng = np.random.default_rng(1)
    a, b = rng.integers(-(2**62), 2**62, 2000), rng.integers(-(2**62), 2**62, 2000)
    a, b = np.concatenate([a, b[:1500]]), np.concatenate([b, a[500:]])  # chains across the random pairs
    nodes, roots = components(a, b)
    assert dict(zip(nodes.tolist(), roots.tolist(), strict=True)) == _union_find_roots(a.tolist(), b.tolist())
    assert components(np.array([], np.int64), np.array([], np.int64))[0].size == 0
