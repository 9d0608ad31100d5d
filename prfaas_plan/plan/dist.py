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


_ERFC = np.frompyfunc(math.erfc, 1, 1)  # libm's erfc, elementwise (scipy.special costs 0.35 s to import)
_SQRT2 = math.sqrt(2.0)
# Acklam's rational approximation of the normal quantile (relative error < 1.2e-9), refined below by
# one Halley step on the exact CDF to full double precision.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
      -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
      -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
      4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425


def _ndtr(x: Arr) -> Arr:
    """Standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2."""
    x = np.asarray(x, dtype=float)
    return np.asarray(0.5 * _ERFC(-x / _SQRT2), dtype=float).reshape(x.shape)


def _poly(c: tuple[float, ...], x: Arr) -> Arr:
    out = np.full_like(x, c[0])
    for k in c[1:]:
        out = out * x + k
    return out


def _ndtri_lower(p: Arr) -> Arr:
    """Phi^-1(p) for 0 < p <= 0.5 (where p, and Phi(x) - p in the refinement, are exact enough)."""
    q = p - 0.5
    r = q * q
    mid = _poly(_A, r) * q / (_poly(_B, r) * r + 1.0)
    t = np.sqrt(-2.0 * np.log(p))
    tail = _poly(_C, t) / (_poly(_D, t) * t + 1.0)
    x = np.where(p >= _P_LOW, mid, tail)
    u = (_ndtr(x) - p) * math.sqrt(2.0 * math.pi) * np.exp(x * x / 2.0)
    return np.asarray(x - u / (1.0 + x * u / 2.0), dtype=float)


def _ndtri(p: Arr) -> Arr:
    """Standard normal quantile Phi^-1(p) (-inf at 0, +inf at 1); the upper half by symmetry,
    -Phi^-1(1 - p), since 1 - p is exact there and p itself is not resolved near 1."""
    p = np.asarray(p, dtype=float)
    low = np.minimum(p, 1.0 - p)
    inner = (low > 0.0) & np.isfinite(low)
    x = np.zeros_like(p)
    x[inner] = _ndtri_lower(low[inner])
    x = np.where(p > 0.5, -x, x)
    return np.where(np.isnan(p), np.nan, np.where(p <= 0.0, -np.inf, np.where(p >= 1.0, np.inf, x)))


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
