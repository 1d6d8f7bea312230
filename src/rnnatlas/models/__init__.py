"""Populations of recurrent networks: K same-shape networks stepped as one batched computation."""

from .activations import ACTIVATIONS, get_activation
from .cells import CELLS, Cell, get_cell
from .init import INITIALISATIONS, get_initialisation, register_initialisation
from .masks import MASKS, register_mask, structural_masks
from .population import RNNPopulation

__all__ = [
    "ACTIVATIONS", "CELLS", "Cell", "INITIALISATIONS", "MASKS", "RNNPopulation", "get_activation", "get_cell",
    "get_initialisation", "register_initialisation", "register_mask", "structural_masks",
]
