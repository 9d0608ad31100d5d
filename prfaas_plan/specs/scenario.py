"""Scenario schema: model, clusters, link, workload, decode capacity, prices, expectations."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from prfaas_plan.specs import limits as L
from prfaas_plan.specs.base import (
    ClusterGpus,
    DecodeBatch,
    EngineSeconds,
    Fraction,
    InstanceGpus,
    LinkGbps,
    Name,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    StrictModel,
    Tokens,
    UsdPerGpuHour,
)
from prfaas_plan.specs.recipe import RecipeOverrides
from prfaas_plan.specs.workload import WorkloadSpec


class ProfilePoint(StrictModel):
    tokens: Tokens
    seconds: EngineSeconds = Field(gt=0)
    kv_bytes: float | None = Field(default=None, gt=0, le=L.MAX_MEMORY_BYTES, allow_inf_nan=False)


class PrefillProfile(StrictModel):
    points: list[ProfilePoint] = Field(min_length=2, max_length=100_000)
    source: str

    @model_validator(mode="after")
    def _sorted(self) -> PrefillProfile:
        t = [p.tokens for p in self.points]
        if any(b <= a for a, b in zip(t, t[1:], strict=False)):
            raise ValueError("profile points must have strictly increasing tokens")
        sec = [p.seconds for p in self.points]
        for i in range(1, len(sec)):  # a causal prefill of N tokens is the start of one of more tokens
            if sec[i] < sec[i - 1]:
                raise ValueError(f"point {i} ({t[i]:g} tokens, {sec[i]:g} s) is faster than point {i - 1} "
                                 f"({t[i - 1]:g} tokens, {sec[i - 1]:g} s): a longer prompt cannot prefill "
                                 "faster (average repeated runs so noise cannot reverse the order)")
        return self


class Cluster(StrictModel):
    hardware: str
    gpus: ClusterGpus
    gpus_per_instance: InstanceGpus = 8
    price_usd_per_gpu_hour: UsdPerGpuHour | None = None
    price_source: str | None = None
    prefill_profile: PrefillProfile | None = None
    recipe: RecipeOverrides | None = Field(
        default=None, description="overrides of the model's published serving recipe on this cluster "
        "(weights_dtype, kv_dtype, tp, ep, attention_dp)")

    @model_validator(mode="after")
    def _whole(self) -> Cluster:
        if self.gpus % self.gpus_per_instance:
            raise ValueError(
                f"gpus ({self.gpus}) must be a multiple of gpus_per_instance ({self.gpus_per_instance})"
            )
        return self

    @property
    def instances(self) -> int:
        return self.gpus // self.gpus_per_instance


class Link(StrictModel):
    bandwidth_gbps: LinkGbps
    usable_fraction: Fraction = 1.0
    rtt_ms: float = Field(default=0.0, ge=0, le=L.MAX_RTT_MS, allow_inf_nan=False)


class FixedDecode(StrictModel):
    mode: Literal["fixed"] = "fixed"
    max_batch: DecodeBatch
    step_time_ms: float = Field(gt=0, le=L.MAX_ENGINE_S * 1e3, allow_inf_nan=False)


class RooflineDecode(StrictModel):
    mode: Literal["roofline"] = "roofline"
    max_batch_limit: DecodeBatch = 1024


DecodeSpec = Annotated[FixedDecode | RooflineDecode, Field(discriminator="mode")]


class Routing(StrictModel):
    """A fixed routing instead of the planner's optimum (e.g. the one `prfaas size` chose)."""

    threshold_tokens: NonNegFloat = Field(description="uncached lengths above this go to PrfaaS")
    pd_prefill_instances: NonNegInt = Field(description="local instances that prefill; the rest decode")
    source: str | None = None


class Expectations(StrictModel):
    min_max_throughput_rps: PosFloat | None = None
    max_ttft_p90_s: PosFloat | None = None
    max_ttft_mean_s: PosFloat | None = None
    max_loaded_ttft_p90_s: PosFloat | None = None
    max_egress_utilization: Fraction | None = None
    min_gain_vs_homogeneous_pd: PosFloat | None = None
    min_gain_vs_naive_heterogeneous: PosFloat | None = None
    min_equal_cost_gain_vs_homogeneous_pd: PosFloat | None = None


class ScenarioSpec(StrictModel):
    name: Name
    description: str | None = None
    model: str
    prfaas: Cluster | None = None
    local: Cluster
    link: Link = Field(default_factory=lambda: Link(bandwidth_gbps=100.0))
    workload: WorkloadSpec | str
    decode: DecodeSpec
    load: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.8, description="operating point for loaded TTFT and egress, fraction of Lambda_max"
    )
    prefill_capacity: Literal["throughput", "latency"] = Field(
        default="throughput",
        description="how a prefill instance's capacity is priced: 'throughput' = steady-state GPU "
        "occupancy per request (forwards filled to the engine's token budget, per-request overhead "
        "overlapped; perf.serving); 'latency' = 1 / single-request latency, the paper's Eqs. 3-4",
    )
    expect: Expectations | None = None
    routing: Routing | None = None

    @model_validator(mode="after")
    def _routing_fits(self) -> ScenarioSpec:
        if self.routing is not None and self.routing.pd_prefill_instances >= self.local.instances:
            raise ValueError(
                f"routing.pd_prefill_instances ({self.routing.pd_prefill_instances}) must leave at least one of "
                f"the {self.local.instances} local instances to decode")
        return self
