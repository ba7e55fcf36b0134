"""Out of core: a run over its memory budget streams its draws to a Zarr store (into --out DIR,
else a temporary folder removed at exit), its summaries are computed from the store and are
exactly those of the same run in memory, xarray opens the store, and the output folder keeps
its safety guarantees."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from model.core.errors import AssumptionError, CapexWarning
from model.engine import simulate as sim
from model.engine.simulate import goes_out_of_core, parse_memory, simulate
from model.loading.scenario import load_scenario

pytest.importorskip("zarr")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "assumptions" / "anthropic_fluidstack.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(DEFAULT)


def _same(a, b) -> None:
    for kind in ("metrics", "inputs", "series"):
        x, y = getattr(a, kind), getattr(b, kind)
        assert set(x) == set(y), kind
        for k in x:
            assert np.array_equal(np.asarray(x[k]), np.asarray(y[k]), equal_nan=True), (kind, k)


def test_a_run_out_of_core_has_the_numbers_of_the_run_in_memory(scenario, tmp_path):
    ref = simulate(scenario, draws=30_000, seed=4, series_draws=20_000)
    for workers in (1, 2):
        store = tmp_path / f"w{workers}" / "draws.zarr"
        res = simulate(
            scenario,
            draws=30_000,
            seed=4,
            series_draws=20_000,
            workers=workers,
            store=store,
            out_of_core=True,
        )
        assert res.store == store and store.is_dir()
        _same(ref, res)
        assert res.to_json_dict() == ref.to_json_dict()
        assert res.summary().equals(ref.summary())
        import xarray as xr

        ds = xr.open_zarr(store)
        assert ds.sizes["draw"] == 30_000 and ds.sizes["series_draw"] == 20_000
        assert np.array_equal(ds["npv"].values, ref.metric("npv"))
        assert np.array_equal(ds["fcf"].values, ref.series_values("fcf"))
        assert np.array_equal(ds["input_capex_overrun"].values, ref.inputs["capex_overrun"])
        assert ds.attrs["seed"] == 4 and ds.attrs["draws"] == 30_000
        assert "input_capex_total" in res.ds  # fixed inputs join the lazily opened store


def test_a_precision_target_out_of_core_adds_the_same_blocks(scenario, tmp_path):
    kw = dict(draws=8_192, seed=2, precision="npv:mean=0.05B", max_draws=60_000)
    a = simulate(scenario, **kw)
    b = simulate(scenario, **kw, store=tmp_path / "d.zarr", out_of_core=True)
    _same(a, b)
    assert a.precision == b.precision and b.draws > 8_192


def test_over_the_budget_the_run_streams_to_a_temporary_store(scenario):
    assert goes_out_of_core(scenario, 10**8)  # 34 GB on any machine this runs on
    assert not goes_out_of_core(scenario, 10_000)
    assert goes_out_of_core(scenario, 10_000, memory_budget="1MB")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CapexWarning)
        res = simulate(scenario, draws=10_000, memory_budget="1MB")
    assert res.store is not None and "capex-store-" in str(res.store)
    assert any("temporary Zarr store" in str(w.message) for w in caught)
    assert (
        res.to_json_dict()["metrics"] == simulate(scenario, draws=10_000).to_json_dict()["metrics"]
    )


def test_the_temporary_store_is_removed_at_exit():
    code = (
        "import warnings; warnings.simplefilter('ignore'); "
        "from model.loading.scenario import load_scenario; "
        "from model.engine.simulate import simulate; "
        f"r = simulate(load_scenario(r'{DEFAULT}'), draws=5000, memory_budget='1MB'); "
        "print(r.store)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    store = Path(p.stdout.strip())
    assert "capex-store-" in str(store) and not store.parent.exists()


def test_memory_sizes_parse():
    assert parse_memory("4GB") == 4 * 10**9
    assert parse_memory("500 MB") == 5 * 10**8
    assert parse_memory("2e9") == 2 * 10**9
    assert parse_memory("1.5G") == 15 * 10**8
    assert parse_memory(1024) == 1024
    with pytest.raises(ValueError):
        parse_memory("lots")


def test_a_store_that_cannot_fit_on_the_disk_is_refused_before_sampling(
    scenario, tmp_path, monkeypatch
):
    monkeypatch.setattr(sim, "free_disk", lambda folder: 10**6)
    with pytest.raises(AssumptionError, match="is free on its disk"):
        simulate(scenario, draws=100_000, store=tmp_path / "s.zarr", out_of_core=True)
    assert not (tmp_path / "s.zarr").exists()


def _capex(*args):
    return subprocess.run(
        [sys.executable, "-m", "model", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_capex_run_out_over_the_budget_writes_the_store_into_the_owned_folder(tmp_path):
    out = tmp_path / "res"
    common = ("run", DEFAULT, "--draws", 20_000, "--seed", 3, "--quiet")
    p = _capex(*common, "--out", out, "--memory-budget", "1MB", "--json")
    assert p.returncode == 0, p.stderr
    names = {q.name for q in out.iterdir()}
    assert names == {"draws.zarr", "summary.csv", "summary.json", ".capex-output.json"}
    marker = json.loads((out / ".capex-output.json").read_text())
    assert any(f.startswith("draws.zarr/") for f in marker["files"])
    ref = json.loads(_capex(*common, "--json").stdout)
    got = json.loads(p.stdout)
    assert set(got) == set(ref)
    assert got["metrics"] == ref["metrics"] and got["series"] == ref["series"]
    assert json.loads((out / "summary.json").read_text())["metrics"] == ref["metrics"]
    # a second run replaces the folder it wrote; a foreign file in it is refused
    assert _capex(*common, "--out", out, "--memory-budget", "1MB").returncode == 0
    (out / "mine.txt").write_text("not capex's")
    p = _capex(*common, "--out", out, "--memory-budget", "1MB")
    assert p.returncode == 2 and (out / "mine.txt").exists()
    # --format needs every draw in one file: refused out of core, nothing written
    p = _capex(*common, "--out", tmp_path / "f", "--memory-budget", "1MB", "--format", "csv")
    assert p.returncode == 2 and "--format" in p.stderr and not (tmp_path / "f").exists()


def test_capex_run_in_budget_keeps_its_output_files(tmp_path):
    out = tmp_path / "res"
    p = _capex("run", DEFAULT, "--draws", 5_000, "--quiet", "--out", out)
    assert p.returncode == 0, p.stderr
    assert {q.name for q in out.iterdir()} == {
        "results.nc",
        "summary.csv",
        "summary.json",
        ".capex-output.json",
    }


def test_a_bad_memory_budget_is_exit_2():
    p = _capex("run", DEFAULT, "--draws", 2_000, "--memory-budget", "lots")
    assert p.returncode == 2 and "--memory-budget 'lots' is not a size" in p.stderr
