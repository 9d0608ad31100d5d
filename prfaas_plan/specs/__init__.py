"""The validated edge of the program: pydantic schemas (strict: unknown fields rejected, bounds
checked) for hardware, model, workload, scenario and calibration files, the containers of
measurements and traces that `io/` fills, and `schemas.schema_for` (`prfaas schema KIND`).

To add a field: declare it with its unit in the name and its bounds (`Field(gt=0)`), then use it
where the core needs it; `prfaas schema` picks it up.
"""
