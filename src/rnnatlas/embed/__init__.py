"""Low-dimensional embeddings and classifiers of network populations (MDS of distance matrices)."""

from .mds import MDSResult, kruskal_stress, mds_embedding

__all__ = ["MDSResult", "kruskal_stress", "mds_embedding"]
