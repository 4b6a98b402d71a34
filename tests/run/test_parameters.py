"""Parameters keep their JSON types on the way into papermill's parameters file."""

from __future__ import annotations

import math

import pytest
from papermill.cli import NoDatesSafeLoader
from yaml import load

from airflow_jupyter_provider.run.parameters import parse_parameters, write_parameters_file

TYPED = {
    "count": 3,
    "ratio": 0.25,
    "large": 1e20,
    "flag": True,
    "nothing": None,
    "items": [1, "two", 3.0, False],
    "nested": {"a": [1, {"b": None}]},
    "text": "quotes ' \" $(touch x) `y` ; && \n newline é 漢字",
    "numeric_text": "007",
    "date_text": "2024-01-02",
    "yes_text": "yes",
}


def test_json_text_and_dict_give_the_same_parameters():
    assert parse_parameters('{"count": 3, "items": [1, 2]}') == {"count": 3, "items": [1, 2]}
    assert parse_parameters({"count": 3}) == {"count": 3}
    assert parse_parameters(None) == {}
    assert parse_parameters("  ") == {}


def test_parameters_file_is_read_back_by_papermill_with_every_type(tmp_path):
    path = write_parameters_file(parse_parameters(TYPED), tmp_path / "parameters.yaml")
    with path.open(encoding="utf-8") as stream:
        assert load(stream, Loader=NoDatesSafeLoader) == TYPED


def test_non_finite_floats_survive(tmp_path):
    path = write_parameters_file({"x": math.inf, "y": -math.inf}, tmp_path / "p.yaml")
    with path.open(encoding="utf-8") as stream:
        assert load(stream, Loader=NoDatesSafeLoader) == {"x": math.inf, "y": -math.inf}


@pytest.mark.parametrize("name", ["x = 1; import os; y", "1st", "class", "a-b", ""])
def test_names_that_are_not_variable_names_are_refused(name):
    with pytest.raises(ValueError, match=f"parameters: name {name!r} is not a valid variable name"):
        parse_parameters({name: 1})


def test_nested_non_json_value_is_named_by_its_path():
    with pytest.raises(ValueError, match=r"parameters\['cfg'\]\['when'\]\[1\] = \{1, 2\} has type set"):
        parse_parameters({"cfg": {"when": [1, {1, 2}]}})
