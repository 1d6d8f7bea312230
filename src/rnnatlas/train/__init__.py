"""Training whole populations: per-network optimizers, the training loop, hyperparameter search."""

from .hyperparameters import Hyperparameters
from .optim import PopulationOptimizer
from .trainer import PopulationTrainer, TrainSettings

__all__ = ["Hyperparameters", "PopulationOptimizer", "PopulationTrainer", "TrainSettings"]
