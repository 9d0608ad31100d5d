"""Workload length specs (YAML) -> `plan.dist` distributions (analytic and sampleable)."""

from __future__ import annotations

from typing import Any

import numpy as np

from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan import dist as D
from prfaas_plan.specs.workload import FixedLen, HistogramLen, LogNormalLen, MixtureLen, QuantileLen


def length_dist(spec: Any) -> D.LengthDist:
    if isinstance(spec, LogNormalLen):
        return D.TruncLogNormal(spec.mu, spec.sigma, spec.lo, spec.hi)
    if isinstance(spec, FixedLen):
        return D.Fixed(spec.tokens)
    if isinstance(spec, QuantileLen):
        return D.PiecewiseCDF(tuple(t for _, t in spec.points), tuple(p for p, _ in spec.points))
    if isinstance(spec, HistogramLen):
        c = np.concatenate([[0.0], np.cumsum(spec.counts)])
        return D.PiecewiseCDF(tuple(spec.edges), tuple((c / c[-1]).tolist()))
    if isinstance(spec, MixtureLen):
        return D.Mixture(tuple(length_dist(c.dist) for c in spec.components),
                         tuple(c.weight for c in spec.components))
    raise PrfaasError(f"unsupported length distribution {type(spec).__name__}",
                      fix="use kind fixed, lognormal, quantiles, histogram or mixture (see `prfaas schema workload`)")
