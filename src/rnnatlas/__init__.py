"""rnnatlas: train, reverse-engineer and compare whole populations of recurrent networks."""

__version__ = "0.1.0"
