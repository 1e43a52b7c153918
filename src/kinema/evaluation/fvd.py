"""Fréchet video distance in the world classifier's features.

FVD (Unterthiner et al., 2018) fits a Gaussian to the features of each set of clips and takes
the Fréchet distance between the two fits:

    d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))

Here the features come from world_classifier.py instead of I3D, so numbers are comparable only
with other FVDs from the same classifier weights. Like FID, the estimate is biased upwards for
small sets: compare FVDs over equally many clips (the eval reports a rendered-vs-rendered floor
at the same size for scale).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EPSILON = 1e-6  # added to the diagonals when the product's square root is not finite (as pytorch-fid does)


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D), float64, of features (N, D); N = 1 gives a zero covariance."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 1:
        raise ValueError(f"features must be (N, D) with N >= 1; got shape {features.shape}")
    mean = features.mean(axis=0)
    if len(features) == 1:
        return mean, np.zeros((features.shape[1], features.shape[1]))
    return mean, np.cov(features, rowvar=False)


def trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray, use_scipy: bool | None = None) -> float:
    """tr((S_a S_b)^(1/2)) for covariance matrices; scipy's sqrtm when installed, else symmetric eigendecompositions."""
    if use_scipy is None:
        try:
            import scipy.linalg  # noqa: F401
        except ImportError:
            use_scipy = False
        else:
            use_scipy = True
    if use_scipy:
        return _trace_sqrt_scipy(sigma_a, sigma_b)
    return _trace_sqrt_eigh(sigma_a, sigma_b)


def _trace_sqrt_scipy(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """scipy.linalg.sqrtm of the product, retried with a small diagonal offset when singular (pytorch-fid's recipe)."""
    from scipy import linalg

    root = linalg.sqrtm(sigma_a @ sigma_b)
    if not np.isfinite(root).all():
        offset = np.eye(len(sigma_a)) * EPSILON
        root = linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    if np.iscomplexobj(root):
        # Rounding leaves tiny imaginary parts; large ones mean the inputs were not covariances.
        if np.abs(np.diagonal(root).imag).max() > 1e-3 * max(1.0, np.abs(np.diagonal(root).real).max()):
            raise ValueError("the covariance product has a large imaginary square root; are both inputs covariance matrices?")
        root = root.real
    return float(np.trace(root))


def _trace_sqrt_eigh(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """S_a^(1/2) S_b S_a^(1/2) is symmetric PSD with the eigenvalues of S_a S_b: sum their square roots."""
    values, vectors = np.linalg.eigh((sigma_a + sigma_a.T) / 2)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ sigma_b @ root_a
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum())


def frechet_distance(mean_a: np.ndarray, sigma_a: np.ndarray, mean_b: np.ndarray, sigma_b: np.ndarray,
                     use_scipy: bool | None = None) -> float:
    """Squared Fréchet distance between two Gaussians; never negative (rounding is clipped at 0)."""
    if mean_a.shape != mean_b.shape or sigma_a.shape != sigma_b.shape:
        raise ValueError(f"Gaussian fits differ in dimension: {mean_a.shape} vs {mean_b.shape}")
    difference = mean_a - mean_b
    trace = np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * trace_sqrt_product(sigma_a, sigma_b, use_scipy)
    return max(0.0, float(difference @ difference + trace))


def feature_distance(features_a: np.ndarray, features_b: np.ndarray, use_scipy: bool | None = None) -> float:
    """Fréchet distance between the Gaussian fits of two feature sets (N_a, D) and (N_b, D)."""
    return frechet_distance(*gaussian_fit(features_a), *gaussian_fit(features_b), use_scipy=use_scipy)


def fvd(classifier, clips_a: Sequence[np.ndarray], clips_b: Sequence[np.ndarray], batch: int = 32) -> float:
    """FVD between two sets of uint8 clips (T, H, W, 3), any sizes, in `classifier`'s features."""
    from kinema.evaluation.world_classifier import clip_features

    return feature_distance(clip_features(classifier, clips_a, batch), clip_features(classifier, clips_b, batch))
