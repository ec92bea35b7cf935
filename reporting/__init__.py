"""Reporting: finished runs compared side by side, and against the published numbers.

The top layer below the CLI tools: it reads what ``eval_customized.py`` wrote and never runs a
model. One job per module:

- ``runs``: finding run folders and reading their records into ``Run`` objects;
- ``tables``: our tables (runs grouped so that no table mixes number-changing settings);
- ``published``: the published numbers and the protocol each was produced with, as data;
- ``reproduction``: the rule that puts a run against a published number, and its tables;
- ``render``: Markdown, CSV and LaTeX text; ``heatmap``: the PNG;
- ``comparison``: all of it in one call (what ``tools/compare_runs.py`` and a study use).
"""
