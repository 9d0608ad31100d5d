"""Pydantic schemas: the validated edge of the program (hardware, model, workload, scenario)."""
