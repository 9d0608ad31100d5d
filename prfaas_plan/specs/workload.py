"""Workload schema: input/output length distributions, prefix reuse, arrivals and SLOs.

Length distributions are a discriminated union on `kind`: `lognormal` (truncated; mu and sigma of
ln tokens, [lo, hi]), `fixed`, `quantiles` (empirical quantile table), `histogram`, `mixture`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from prfaas_plan.specs import limits as L
from prfaas_plan.specs.base import Name, PosFloat, PosWeight, StrictModel, Tokens, Weight


class LogNormalLen(StrictModel):
    kind: Literal["lognormal"] = "lognormal"
    mu: float = Field(ge=0, le=20, description="mean of ln(tokens)")
    sigma: PosFloat = Field(le=L.MAX_LN_SIGMA)
    lo: Tokens = Field(description="truncation, tokens")
    hi: Tokens

    @model_validator(mode="after")
    def _range(self) -> LogNormalLen:
        import math

        if self.hi <= self.lo:
            raise ValueError("hi must be greater than lo")
        z0, z1 = ((math.log(x) - self.mu) / self.sigma for x in (self.lo, self.hi))
        # P(lo < L <= hi) from the nearer tail (erfc keeps its precision out there, 1 - Phi does not)
        mass = (0.5 * (math.erfc(z0 / math.sqrt(2)) - math.erfc(z1 / math.sqrt(2))) if z0 > 0 else
                0.5 * (math.erfc(-z1 / math.sqrt(2)) - math.erfc(-z0 / math.sqrt(2))))
        if mass < L.MIN_TRUNCATED_MASS:
            raise ValueError(f"[lo, hi] = [{self.lo:g}, {self.hi:g}] holds a fraction {mass:.3g} of the log-normal "
                             f"(median exp(mu) = {math.exp(self.mu):.4g} tokens, sigma {self.sigma:g}): the truncated "
                             "distribution is empty; move mu into [ln lo, ln hi] or widen sigma or [lo, hi]")
        return self


class FixedLen(StrictModel):
    kind: Literal["fixed"] = "fixed"
    tokens: Tokens


class QuantileLen(StrictModel):
    kind: Literal["quantiles"] = "quantiles"
    points: list[tuple[Annotated[float, Field(ge=0, le=1)], Tokens]] = Field(
        min_length=2, max_length=100_000, description="[probability, tokens] pairs from 0 to 1, increasing"
    )

    @model_validator(mode="after")
    def _mono(self) -> QuantileLen:
        ps = [p for p, _ in self.points]
        ts = [t for _, t in self.points]
        if ps[0] != 0 or ps[-1] != 1:
            raise ValueError("the first probability must be 0 and the last 1")
        if any(b <= a for a, b in zip(ps, ps[1:], strict=False)) or any(b < a for a, b in zip(ts, ts[1:], strict=False)):
            raise ValueError("probabilities must increase and tokens must not decrease")
        return self


class HistogramLen(StrictModel):
    kind: Literal["histogram"] = "histogram"
    edges: list[Tokens] = Field(min_length=2, max_length=100_000)
    counts: list[Weight] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _shape(self) -> HistogramLen:
        if len(self.edges) != len(self.counts) + 1:
            raise ValueError("edges must have one more entry than counts")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must increase")
        if sum(self.counts) <= 0:
            raise ValueError("counts must not all be zero")
        return self


SimpleLen = Annotated[LogNormalLen | FixedLen | QuantileLen | HistogramLen, Field(discriminator="kind")]


class MixtureComponent(StrictModel):
    weight: PosWeight
    dist: SimpleLen


class MixtureLen(StrictModel):
    kind: Literal["mixture"] = "mixture"
    components: list[MixtureComponent] = Field(min_length=1, max_length=1000)


LengthSpec = Annotated[
    LogNormalLen | FixedLen | QuantileLen | HistogramLen | MixtureLen, Field(discriminator="kind")
]


class PrefixCache(StrictModel):
    cached_fraction: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.0, description="fraction of input tokens already cached; routing uses the rest"
    )
    uncached_length: LengthSpec | None = Field(
        default=None,
        description="distribution of the uncached (to-prefill) length, e.g. from `prfaas workload import`; "
        "when given, routing and prefill use it instead of input_length x (1 - cached_fraction)",
    )
    cached_prefix_length: LengthSpec | None = Field(
        default=None, description="informational: distribution of the cached prefix length (from a trace)"
    )
    hit_ratio: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="informational: fraction of input tokens served from the prefix cache"
    )

    @model_validator(mode="after")
    def _one(self) -> PrefixCache:
        if self.uncached_length is not None and self.cached_fraction > 0:
            raise ValueError("give either cached_fraction or uncached_length, not both")
        return self


class Arrival(StrictModel):
    rate_rps: float | None = Field(
        default=None, gt=0, le=L.MAX_RATE_RPS, allow_inf_nan=False,
        description="offered load; default: a fraction of capacity")
    burstiness_scv: float = Field(
        default=1.0, ge=0, le=L.MAX_SCV, allow_inf_nan=False,
        description="squared CV of inter-arrival times; 1 = Poisson, 0 = perfectly regular")
    peak_to_mean_1s: float | None = Field(
        default=None, gt=0, le=L.MAX_RATE_RPS, allow_inf_nan=False,
        description="informational: peak / mean rate over 1 s windows")
    peak_to_mean_10s: float | None = Field(
        default=None, gt=0, le=L.MAX_RATE_RPS, allow_inf_nan=False,
        description="informational: peak / mean rate over 10 s windows")


class SLO(StrictModel):
    decode_tokens_per_s: float = Field(default=40.0, gt=0, le=1e6, allow_inf_nan=False)
    ttft_p90_s: float | None = Field(default=None, gt=0, le=L.MAX_ENGINE_S, allow_inf_nan=False)


class WorkloadSpec(StrictModel):
    name: Name = "workload"
    description: str | None = None
    input_length: LengthSpec
    output_length: LengthSpec = Field(default_factory=lambda: FixedLen(tokens=1024))
    prefix_cache: PrefixCache = Field(default_factory=PrefixCache)
    arrival: Arrival = Field(default_factory=Arrival)
    slo: SLO = Field(default_factory=SLO)
    provenance: dict[str, str | int | float] | None = None
