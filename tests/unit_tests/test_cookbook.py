"""Run every cookbook notebook, so that none can go stale."""

from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"
NOTEBOOKS = sorted(COOKBOOK.glob("*.ipynb"))


def test_the_cookbook_has_one_notebook_per_technique_and_one_end_to_end() -> None:
    assert [path.stem for path in NOTEBOOKS] == [
        "01_semantic_cache",
        "02_model_router",
        "03_rolling_summary_memory",
        "04_prompt_compression",
        "05_cost_tracking",
        "06_end_to_end",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_offline_without_error(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    counts = [
        cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code"
    ]
    # Outputs are saved in the repository, so a reader sees them unexecuted.
    assert None not in counts
    # Unix-socket kernel: the suite blocks TCP, and the notebooks need none.
    # The socket path is absolute: the kernel runs in cookbook/, not here.
    manager = KernelManager(
        kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel")
    )
    NotebookClient(
        nb, km=manager, timeout=120, resources={"metadata": {"path": str(COOKBOOK)}}
    ).execute()
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
