"""Populations of recurrent networks: K same-shape networks stepped as one batched computation."""

from .activations import ACTIVATIONS, get_activation
from .cells import CELLS, Cell, get_cell
from .population import RNNPopulation

__all__ = ["ACTIVATIONS", "CELLS", "Cell", "RNNPopulation", "get_activation", "get_cell"]
