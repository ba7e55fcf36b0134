"""Schedulers: the same seed gives the same numbers on every scheduler, worker count and chunk
size (local processes, threads, a Dask LocalCluster of 2 worker processes, a cluster reached by
its address from the command line); independent tasks come back in order; a user model's error
is the same located error everywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.core.errors import AssumptionError
from model.engine.schedulers import map_tasks, scheduler_name, scheduler_problems
from model.engine.simulate import simulate, task_rows
from model.loading.scenario import load_scenario

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "assumptions" / "anthropic_fluidstack.yaml"
USER_MODEL = ROOT / "tests" / "fixtures" / "user_model"
DRAWS = 20_000  # three 8,192-draw tasks: both workers get some


@pytest.fixture(scope="module")
def client():
    """A small LocalCluster: 2 single-threaded worker processes."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(DEFAULT)


def _same(a, b) -> None:
    assert a.draws == b.draws
    for kind in ("metrics", "inputs", "series"):
        x, y = getattr(a, kind), getattr(b, kind)
        assert set(x) == set(y), kind
        for k in x:
            assert np.array_equal(np.asarray(x[k]), np.asarray(y[k]), equal_nan=True), (kind, k)


def test_the_same_seed_gives_identical_numbers_everywhere(scenario, client):
    ref = simulate(scenario, draws=DRAWS, seed=7, workers=1)
    runs = [
        simulate(scenario, draws=DRAWS, seed=7, workers=2),
        simulate(scenario, draws=DRAWS, seed=7, workers=2, parallel="threads"),
        simulate(scenario, draws=DRAWS, seed=7, workers=2, chunk_size=16_384),
        simulate(scenario, draws=DRAWS, seed=7, scheduler=client),
        simulate(scenario, draws=DRAWS, seed=7, scheduler=client, chunk_size=16_384),
    ]
    for res in runs:
        _same(ref, res)
    assert runs[3].to_json_dict() == ref.to_json_dict()


def test_dask_runs_several_tasks_on_both_workers(scenario, client):
    assert task_rows(DRAWS, 2) == 8192
    with distributed.get_task_stream(client) as stream:
        simulate(scenario, draws=DRAWS, seed=1, scheduler=client)
    tasks = [t for t in stream.data if str(t["key"]).startswith("_on_worker")]
    assert len(tasks) == 3
    assert len({t["worker"] for t in tasks}) == 2


def test_precision_target_and_sobol_design_on_dask(scenario, client):
    a = simulate(scenario, draws=8_192, seed=3, precision="npv:mean=2B", max_draws=40_000)
    b = simulate(
        scenario, draws=8_192, seed=3, precision="npv:mean=2B", max_draws=40_000, scheduler=client
    )
    _same(a, b)
    assert a.precision == b.precision
    _same(
        simulate(scenario, draws=4096, seed=2, design="sobol", workers=1),
        simulate(scenario, draws=4096, seed=2, design="sobol", scheduler=client),
    )


def _square(x):
    return x * x


def _fails(x):
    if x == 3:
        raise AssumptionError("item 3 is wrong")
    return x


def test_map_tasks_returns_results_in_input_order(client):
    items = list(range(9))
    assert map_tasks(_square, items, "local") == [x * x for x in items]
    assert map_tasks(_square, items, "local", workers=1) == [x * x for x in items]
    assert map_tasks(_square, items, client) == [x * x for x in items]
    assert map_tasks(_square, [], client) == []
    for where in ("local", client):
        with pytest.raises(AssumptionError, match="item 3 is wrong"):
            map_tasks(_fails, items, where)


def test_a_user_models_error_is_the_same_located_error_on_dask(tmp_path, client):
    d = tmp_path / "um"
    shutil.copytree(USER_MODEL, d)
    py = d / "gap_model.py"
    py.write_text(py.read_text().replace("    required =", "    1 / 0\n    required =", 1))
    sc = load_scenario(d / "gap.yaml")
    for kw in ({"scheduler": client}, {"workers": 2}, {"workers": 2, "out_of_core": True}):
        with pytest.raises(AssumptionError, match="ZeroDivisionError") as e:
            simulate(sc, draws=20_000, chunk_size=4_096, **kw)
        assert e.value.problems[0].file.endswith("gap_model.py"), kw
        assert e.value.problems[0].line == 10


def test_sensitivity_and_stress_give_the_same_numbers_on_a_scheduler(scenario, client):
    from model.analysis.sensitivity import sensitivity
    from model.analysis.stress import stress

    kw = dict(methods="sobol", sobol_n=4096, num_resamples=20)  # 81,920 rows: two tasks
    a = sensitivity(scenario, **kw).to_json_dict()
    b = sensitivity(scenario, **kw, scheduler=client).to_json_dict()
    a.pop("timings_seconds", None)
    b.pop("timings_seconds", None)
    assert a == b
    s1 = stress(scenario, ["capex_overrun=p90-p100"], draws=70_000)
    s2 = stress(scenario, ["capex_overrun=p90-p100"], draws=70_000, scheduler="local")
    assert s1.to_json_dict() == s2.to_json_dict()


def test_scheduler_names(monkeypatch):
    monkeypatch.delenv("CAPEX_SCHEDULER", raising=False)
    assert scheduler_name(None) == "local"
    monkeypatch.setenv("CAPEX_SCHEDULER", "tcp://10.0.0.1:8786")
    assert scheduler_name(None) == "tcp://10.0.0.1:8786"
    for ok in ("local", "dask", "tcp://host:8786", "host.example:8786", "tls://[::1]:8786"):
        assert scheduler_problems(ok) == [], ok
    assert "unknown" in scheduler_problems("cluster")[0].message


def _capex(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "model", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_capex_run_on_a_cluster_address_gives_the_laptops_numbers(client):
    address = client.scheduler.address
    common = ("run", DEFAULT, "--draws", DRAWS, "--seed", 5, "--json", "--quiet")
    local = _capex(*common)
    remote = _capex(*common, "--scheduler", address)
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr
    assert json.loads(local.stdout) == json.loads(remote.stdout)


def test_a_bad_scheduler_is_exit_2():
    p = _capex("run", DEFAULT, "--draws", 2000, "--scheduler", "nowhere")
    assert p.returncode == 2 and "--scheduler 'nowhere' unknown" in p.stderr
    assert "Traceback" not in p.stderr
    env = {**os.environ, "CAPEX_SCHEDULER_TIMEOUT": "2"}  # nothing listens there: fail fast
    p = _capex("run", DEFAULT, "--draws", 2000, "--scheduler", "tcp://127.0.0.1:1", env=env)
    assert p.returncode == 2 and "cannot reach" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_a_local_run_does_not_import_dask_or_zarr():
    code = (
        "import sys; from model.loading.scenario import load_scenario; "
        "from model.engine.simulate import simulate; "
        f"simulate(load_scenario(r'{DEFAULT}'), draws=20000); "
        "print(sorted(m for m in ('dask', 'distributed', 'zarr', 'xarray') if m in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_a_portfolio_gives_the_same_numbers_on_a_cluster(client):
    # every member's chunks are tasks on the cluster, its streams keyed by member and input:
    # the aggregate, the members and the shared draws are the laptop's, bit for bit
    from model.engine.portfolio import simulate_portfolio
    from model.loading.portfolio import load_portfolio

    pf = load_portfolio(ROOT / "assumptions" / "ai_buildout.yaml")
    local = simulate_portfolio(pf, draws=DRAWS, seed=4, workers=2)
    remote = simulate_portfolio(pf, draws=DRAWS, seed=4, scheduler=client)
    np.testing.assert_array_equal(local.metric("npv"), remote.metric("npv"))
    assert local.probability("revenue_covered") == remote.probability("revenue_covered")
    _same(local, remote)
    for name in local.members:
        _same(local.members[name], remote.members[name])


def test_report_over_several_files_runs_them_as_tasks(tmp_path):
    # capex report with several files: one task per file (map_tasks, local processes); the
    # reports carry the numbers a one-by-one run gives
    from model.cli import main

    files = [ROOT / "assumptions" / f for f in ("bain_2030.yaml", "jpmorgan_650b.yaml")]
    out = tmp_path / "rep"
    argv = ["report", *map(str, files), "--draws", "2000", "--no-sensitivity", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    for f in files:
        sc = load_scenario(f)
        summary = json.loads((out / sc.name / "summary.json").read_text())
        alone = simulate(sc, draws=2000, seed=0)
        assert summary["metrics"]["revenue_gap_final"]["p50"] == pytest.approx(
            alone.metric_summary("revenue_gap_final")["p50"], rel=0, abs=0
        )


def _nested_run(seed):
    """A task that runs its own pool of 2 workers (as a report task's analyses may)."""
    return simulate(load_scenario(DEFAULT), draws=3 * 8192, seed=seed, workers=2).metric("npv")


def test_a_pool_inside_a_pool_worker_leaves_the_worker_ready_for_its_next_task():
    # 4 tasks on 2 local workers: each worker runs two, each task forks its own pool; the
    # second task of a worker must still find the outer work (it did not: TypeError)
    out = map_tasks(_nested_run, [1, 2, 3, 4], "local", workers=2)
    for seed, npv in zip([1, 2, 3, 4], out):
        np.testing.assert_array_equal(npv, _nested_run(seed))
