"""Files a run writes for other tools: ``results.nc`` (every draw, NetCDF), ``summary.csv`` and
``summary.json`` (the run JSON), into an owned output folder (:mod:`.outputs`)."""

from __future__ import annotations

import json
from pathlib import Path

from .outputs import OwnedOutput


def write_run_outputs(results, out: Path, command: str = "capex run") -> None:
    """results.nc, summary.csv and summary.json into the owned folder ``out`` (staged aside,
    swapped in atomically)."""
    with OwnedOutput(out, command=command, kind="run") as folder:
        results.to_netcdf(folder.path_for("results.nc"))
        results.summary().to_csv(folder.path_for("summary.csv"), index_label="metric")
        folder.write_text("summary.json", json.dumps(results.to_json_dict(), indent=2) + "\n")
