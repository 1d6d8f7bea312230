"""How a network represents its tasks: task variance per unit, task vectors, compositionality
(Yang et al. 2019; study M). Plain numpy on recorded probe states."""

from .task_space import compositionality, rule_variance, task_vectors

__all__ = ["compositionality", "rule_variance", "task_vectors"]
