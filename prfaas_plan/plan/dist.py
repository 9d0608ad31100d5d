"""Length distributions that are both analytic and sampleable.

Every distribution exposes `support`, `cdf`, `ppf`, `mean`, and `sample(rng, n)`; the planner
consumes `discretize(n)`: n equal-probability atoms at the quantile midpoints (u = (i + 0.5) / n).
Expectations E[f(L) 1{L in route}] then become sums over atoms, exact up to O(1/n); the
truncated log-normal also has closed forms (`partial_mean`) used for the paper's
representative lengths. To add a kind: implement `cdf` and `ppf` (vectorised) and `mean`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Arr = NDArray[np.float64]

# Atoms used to evaluate expectations over a length distribution (error O(1/n) in probability).
DEFAULT_ATOMS = 20000


def _ndtr(x: Arr) -> Arr:
    from scipy.special import ndtr

    return np.asarray(ndtr(x), dtype=float)


def _ndtri(p: Arr) -> Arr:
    from scipy.special import ndtri

    return np.asarray(ndtri(p), dtype=float)


class LengthDist:
    support: tuple[float, float]

    def cdf(self, x: ArrayLike) -> Arr:
        raise NotImplementedError

    def ppf(self, q: ArrayLike) -> Arr:
        raise NotImplementedError

    @property
    def mean(self) -> float:
        return float(self.discretize().mean())

    def sample(self, rng: np.random.Generator, n: int) -> Arr:
        return self.ppf(rng.random(n))

    def discretize(self, n: int = DEFAULT_ATOMS) -> Arr:
        return self.ppf((np.arange(n) + 0.5) / n)


@dataclass(frozen=True)
class TruncLogNormal(LengthDist):
    mu: float
    sigma: float
    lo: float
    hi: float

    @property
    def support(self) -> tuple[float, float]:  # type: ignore[override]
        return (self.lo, self.hi)

    def _z(self, x: ArrayLike) -> Arr:
        return (np.log(np.asarray(x, dtype=float)) - self.mu) / self.sigma

    @property
    def _mass(self) -> tuple[float, float]:
        a, b = _ndtr(self._z(self.lo)), _ndtr(self._z(self.hi))
        return float(a), float(b)

    def cdf(self, x: ArrayLike) -> Arr:
        a, b = self._mass
        xc = np.clip(np.asarray(x, dtype=float), self.lo, self.hi)
        return (_ndtr(self._z(xc)) - a) / (b - a)

    def ppf(self, q: ArrayLike) -> Arr:
        a, b = self._mass
        u = a + np.clip(np.asarray(q, dtype=float), 0.0, 1.0) * (b - a)
        return np.clip(np.exp(self.mu + self.sigma * _ndtri(u)), self.lo, self.hi)

    def partial_mean(self, x0: ArrayLike, x1: ArrayLike) -> Arr:
        """E[L 1{x0 < L <= x1}] in closed form: exp(mu + s^2/2) [Phi(z1 - s) - Phi(z0 - s)] / Z."""
        a, b = self._mass
        s = self.sigma
        z0 = self._z(np.clip(np.asarray(x0, dtype=float), self.lo, self.hi))
        z1 = self._z(np.clip(np.asarray(x1, dtype=float), self.lo, self.hi))
        return math.exp(self.mu + s * s / 2) * (_ndtr(z1 - s) - _ndtr(z0 - s)) / (b - a)

    @property
    def mean(self) -> float:
        return float(self.partial_mean(self.lo, self.hi))


@dataclass(frozen=True)
class Fixed(LengthDist):
    tokens: float

    @property
    def support(self) -> tuple[float, float]:  # type: ignore[override]
        return (self.tokens, self.tokens)

    def cdf(self, x: ArrayLike) -> Arr:
        return (np.asarray(x, dtype=float) >= self.tokens).astype(float)

    def ppf(self, q: ArrayLike) -> Arr:
        return np.full(np.shape(q), self.tokens, dtype=float)

    @property
    def mean(self) -> float:
        return self.tokens


@dataclass(frozen=True)
class PiecewiseCDF(LengthDist):
    """Empirical distribution from a quantile table: CDF linear between (tokens, prob) points."""

    tokens: tuple[float, ...]
    probs: tuple[float, ...]

    @property
    def support(self) -> tuple[float, float]:  # type: ignore[override]
        return (self.tokens[0], self.tokens[-1])

    def cdf(self, x: ArrayLike) -> Arr:
        return np.interp(np.asarray(x, dtype=float), self.tokens, self.probs)

    def ppf(self, q: ArrayLike) -> Arr:
        return np.interp(np.asarray(q, dtype=float), self.probs, self.tokens)

    @property
    def mean(self) -> float:
        t, p = np.array(self.tokens), np.array(self.probs)
        return float(np.sum(np.diff(p) * (t[1:] + t[:-1]) / 2))


@dataclass(frozen=True)
class Mixture(LengthDist):
    components: tuple[LengthDist, ...]
    weights: tuple[float, ...]

    @property
    def support(self) -> tuple[float, float]:  # type: ignore[override]
        return (min(c.support[0] for c in self.components), max(c.support[1] for c in self.components))

    def cdf(self, x: ArrayLike) -> Arr:
        w = np.array(self.weights) / sum(self.weights)
        return np.asarray(sum(wi * c.cdf(x) for wi, c in zip(w, self.components, strict=True)), dtype=float)

    def ppf(self, q: ArrayLike) -> Arr:
        lo, hi = self.support
        grid = np.unique(np.concatenate([c.discretize(4096) for c in self.components] + [np.array([lo, hi])]))
        return np.interp(np.asarray(q, dtype=float), self.cdf(grid), grid)

    def discretize(self, n: int = DEFAULT_ATOMS) -> Arr:
        w = np.array(self.weights) / sum(self.weights)
        counts = np.maximum(1, np.round(w * n).astype(int))
        return np.sort(np.concatenate([c.discretize(int(k)) for c, k in zip(self.components, counts, strict=True)]))

    @property
    def mean(self) -> float:
        w = np.array(self.weights) / sum(self.weights)
        return float(sum(wi * c.mean for wi, c in zip(w, self.components, strict=True)))
