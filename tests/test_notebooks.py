"""What nbval relies on in the committed notebooks."""

import json

import pytest

from lib.paths import NOTEBOOKS

COMMITTED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name[:2])
def test_profile_comes_only_from_the_parameters_cell(path):
    cells = code_cells(path)
    tags = [cell.get("metadata", {}).get("tags", []) for cell in cells]
    assert not any("injected-parameters" in t for t in tags), "a papermill cell would pin the profile"
    parameters = [cell for cell, t in zip(cells, tags, strict=True) if "parameters" in t]
    assert len(parameters) == 1 and "PROFILE = None" in "".join(parameters[0]["source"])


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name[:2])
def test_checked_cells_only_print(path):
    for cell in code_cells(path):
        if "".join(cell["source"]).startswith("# NBVAL_CHECK_OUTPUT"):
            kinds = {output["output_type"] for output in cell["outputs"]}
            assert kinds <= {"stream"}, f"a checked cell must only print: {''.join(cell['source'])[:80]}"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name[:2])
def test_no_machine_specific_paths(path):
    text = path.read_text()
    assert not any(root in text for root in ("/work/", "/tmp/", "/root/", str(NOTEBOOKS.parent)))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name[:2])
def test_kernelspec_is_what_jupyterlab_saves(path):
    """The environment's ipykernel spec, so that opening a notebook leaves it unchanged."""
    spec = json.loads(path.read_text())["metadata"]["kernelspec"]
    assert (spec["name"], spec["display_name"]) == ("python3", "Python 3 (ipykernel)")
