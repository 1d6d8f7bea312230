"""HDF5 files of the pipeline: atomic writing, checked reading, one module per file kind."""

from .h5io import ForeignFileError, atomic_h5, open_h5

__all__ = ["ForeignFileError", "atomic_h5", "open_h5"]
