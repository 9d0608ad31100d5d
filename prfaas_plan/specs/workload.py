"""Workload schema: input/output length distributions, prefix reuse, arrivals and SLOs.

Length distributions are a discriminated union on `kind`: `lognormal` (truncated; mu and sigma of
ln tokens, [lo, hi]), `fixed`, `quantiles` (empirical quantile table), `histogram`, `mixture`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from prfaas_plan.specs.base import NonNegFloat, PosFloat, StrictModel


class LogNormalLen(StrictModel):
    kind: Literal["lognormal"] = "lognormal"
    mu: float = Field(ge=0, le=20, description="mean of ln(tokens)")
    sigma: PosFloat
    lo: PosFloat = Field(description="truncation, tokens")
    hi: PosFloat

    @model_validator(mode="after")
    def _range(self) -> LogNormalLen:
        if self.hi <= self.lo:
            raise ValueError("hi must be greater than lo")
        return self


class FixedLen(StrictModel):
    kind: Literal["fixed"] = "fixed"
    tokens: PosFloat


class QuantileLen(StrictModel):
    kind: Literal["quantiles"] = "quantiles"
    points: list[tuple[Annotated[float, Field(ge=0, le=1)], PosFloat]] = Field(
        min_length=2, description="[probability, tokens] pairs from 0 to 1, increasing"
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
    edges: list[PosFloat] = Field(min_length=2)
    counts: list[NonNegFloat] = Field(min_length=1)

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
    weight: PosFloat
    dist: SimpleLen


class MixtureLen(StrictModel):
    kind: Literal["mixture"] = "mixture"
    components: list[MixtureComponent] = Field(min_length=1)


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
    rate_rps: PosFloat | None = Field(default=None, description="offered load; default: a fraction of capacity")
    burstiness_scv: NonNegFloat = Field(
        default=1.0, description="squared CV of inter-arrival times; 1 = Poisson, 0 = perfectly regular")
    peak_to_mean_1s: PosFloat | None = Field(default=None, description="informational: peak / mean rate over 1 s windows")
    peak_to_mean_10s: PosFloat | None = Field(default=None, description="informational: peak / mean rate over 10 s windows")


class SLO(StrictModel):
    decode_tokens_per_s: PosFloat = 40.0
    ttft_p90_s: PosFloat | None = None


class WorkloadSpec(StrictModel):
    name: str = "workload"
    description: str | None = None
    input_length: LengthSpec
    output_length: LengthSpec = Field(default_factory=lambda: FixedLen(tokens=1024))
    prefix_cache: PrefixCache = Field(default_factory=PrefixCache)
    arrival: Arrival = Field(default_factory=Arrival)
    slo: SLO = Field(default_factory=SLO)
    provenance: dict[str, str | int | float] | None = None
