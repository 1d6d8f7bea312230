"""Activity subspaces for study H: Gaussian predictive information and DCA vs PCA.

:func:`gaussian_predictive_information` (PI, nats, DCA's estimator),
:func:`dca_subspace` (maximally predictive basis, via the ``dca`` package),
:func:`pca_subspace`, :func:`subspace_angles` and :func:`angle_to_vector`.
Activity is [trials, time, N] or a list of [time, N] trials; lags never cross trials.
"""

from .pi import (
    block_toeplitz,
    gaussian_predictive_information,
    lagged_cross_covariances,
    pi_from_cross_covs,
)
from .subspace import angle_to_vector, dca_subspace, pca_subspace, subspace_angles

__all__ = [
    "angle_to_vector",
    "block_toeplitz",
    "dca_subspace",
    "gaussian_predictive_information",
    "lagged_cross_covariances",
    "pca_subspace",
    "pi_from_cross_covs",
    "subspace_angles",
]
