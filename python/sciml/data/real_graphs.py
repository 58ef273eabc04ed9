"""Small real networks shipped inside the package (no download): Zachary's karate club and
the Les Misérables co-appearance network.

The files (``sciml/data/networks/*.csv``) are the graphs as networkx 3.6 ships them, with
nodes numbered in networkx's order; each file's first line names the source.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sciml.graph.backbone import Graph


@dataclass(frozen=True)
class Network:
    """An undirected weighted network.

    Attributes:
        name: the data set's name.
        edge_index: (2, E) int64, each undirected edge once (``src < dst``).
        edge_weight: (E,) float64 weights.
        node_names: the n node names.
        labels: (n,) int64 class of each node, or None.
        label_names: the name of each class (``labels`` indexes it).
        source: where the data come from.
    """

    name: str
    edge_index: np.ndarray
    edge_weight: np.ndarray
    node_names: list[str]
    labels: np.ndarray | None
    label_names: list[str]
    source: str

    @property
    def num_nodes(self) -> int:
        return len(self.node_names)

    def both_directions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edge_index, edge_weight)`` with every edge in both directions (2, 2E), as
        message-passing models take them."""
        ei = np.hstack([self.edge_index, self.edge_index[::-1]])
        return ei, np.concatenate([self.edge_weight, self.edge_weight])

    def graph(self) -> Graph:
        """The symmetric :class:`sciml.graph.Graph` (n nodes, node ids 0..n-1)."""
        from sciml.graph.backbone import Graph

        ei, w = self.both_directions()
        return Graph.from_edge_index(ei, w, num_nodes=self.num_nodes)

    def to_networkx(self) -> Any:
        """A ``networkx.Graph`` with node names, ``weight`` on edges and ``label`` on nodes
        (needs networkx)."""
        import networkx as nx

        g = nx.Graph(name=self.name)
        for i, name in enumerate(self.node_names):
            attrs = {} if self.labels is None else {"label": self.label_names[self.labels[i]]}
            g.add_node(name, **attrs)
        for (i, j), w in zip(self.edge_index.T, self.edge_weight, strict=True):
            g.add_edge(self.node_names[i], self.node_names[j], weight=float(w))
        return g


def _rows(filename: str) -> tuple[str, list[list[str]]]:
    text = resources.files("sciml.data").joinpath("networks", filename).read_text("utf-8")
    lines = text.splitlines()
    source = lines[0].removeprefix("# ").strip()
    rows = list(csv.reader(lines[2:]))  # after the comment and the header
    return source, rows


def _load(name: str, title: str) -> Network:
    source, nodes = _rows(f"{name}.nodes.csv")
    _, edges = _rows(f"{name}.edges.csv")
    names = [row[1] for row in nodes]
    raw = [row[2] for row in nodes]
    label_names = sorted(set(raw)) if any(raw) else []
    labels = np.array([label_names.index(x) for x in raw], dtype=np.int64) if label_names else None
    ei = np.array([[int(r[0]) for r in edges], [int(r[1]) for r in edges]], dtype=np.int64)
    w = np.array([float(r[2]) for r in edges], dtype=np.float64)
    return Network(title, ei, w, names, labels, label_names, source)


def karate_club() -> Network:
    """Zachary's karate club: 34 members, 78 weighted friendships; ``labels`` is the club
    each member joined after the split (``label_names`` ``["Mr. Hi", "Officer"]``)."""
    return _load("karate_club", "Zachary's karate club")


def les_miserables() -> Network:
    """Les Misérables: 77 characters, 254 edges weighted by shared chapters (no labels)."""
    return _load("les_miserables", "Les Misérables co-appearances")
