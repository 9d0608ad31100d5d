"""Scenario -> resolved deployment -> planner inputs, one small module per concern:

- `scenario`: load a scenario (catalog name or path), apply `--set` overrides, validate, fetch
  its workload;
- `deployment`: resolve the model and each cluster's GPU through a `Catalog` (calibrated where
  given) and check the weights fit;
- `distributions`, `workload`: length specs -> distributions; a trace -> a workload;
- `profiles`: prefill time against length (roofline or measured) and decode capacity;
- `prices`: each cluster's price and its source;
- `inputs`: all of it -> `plan.planner.PlanInputs` (`build_inputs`, `mix_inputs` for other mixes);
- `calibration`: calibration files as catalog overrides; the paper's prefill figures as targets.

To add a scenario field that changes the inputs: read it in the module of its concern and pass
the number on in `PlanInputs`; nothing here renders or writes.
"""
