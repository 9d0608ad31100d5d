"""Readers and writers of files: YAML with schema validation (`yamlfile`), atomic writes and
text reads (`files`), request and bandwidth traces (`traces`), measurement CSVs
(`measurements`), calibration files (`calibration`), Hugging Face config.json (`hf_config`).

Every reader turns a missing, unreadable or malformed file into a `PrfaasError` naming the file,
the line or field, and the fix. To add a file kind: a reader here that returns a `specs/` object
or container, never a half-read one.
"""
