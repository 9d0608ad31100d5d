"""One module per command's orchestration: assemble the inputs, call the pure core, return plain
results (dataclasses or dicts) for `report/`. Each command's entry function reads top to bottom
in one screen; no printing and no file writing here (the CLI writes what it is given).

To add a command: `commands/NAME.py` with `run_NAME(...)` taking the parsed flags, then
`cli/NAME.py` to parse them and `report/NAME.py` to render the result, and register it in
`cli/app.py`.
"""
