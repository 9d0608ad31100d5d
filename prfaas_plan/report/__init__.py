"""Rendering: turns computed results (plain data) into tables, JSON, CSV and Markdown."""
