"""prompts: class files (one class per line, synonyms by comma) and their one-line errors."""

from __future__ import annotations

import pytest

from foundation.errors import ClassFileError, UserError
from prompts import TEMPLATES, fill_templates, read_class_file


def test_class_file_synonyms(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("background\nbuilding, roof ,house\nroad\n\n")
    assert read_class_file(str(path)) == (
        ["background", "building", "roof", "house", "road"],
        [0, 1, 1, 1, 2],
    )


@pytest.mark.parametrize(
    "text,expected",
    [("road\n\ntree\n", "line 2 names no class"), ("", "no classes"), ("a\n , \n", "line 2")],
)
def test_bad_class_files_are_one_line(tmp_path, text, expected):
    path = tmp_path / "c.txt"
    path.write_text(text)
    with pytest.raises(ClassFileError) as info:
        read_class_file(str(path))
    assert expected in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value) and isinstance(info.value, UserError)


def test_missing_class_file(tmp_path):
    with pytest.raises(ClassFileError, match="cannot read"):
        read_class_file(str(tmp_path / "nope.txt"))


def test_eighty_templates_filled():
    filled = fill_templates("road")
    assert len(TEMPLATES) == len(filled) == 80
    assert filled[0] == "a bad photo of a road." and all("road" in t for t in filled)
