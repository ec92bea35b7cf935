"""One table of methods: the light table (names, options, published defaults) and the code
table name the same methods, and every method's constructor defaults are the table's."""

from __future__ import annotations

import inspect

import pytest

import dense
from foundation.errors import ConfigError
from foundation.methods import METHODS, canonical_method, resolve_options


def test_same_names_in_both_tables():
    assert list(dense.METHODS) == list(METHODS)


@pytest.mark.parametrize("name", [m for m, info in METHODS.items() if info.options])
def test_constructor_defaults_are_the_published_options(name):
    params = inspect.signature(dense.METHODS[name]).parameters
    for option, value in METHODS[name].options.items():
        assert option in params, (name, option)
        assert params[option].default == value, (name, option)


def test_names_forgive_case_and_aliases():
    assert canonical_method("segearth") == "SegEarth"
    assert canonical_method("SCCLIP") == "SC-CLIP"
    assert canonical_method("resclip") == "ResCLIP"
    with pytest.raises(ConfigError, match="did you mean NACLIP") as info:
        canonical_method("NACLIPP")
    assert "\n" not in str(info.value)


def test_options_resolved_over_the_defaults():
    options = resolve_options("ResCLIP", {"temp_thd": 0.2})
    assert options["temp_thd"] == 0.2 and options["sigma"] == 5.0
    with pytest.raises(ConfigError, match="not an option of --model-type SegEarth"):
        resolve_options("SegEarth", {"gamma": 3.0})
