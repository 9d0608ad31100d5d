"""Calibration as the assembly layer sees it: a calibration file applied to its GPU's catalog entry
(`apply_calibration`), several files as catalog overrides (`calibration_overrides`, passed on as
`Catalog.with_hardware`), and the paper's end-to-end prefill figures as fit targets
(`paper_targets`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import InvalidFileError, UnknownNameError
from prfaas_plan.io.calibration import read_calibration
from prfaas_plan.specs.hardware import HardwareSpec


def apply_calibration(hw: HardwareSpec, path: Path) -> HardwareSpec:
    """`hw` with the file's efficiency block; the file must be for this GPU type."""
    cal = read_calibration(path)
    if cal.hardware != hw.name:
        raise InvalidFileError(f"calibration is for {cal.hardware!r}, not {hw.name!r}", where=str(path),
                               fix=f"use a calibration made with `prfaas calibrate --hardware {hw.name}`")
    return hw.model_copy(update={"efficiency": cal.efficiency})


def calibration_overrides(cat: Catalog, paths: list[Path]) -> dict[str, HardwareSpec]:
    """{GPU name: catalog entry with the file's efficiency block}, for `Catalog.with_hardware`."""
    out: dict[str, HardwareSpec] = {}
    for p in paths:
        name = read_calibration(p).hardware
        if name in out:
            raise InvalidFileError(f"two calibration files for {name!r}", where=str(p), fix="give one per GPU type")
        try:
            hw = cat.hardware(name)
        except UnknownNameError as exc:  # name the file that asks for it
            raise InvalidFileError(f"field 'hardware': {exc.message}", where=str(p), fix=exc.fix) from None
        out[name] = apply_calibration(hw, p)
    return out


def paper_targets(cat: Catalog, hardware: str = "h200") -> tuple[list[Any], tuple[str, ...]]:
    """The paper's end-to-end prefill figures for this GPU and which engine parameters they fit.

    h200: Tables 3 and 5 (16 points, four models) fit the three engine latency terms (per request,
    per forward, and the per-layer host-bound floor of an eager forward); every kernel cost comes from
    kernel-fitted blocks.
    h20: Table 6's homogeneous-PD column (mean and P90 TTFT, Theta_pdp: three figures of one model over
    a length distribution) fits the first two; the per-layer floor, a host quantity, is h200's
    (`--system-from h200`).
    """
    from prfaas_plan.errors import PrfaasError
    from prfaas_plan.perf import paper_targets as pt
    from prfaas_plan.perf.calibration import SYSTEM_PARAMS, PrefillTarget
    from prfaas_plan.perf.kv import kv_bytes
    from prfaas_plan.perf.recipe import resolve_recipe

    def served(name: str, gpus: int) -> Any:
        """The catalog model with the recipe its instance runs on this GPU (the checkpoint that fits)."""
        m = cat.model(name)
        return m.with_recipe(resolve_recipe(m, cat.hardware(hardware), gpus, where=f"models/{name}.yaml: recipe"))

    if hardware == "h20":
        import numpy as np

        from prfaas_plan.plan.dist import TruncLogNormal

        m = served(pt.TABLE5_MODEL, pt.TABLE6_LOCAL_GPUS)
        d = TruncLogNormal(**pt.TABLE6_LOGNORMAL)
        n = 400
        atoms = d.ppf((np.arange(n) + 0.5) / n)
        rep = float(d.mean)
        ttft = pt.TABLE6_HOMOGENEOUS_TTFT_S
        hp = pt.TABLE6_HOMOGENEOUS_PREFILL
        g = pt.TABLE6_LOCAL_GPUS
        return [
            PrefillTarget(m, g, atoms, ttft["mean"], "table6/homogeneous/mean_ttft", np.full(n, 1.0 / n)),
            PrefillTarget(m, g, float(np.ravel(d.ppf(0.9))[0]), ttft["p90"], "table6/homogeneous/p90_ttft"),
            PrefillTarget(m, g, rep, hp["instances"] / hp["theta_rps"], "table6/homogeneous/theta_pdp@mean_length"),
        ], SYSTEM_PARAMS[:2]  # three figures of one model: the per-layer launch is h200's (--system-from)
    if hardware != "h200":
        raise PrfaasError(f"--paper-prefill: the paper publishes end-to-end prefill figures for h200 and h20 only, "
                          f"not {hardware!r}",
                          fix="drop --paper-prefill, or copy the engine-level parameters with --system-from h200")
    out: list[Any] = []
    for name, gbps in pt.TABLE3_KV_GBPS.items():
        m = served(name, pt.PAPER_GPUS)
        S = kv_bytes(m, pt.TABLE3_TOKENS)
        for tok, s, gb in zip(pt.TABLE3_TOKENS, S, gbps, strict=True):
            out.append(PrefillTarget(m, pt.PAPER_GPUS, tok, float(s) * 8 / (gb * 1e9), f"table3/{name}@{tok}"))
    m = served(pt.TABLE5_MODEL, pt.PAPER_GPUS)
    for tok, sec in zip(pt.TABLE5_TOKENS, pt.TABLE5_PREFILL_S, strict=True):
        out.append(PrefillTarget(m, pt.PAPER_GPUS, tok, sec, f"table5/{pt.TABLE5_MODEL}@{tok}"))
    return out, SYSTEM_PARAMS
