"""Rendering only: turns the plain results of `commands/` (and the core's dataclasses) into rich
tables, JSON, CSV, Markdown, JUnit and charts (`plots`, matplotlib imported lazily). Computes
nothing the user sees as a new number; decides formats and wording.

To render a new command: add `report/NAME.py` with `render_NAME(result, fmt_name)` returning text
(JSON/CSV/Markdown) or a rich renderable (table); document the JSON keys in its docstring.
"""
