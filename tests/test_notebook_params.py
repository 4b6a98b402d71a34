"""``notebook_params``: the DAG's trigger form read from the notebook's ``parameters`` cell, as a
DAG author and the trigger form see it (the Params' defaults, JSON-schema types, descriptions
and what they refuse), checked against papermill's own inspection of the same cells."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict

from airflow_jupyter_provider.compat import ParamValidationError, dag_bag_class
from airflow_jupyter_provider.notebook_params import NotebookParamsError, notebook_params
from devtools.notebooks import write_notebook
from tests.helpers import REPO, heavy_modules_after

EXAMPLE_NOTEBOOKS = REPO / "example_dags" / "notebooks"


def form(params: dict[str, Param]) -> dict[str, tuple]:
    """What the trigger form shows of each field: its default, schema and description."""
    return {name: (param.value, param.schema, param.description) for name, param in params.items()}


def test_the_example_notebook_gives_one_field_per_parameter_with_its_type_and_comment() -> None:
    params = notebook_params(EXAMPLE_NOTEBOOKS / "demand_forecast.ipynb")

    assert form(params) == {
        "days": (7, {"type": "integer"}, "Days to forecast"),
        "growth_rate": (0.05, {"type": "number"}, "Daily growth: 0.05 is 5%"),
        "region": ("north", {"type": "string"}, "Region the forecast is for"),
        "products": (["apples", "pears", "plums"], {"type": "array"}, "Products, one a line"),
    }


@pytest.mark.parametrize("notebook", sorted(EXAMPLE_NOTEBOOKS.glob("*.ipynb")), ids=lambda path: path.name)
def test_names_defaults_and_help_are_papermills(notebook: Path) -> None:
    import papermill

    inspected = papermill.inspect_notebook(str(notebook))
    params = notebook_params(notebook)

    assert list(params) == list(inspected)
    for name, param in params.items():
        assert param.value == ast.literal_eval(inspected[name]["default"])
        assert param.description == inspected[name]["help"]


CELL = """\
count = 3  # How many
ratio = 0.5
label = "a # b"  # Text with a hash
enabled = True  # Whether to run
names = [
    "x",
    "y",
]  # Names, on lines of their own
shape = (2, 3)
options = {"deep": {"er": 1}}  # Nested
since = None  # Start date, empty for today
limit: int | None = None
cap: Optional[float] = None  # type: float Largest value
typed: int = 4
import math
math.pi
"""


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "kinds.ipynb", CELL, "print(count)")


def test_each_default_gets_its_json_schema_type_and_none_is_nullable(notebook: Path) -> None:
    assert form(notebook_params(notebook)) == {
        "count": (3, {"type": "integer"}, "How many"),
        "ratio": (0.5, {"type": "number"}, None),
        "label": ("a # b", {"type": "string"}, "Text with a hash"),
        "enabled": (True, {"type": "boolean"}, "Whether to run"),
        "names": (["x", "y"], {"type": "array"}, "Names, on lines of their own"),
        "shape": ([2, 3], {"type": "array"}, None),
        "options": ({"deep": {"er": 1}}, {"type": "object"}, "Nested"),
        "since": (None, {"type": ["null", "string"]}, "Start date, empty for today"),
        "limit": (None, {"type": ["null", "integer"]}, None),
        "cap": (None, {"type": ["null", "number"]}, "Largest value"),
        "typed": (4, {"type": "integer"}, None),
    }


def test_the_fields_refuse_other_types_and_a_nullable_one_takes_null(notebook: Path) -> None:
    params = ParamsDict(notebook_params(notebook))

    with pytest.raises(ParamValidationError, match="'three' is not of type 'integer'"):
        params.get_param("count").resolve("three")
    with pytest.raises(ParamValidationError, match="'yes' is not of type 'boolean'"):
        params.get_param("enabled").resolve("yes")
    assert params.get_param("since").resolve(None) is None
    assert params.get_param("since").resolve("2025-01-01") == "2025-01-01"


def test_overrides_tighten_a_field_and_win_over_the_cell(notebook: Path) -> None:
    params = notebook_params(
        notebook,
        {"count": {"minimum": 1, "maximum": 5}, "label": {"enum": ["a # b", "c"], "description": "Pick one"}},
    )

    assert form(params)["count"] == (3, {"type": "integer", "minimum": 1, "maximum": 5}, "How many")
    assert form(params)["label"] == ("a # b", {"type": "string", "enum": ["a # b", "c"]}, "Pick one")
    with pytest.raises(ParamValidationError, match="6 is greater than the maximum of 5"):
        params["count"].resolve(6)
    with pytest.raises(ParamValidationError, match="'d' is not one of"):
        params["label"].resolve("d")


def test_an_override_of_no_parameter_names_it_and_the_notebook(notebook: Path) -> None:
    with pytest.raises(NotebookParamsError) as caught:
        notebook_params(notebook, {"cuont": {"minimum": 1}})

    assert str(caught.value) == (
        f"overrides name 'cuont', which the parameters cell of {notebook} does not assign; its parameters: "
        "count, ratio, label, enabled, names, shape, options, since, limit, cap, typed"
    )


def test_an_override_that_is_no_mapping_is_refused(notebook: Path) -> None:
    with pytest.raises(
        NotebookParamsError, match=r"overrides\['count'\] must be a mapping of Param keywords"
    ):
        notebook_params(notebook, {"count": 5})


def test_a_default_that_is_no_literal_is_refused_unless_an_override_gives_one(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "today.ipynb", "import datetime\nday = datetime.date.today()")

    with pytest.raises(NotebookParamsError) as caught:
        notebook_params(notebook)

    assert str(caught.value) == (
        f"parameter 'day' of {notebook} defaults to datetime.date.today(), which is no literal value a "
        "trigger form can show; give one in the cell, or in overrides: {'day': {'default': ...}}"
    )
    given = notebook_params(notebook, {"day": {"default": "2025-01-01", "format": "date"}})
    assert form(given) == {"day": ("2025-01-01", {"type": "string", "format": "date"}, None)}


def test_an_overriding_default_without_a_json_type_is_refused_unless_the_type_is_given(
    notebook: Path,
) -> None:
    with pytest.raises(NotebookParamsError) as caught:
        notebook_params(notebook, {"shape": {"default": (4, 5)}})

    assert str(caught.value) == (
        f"overrides['shape'] gives parameter 'shape' of {notebook} the default (4, 5), which has no "
        "JSON-schema type: give a JSON value, or its 'type' too"
    )
    assert form(notebook_params(notebook, {"shape": {"default": [4, 5]}}))["shape"] == (
        [4, 5],
        {"type": "array"},
        None,
    )


def test_a_default_that_is_no_json_value_is_refused(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "set.ipynb", "kinds = {1, 2}")
    with pytest.raises(
        NotebookParamsError, match=r"parameter 'kinds' of .* defaults to \{1, 2\}, which is no JSON"
    ):
        notebook_params(notebook)


def test_a_missing_notebook_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(NotebookParamsError) as caught:
        notebook_params(tmp_path / "nowhere.ipynb")
    assert (
        str(caught.value)
        == f"cannot read the notebook {tmp_path / 'nowhere.ipynb'}: No such file or directory"
    )


def test_a_file_that_is_no_notebook_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "half.ipynb").write_text('{"cells": [')
    (tmp_path / "list.ipynb").write_text("[1, 2]")

    with pytest.raises(
        NotebookParamsError, match=rf"^{tmp_path / 'half.ipynb'} is no notebook: it is not JSON"
    ):
        notebook_params(tmp_path / "half.ipynb")
    with pytest.raises(
        NotebookParamsError, match=rf"^{tmp_path / 'list.ipynb'} is no notebook: it has no list"
    ):
        notebook_params(tmp_path / "list.ipynb")


def test_a_notebook_without_a_parameters_cell_is_an_error_naming_it(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("days = 7")])
    nbformat.write(notebook, tmp_path / "untagged.ipynb")

    with pytest.raises(NotebookParamsError) as caught:
        notebook_params(tmp_path / "untagged.ipynb")

    assert str(caught.value) == (
        f"{tmp_path / 'untagged.ipynb'} has no parameters cell: tag the cell that assigns the defaults "
        "'parameters' (papermill injects the run's values after it)"
    )


def test_a_parameters_cell_that_is_no_python_is_an_error_naming_it(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "broken.ipynb", "days = 7\nregion = 'north")
    with pytest.raises(
        NotebookParamsError, match=rf"^the parameters cell of {notebook} is not Python .* line 2"
    ):
        notebook_params(notebook)


DAG_FILE = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_jupyter_provider.notebook_params import notebook_params

with DAG(dag_id="from_notebook", schedule=None, start_date=datetime(2025, 1, 1),
         params=notebook_params({notebook!r}, {{"days": {{"maximum": 30}}}})):
    pass
"""


def test_in_a_dag_file_a_relative_path_starts_from_its_folder_and_a_bad_one_fails_the_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags = tmp_path / "dags"
    (dags / "notebooks").mkdir(parents=True)
    (dags / "notebooks" / "forecast.ipynb").write_bytes(
        (EXAMPLE_NOTEBOOKS / "demand_forecast.ipynb").read_bytes()
    )
    (dags / "good.py").write_text(DAG_FILE.format(notebook="notebooks/forecast.ipynb"))
    (dags / "bad.py").write_text(
        DAG_FILE.format(notebook="notebooks/missing.ipynb").replace("from_notebook", "b")
    )
    monkeypatch.chdir(tmp_path)  # not the DAG folder

    dagbag = dag_bag_class()(dag_folder=dags)

    assert dagbag.dags["from_notebook"].params.get_param("days").schema == {"type": "integer", "maximum": 30}
    assert list(dagbag.import_errors) == [str(dags / "bad.py")]
    assert (
        f"cannot read the notebook {dags / 'notebooks' / 'missing.ipynb'}"
        in dagbag.import_errors[str(dags / "bad.py")]
    )


def test_a_dag_parse_with_it_imports_no_papermill_nor_nbformat() -> None:
    notebook = EXAMPLE_NOTEBOOKS / "demand_forecast.ipynb"
    statement = (
        "from airflow_jupyter_provider.notebook_params import notebook_params\n"
        f"assert len(notebook_params({str(notebook)!r})) == 4"
    )
    assert heavy_modules_after(statement) == []
