"""GPU prices with their source: a cluster's own price in the scenario, else the catalog's."""

from __future__ import annotations

from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.scenario import Cluster, ScenarioSpec


def cluster_price(cl: Cluster, hw: HardwareSpec) -> float | None:
    if cl.price_usd_per_gpu_hour is not None:
        return cl.price_usd_per_gpu_hour
    return hw.price.usd_per_gpu_hour if hw.price else None


def cluster_price_source(cl: Cluster, hw: HardwareSpec) -> str | None:
    if cl.price_usd_per_gpu_hour is not None:
        return cl.price_source or "scenario"
    return f"catalog: {hw.price.source} ({hw.price.date})" if hw.price else None


def cluster_for(sc: ScenarioSpec, hardware: str, instances: int, base: Cluster) -> Cluster:
    """A cluster of `hardware` with the scenario's instance size; the scenario's measured prefill
    profile, price and `recipe:` overrides carry over only to a cluster of the same hardware and
    instance size (as `size` applies a scenario cluster's recipe to its GPU type)."""
    same = [c for c in (sc.prfaas, sc.local) if c is not None and c.hardware == hardware
            and c.gpus_per_instance == base.gpus_per_instance]
    src = same[0] if same else None
    prof = next((c.prefill_profile for c in same if c.prefill_profile is not None), None)
    return Cluster(
        hardware=hardware, gpus=base.gpus_per_instance * instances, gpus_per_instance=base.gpus_per_instance,
        price_usd_per_gpu_hour=src.price_usd_per_gpu_hour if src else None,
        price_source=src.price_source if src else None, prefill_profile=prof, recipe=src.recipe if src else None,
    )


def price_of(cat: Catalog, sc: ScenarioSpec, hardware: str) -> tuple[float | None, str | None]:
    """Price per GPU-hour of a GPU type and its source: the scenario's own (a cluster of that type,
    whatever its instance size: the price is per GPU) or the catalog's."""
    own = next((c for c in (sc.prfaas, sc.local) if c is not None and c.hardware == hardware), None)
    cl = own or Cluster(hardware=hardware, gpus=8, gpus_per_instance=8)
    hw = cat.hardware(hardware)
    src = cluster_price_source(cl, hw)
    return cluster_price(cl, hw), (f"scenario: {src}" if cl.price_usd_per_gpu_hour is not None else src)


def price_or_override(cat: Catalog, sc: ScenarioSpec, hardware: str, given: dict[str, float],
                      where: str) -> tuple[float, str]:
    """A `--price` override, else `price_of`; no price anywhere is an error naming the fix."""
    if hardware in given:
        return given[hardware], "--price"
    p, src = price_of(cat, sc, hardware)
    if p is None:
        raise PrfaasError(f"no price for {hardware}: neither --price, the scenario nor the catalog has one",
                          where=where, fix=f"give --price {hardware}=USD_PER_GPU_HOUR "
                          f"(or set price_usd_per_gpu_hour on a cluster of {hardware})")
    return p, src or "catalog"


def resolve_price_flags(cat: Catalog, given: dict[str, float] | None, searched: list[str]) -> dict[str, float]:
    """`--price GPU=USD` values keyed by catalog name (a YAML path or another spelling resolves to
    it); a GPU the catalog does not know, or one outside the GPUs `searched`, is an error naming
    --price (a typo would otherwise be ignored without a word)."""
    from prfaas_plan.errors import UnknownNameError

    out: dict[str, float] = {}
    for k, v in (given or {}).items():
        try:
            out[cat.hardware(k).name] = v
        except UnknownNameError as exc:
            raise PrfaasError(f"--price {k}={v:g}: {exc.message}", fix=exc.fix) from None
    unused = sorted(set(out) - set(searched))
    if unused:
        raise PrfaasError(f"--price for {', '.join(unused)}, which is not among the GPUs searched ({', '.join(searched)})",
                          fix="add it to --prfaas-hardware/--local-hardware or drop its --price")
    return out
