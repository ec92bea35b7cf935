"""Text prompts: class-name files and the 80 OpenAI ImageNet templates (shipped by open_clip)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from open_clip import OPENAI_IMAGENET_TEMPLATES

from foundation.errors import ClassFileError

TEMPLATES: tuple[Callable[[str], str], ...] = tuple(OPENAI_IMAGENET_TEMPLATES)


def read_class_file(path: str) -> tuple[list[str], list[int]]:
    """Queries and their class index: one class per line, synonyms split by commas.

    ``building,roof,house`` on line 8 gives three queries, each with class index 8.
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f.read().splitlines()]
    except OSError as err:
        raise ClassFileError(f"class file {path}: cannot read ({err.strerror})") from None
    while lines and not lines[-1]:
        lines.pop()
    queries: list[str] = []
    query_idx: list[int] = []
    for idx, line in enumerate(lines):
        names = [name.strip() for name in line.split(",") if name.strip()]
        if not names:
            raise ClassFileError(f"class file {path}: line {idx + 1} names no class")
        queries += names
        query_idx += [idx] * len(names)
    if not queries:
        raise ClassFileError(f"class file {path}: no classes")
    return queries, query_idx


def fill_templates(query: str, templates: Sequence[Callable[[str], str]] = TEMPLATES) -> list[str]:
    """Every template filled with one query ("a bad photo of a road.", ...)."""
    return [template(query) for template in templates]
