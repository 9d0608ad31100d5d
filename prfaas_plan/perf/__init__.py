"""Pure physics: KVCache sizing, op lists, kernel cost models, roofline times, calibration fits.

Nothing here imports typer, rich or yaml, or touches files.
"""
