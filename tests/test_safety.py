"""Never lose a user's file, never trust an input blindly (the safety issue, point by point).

Each test names the point it checks. Fixtures in tests/fixtures/attack/ are hostile or broken
inputs; every one must end in exit 2 with a located message and a fix, and no file outside the
output folder may change.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from model.cli import main
from model.core.errors import AssumptionError, CacheWarning, PlausibilityWarning
from model.loading.observations import load_observations
from model.loading.portfolio import is_portfolio_file, load_portfolio
from model.loading.priors import load_priors
from model.loading.scenario import load_scenario
from model.reporting import outputs

ROOT = Path(__file__).resolve().parents[1]
ATTACK = ROOT / "tests" / "fixtures" / "attack"
VALID = ROOT / "tests" / "fixtures" / "valid_minimal.yaml"


def capex(*args, env=None, cwd=None, timeout=120):
    """Run the capex command in a fresh process; return (exit code, stdout, stderr)."""
    full_env = {**os.environ, **(env or {})}
    p = subprocess.run(
        [sys.executable, "-m", "model", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )
    return p.returncode, p.stdout, p.stderr


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes and mode (to prove nothing changed)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st_ = p.lstat()
        out[str(p.relative_to(folder))] = (
            p.read_bytes() if p.is_file() else None,
            stat.S_IMODE(st_.st_mode),
        )
    return out


def hostile_files() -> list[Path]:
    """The attack fixtures that are assumption files meant to be refused (xss.yaml is valid:
    its attack is on the reports; priors_* are priors files)."""
    return sorted(
        p
        for p in ATTACK.glob("*.yaml")
        if not p.name.startswith("priors_") and p.name != "xss.yaml"
    )


def located(problems_text: str) -> list[str]:
    """The ``file:line: ...`` lines of an error output."""
    return [ln for ln in problems_text.splitlines() if not ln.startswith("capex:")]


# ============================================================================ 1. owned outputs
def test_run_out_refuses_a_folder_it_does_not_own(tmp_path):
    docs = tmp_path / "mydocs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("important")
    before = snapshot(tmp_path)
    code, _, err = capex("run", VALID, "--draws", 200, "--out", docs, "--quiet")
    assert code == 2
    assert "thesis.txt" in err and "not a capex output folder" in err
    assert snapshot(tmp_path) == before


def test_report_out_keeps_a_users_file_in_a_capex_folder(tmp_path):
    rep = tmp_path / "rep"
    assert (
        main(
            [
                "report",
                str(VALID),
                "--draws",
                "200",
                "--no-sensitivity",
                "--quiet",
                "--out",
                str(rep),
            ]
        )
        == 0
    )
    assert outputs.read_marker(rep)["kind"] == "report"
    (rep / "notes.md").write_text("my notes")
    before = snapshot(tmp_path)
    code, _, err = capex(
        "report", VALID, "--draws", 200, "--no-sensitivity", "--quiet", "--out", rep
    )
    assert code == 2 and "notes.md" in err and "did not write" in err
    assert snapshot(tmp_path) == before


def test_a_capex_folder_is_replaced_and_its_marker_lists_every_file(tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(VALID), "--draws", "200", "--out", str(out), "--quiet"]) == 0
    first = outputs.read_marker(out)
    assert set(first["files"]) == {"results.nc", "summary.csv", "summary.json"}
    assert main(["run", str(VALID), "--draws", "300", "--out", str(out), "--quiet"]) == 0
    second = outputs.read_marker(out)
    for name, digest in second["files"].items():  # the hashes are those of the files
        assert outputs.sha256_file(out / name) == digest
    assert json.loads((out / "summary.json").read_text())["draws"] == 300
    assert outputs.foreign_entries(out) == []


def test_out_is_a_file_the_working_directory_or_under_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = capex("run", VALID, "--draws", 200, "--out", afile, "--quiet")
    assert code == 2 and "is a file, not a folder" in err and afile.read_text() == "x"
    code, _, err = capex("run", VALID, "--draws", 200, "--out", ".", "--quiet", cwd=tmp_path)
    assert code == 2 and "current folder" in err
    code, _, err = capex("run", VALID, "--draws", 200, "--out", afile / "sub", "--quiet")
    assert code == 2 and "is a file, so no folder can be made" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # no stray folder


def test_an_empty_existing_folder_is_used(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", str(VALID), "--draws", "200", "--out", str(empty), "--quiet"]) == 0
    assert (empty / "summary.json").is_file()


def test_sweep_plot_never_replaces_a_file_capex_did_not_write(tmp_path):
    """A single figure file (``capex sweep --plot FILE.png``): a new file, or one capex wrote
    (its PNG text chunk says so), is written; a user's file of that name is refused before the
    work and keeps its bytes; a wrong suffix, a folder or a file in the path are exit 2."""
    base = ["sweep", VALID, "--vary", "price_per_gpu_hour=2:6:2", "--draws", "200", "--quiet"]
    users = tmp_path / "thesis.png"
    users.write_bytes(b"\x89PNG\r\n\x1a\n my own figure")
    before = snapshot(tmp_path)
    code, _, err = capex(*base, "--plot", users)
    assert code == 2 and "capex did not write it" in err and snapshot(tmp_path) == before
    for bad, phrase in [
        (tmp_path / "plot.txt", "must end with .png"),
        (tmp_path, "must end with .png"),
        (tmp_path / "thesis.png" / "x.png", "is a file, so no folder"),
    ]:
        code, _, err = capex(*base, "--plot", bad)
        assert code == 2 and phrase in err and "Traceback" not in err, err
    assert snapshot(tmp_path) == before
    ours = tmp_path / "figs" / "sweep.png"
    assert capex(*base, "--plot", ours)[0] == 0 and outputs.capex_png(ours)
    first = ours.read_bytes()
    code, _, err = capex(*base, "--seed", "3", "--plot", ours)  # capex's own file: replaced
    assert code == 0 and outputs.capex_png(ours) and ours.read_bytes() != first, err
    assert sorted(p.name for p in ours.parent.iterdir()) == ["sweep.png"]  # no temporary left


# ============================================================================ 2. atomic, umask
def test_folders_and_files_follow_the_umask(tmp_path):
    code = (
        "import os, sys; os.umask(0o027); from model.cli import main; "
        f"sys.exit(main(['run', {str(VALID)!r}, '--draws', '200', '--quiet', '--out', "
        f"{str(tmp_path / 'run')!r}]))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "run" / "summary.json").stat().st_mode) == 0o640


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EACCES])
def test_full_disk_or_no_permission_is_exit_2_and_the_previous_output_stays(
    tmp_path, monkeypatch, capsys, failure
):
    out = tmp_path / "run"
    assert main(["run", str(VALID), "--draws", "200", "--out", str(out), "--quiet"]) == 0
    before = snapshot(tmp_path)
    real = outputs.OwnedOutput.write_text

    def failing(self, relative, text):
        raise OSError(failure, os.strerror(failure), str(relative))

    monkeypatch.setattr(outputs.OwnedOutput, "write_text", failing)
    assert main(["run", str(VALID), "--draws", "300", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and ("disk is full" in err or "permission" in err)
    monkeypatch.setattr(outputs.OwnedOutput, "write_text", real)
    assert snapshot(tmp_path) == before  # previous output intact, no staging debris


def test_dead_runs_staging_folders_are_removed_by_the_next_run(tmp_path):
    """Debris of a dead run (a staging folder holding the lock capex wrote for it, an empty
    one, a temporary sibling) is removed by the next run into the same parent; a live run's is
    left alone, and so is every lookalike capex cannot prove it made (a user's folder or file
    of a similar name)."""
    from model.core.fileio import TEMP_PREFIX, hold_lock, release_lock

    dead_pid = 2**22 + 12345  # above pid_max on this kind of machine: never alive
    assert not outputs.pid_alive(dead_pid)
    debris = tmp_path / f"{outputs.STAGING_PREFIX}run.{dead_pid}.abcd1234"
    debris.mkdir()
    release_lock(hold_lock(debris))  # as a killed run leaves it: its lock, free now
    (debris / "results.nc").write_bytes(b"x" * 1000)
    empty = tmp_path / f"{outputs.STAGING_PREFIX}new.{dead_pid}.0123abcd"
    empty.mkdir()  # killed before it took its lock: empty, so removing it loses nothing
    live = tmp_path / f"{outputs.STAGING_PREFIX}other.{os.getppid()}.abcd1234"
    live.mkdir()  # a live process's staging folder is left alone
    temp = tmp_path / f"{TEMP_PREFIX}README.md.{dead_pid}.0badf00d"
    temp.write_text("half")
    users = [  # lookalikes: names capex uses, contents it cannot prove are its own
        tmp_path / f"{outputs.STAGING_PREFIX}mine.{dead_pid}.abcd1234" / "u.txt",
        tmp_path / f"{outputs.BACKUP_PREFIX}run" / "u.txt",
        tmp_path / f"{outputs.BACKUP_PREFIX}other" / "u.txt",
        tmp_path / ".notes.2024.01.tmp",
        tmp_path / f".x.{dead_pid}.zz.tmp",
        tmp_path / f".README.md.{dead_pid}.0badf00d.tmp",
    ]
    for f in users:
        f.parent.mkdir(exist_ok=True)
        f.write_text("mine")
    before = {f: f.read_bytes() for f in users}
    assert (
        main(["run", str(VALID), "--draws", "200", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    )
    assert not debris.exists() and not empty.exists() and not temp.exists() and live.exists()
    assert {f: f.read_bytes() for f in users if f.exists()} == before
    assert not (tmp_path / "other").exists()  # a user's backup-named folder is not "restored"


def test_a_changed_file_or_forged_marker_makes_the_folder_foreign(tmp_path):
    """The marker lists each file's SHA-256 and size: a file the user edited since capex wrote
    it is theirs (the folder is refused, naming it); a marker written by hand that lists a
    user's file, or a marker that is a symbolic link, does not make a folder capex's."""
    out = tmp_path / "out"
    base = ["run", VALID, "--draws", "200", "--quiet", "--out"]
    assert capex(*base, out)[0] == 0
    with open(out / "summary.csv", "a") as f:
        f.write("my note\n")
    before = snapshot(tmp_path)
    code, _, err = capex(*base, out)
    assert code == 2 and "summary.csv (changed since capex wrote it)" in err, err
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "thesis.txt").write_text("thesis")
    marker = {"capex_output": 1, "files": {"thesis.txt": "0" * 64}, "folders": []}
    (forged / outputs.MARKER).write_text(json.dumps(marker))
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "user.txt").write_text("mine")
    real = tmp_path / "elsewhere.json"
    real.write_text(json.dumps({"capex_output": 1, "files": {"user.txt": "0" * 64}}))
    (linked / outputs.MARKER).symlink_to(real)
    before = snapshot(tmp_path)
    for folder in (forged, linked):
        code, _, err = capex(*base, folder)
        assert code == 2 and ("changed since" in err or "not a capex output" in err), err
    assert snapshot(tmp_path) == before


def test_two_step_swap_is_finished_or_undone_by_the_next_run(tmp_path, monkeypatch):
    """Without RENAME_EXCHANGE a swap is two renames; a death between them leaves the previous
    folder under a backup name, which the next run restores before doing anything else."""
    out = tmp_path / "run"
    assert main(["run", str(VALID), "--draws", "200", "--out", str(out), "--quiet"]) == 0
    before = (out / "summary.json").read_bytes()
    monkeypatch.setenv("CAPEX_NO_RENAME_EXCHANGE", "1")
    real_rename = os.rename
    calls = []

    def dying_rename(a, b):
        calls.append((a, b))
        real_rename(a, b)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the process dies between the two renames

    monkeypatch.setattr(os, "rename", dying_rename)
    with pytest.raises(KeyboardInterrupt):
        outputs.two_step_swap(_staged(tmp_path, "run"), out)
    monkeypatch.setattr(os, "rename", real_rename)
    assert not out.exists()  # neither visible now ...
    outputs.remove_dead_staging(tmp_path)  # ... until the next run resolves it
    assert (out / "summary.json").read_bytes() == before
    assert main(["run", str(VALID), "--draws", "300", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["draws"] == 300
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".capex")]


def _staged(parent: Path, name: str) -> Path:
    dead_pid = 2**22 + 54321  # the process that staged it has died
    from model.core.fileio import hold_lock, release_lock

    p = parent / f"{outputs.STAGING_PREFIX}{name}.{dead_pid}.feedf00d"
    p.mkdir()
    release_lock(hold_lock(p))  # its lock, as capex writes it (free: the process is gone)
    (p / "summary.json").write_text("{}")
    return p


def _complete(folder: Path) -> bool:
    marker = outputs.read_marker(folder)
    if marker is None or outputs.foreign_entries(folder, marker):
        return False
    return all(outputs.sha256_file(folder / f) == h for f, h in marker["files"].items())


def _tiny_figures(monkeypatch):
    """Small stand-ins for the report's figures: the write phase (staging, marker, swap) is what
    is tested, and real figures take about a second each to draw."""
    from matplotlib.figure import Figure as MplFigure

    from model.reporting import figures

    def tiny(res):
        out = []
        for name in (
            "capex_vs_revenue",
            "cumulative_fcf",
            "npv_distribution",
            "irr_distribution",
            "payback_distribution",
        ):
            fig = MplFigure(figsize=(1, 0.5), dpi=50)
            fig.subplots().plot([0, 1], [0, 1])
            out.append(figures.Figure(name, fig, name, "caption", "alt"))
        return out

    monkeypatch.setattr(figures, "model_figures", tiny)


@pytest.mark.slow
def test_kill_at_random_instants_while_replacing_a_report(tmp_path, monkeypatch):
    """>= 50 SIGKILLs at random instants of a report's write phase (forked writers, so each
    starts at once): the previous or the new report is always complete under its name, and
    the next run leaves no debris."""
    import signal

    from model.engine.simulate import simulate
    from model.reporting import build_report

    _tiny_figures(monkeypatch)
    sc = load_scenario(VALID)
    runs = [simulate(sc, draws=300, seed=s, workers=1) for s in range(4)]
    rep = tmp_path / "rep"
    build_report(runs[0], out=rep, sensitivity=False)

    def write(res) -> int:
        pid = os.fork()
        if pid == 0:  # the writer: replace the report, then exit at once
            try:
                build_report(res, out=rep, sensitivity=False)
            finally:
                os._exit(0)
        return pid

    t0 = time.perf_counter()
    os.waitpid(write(runs[1]), 0)
    write_time = time.perf_counter() - t0
    rng = np.random.default_rng(7)
    seeds_seen = set()
    for i in range(60):
        pid = write(runs[i % 4])
        time.sleep(rng.uniform(0.0, 1.3 * write_time))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert rep.is_dir() and _complete(rep), f"kill {i}: the report folder is incomplete"
        seeds_seen.add(json.loads((rep / "summary.json").read_text())["seed"])
    assert len(seeds_seen) > 1  # some kills came after a swap, some before
    build_report(runs[0], out=rep, sensitivity=False)  # the next run cleans up
    assert _complete(rep)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no debris


def test_a_killed_runs_temporary_store_is_removed_by_the_next_one(tmp_path, monkeypatch):
    """An out-of-core run without --out streams to a temporary store; one left by a run that
    was killed (its pid gone, its lock free) is removed by the next such run, while a live
    run's store (its pid alive, or its lock held) is left alone."""
    import tempfile

    from model.core.fileio import hold_lock, release_lock
    from model.engine.simulate import simulate
    from model.engine.store import TEMP_PREFIX

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead_pid = 2**22 + 4321  # above pid_max on this kind of machine: never alive
    assert not outputs.pid_alive(dead_pid)
    dead = tmp_path / f"{TEMP_PREFIX}{dead_pid}-abcd1234"
    (dead / "draws.zarr").mkdir(parents=True)
    release_lock(hold_lock(dead))  # its lock as capex wrote it, free: the process is gone
    (dead / "draws.zarr" / "chunk").write_bytes(b"x" * 4096)
    users = tmp_path / f"{TEMP_PREFIX}{dead_pid}-mine"  # a lookalike capex did not make
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    alive = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-abcd1234"
    alive.mkdir()
    release_lock(hold_lock(alive))
    locked = tmp_path / f"{TEMP_PREFIX}{dead_pid + 1}-abcd1234"  # pid gone, lock still held
    locked.mkdir()
    fd = hold_lock(locked)
    try:
        with pytest.warns(Warning, match="temporary Zarr store"):
            simulate(load_scenario(VALID), draws=300, workers=1, out_of_core=True)
    finally:
        os.close(fd)
    assert not dead.exists() and alive.exists() and locked.exists()
    assert (users / "notes.txt").read_text() == "mine"


def test_sigterm_removes_the_temporary_store_and_says_so_at_once(tmp_path):
    """SIGTERM (kill, timeout, a cancelled CI job) during a run streaming to a temporary store:
    the warning naming the store came on stderr before the work, the store is removed, exit
    143; the same for a report being staged: no staging folder is left."""
    import signal

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    cmd = [sys.executable, "-m", "model", "run", str(VALID), "--draws", "4e6", "--quiet"]
    p = subprocess.Popen(
        [*cmd, "--memory-budget", "64MB"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    first = p.stderr.readline()  # printed when raised, not when the command ends
    assert "temporary Zarr store" in first and p.poll() is None, first
    assert list(tmp.glob("capex-store-*"))
    p.send_signal(signal.SIGTERM)
    rest = p.communicate(timeout=60)[1]
    assert p.returncode == 143 and "terminated" in rest and "Traceback" not in rest, rest
    assert not list(tmp.glob("capex-store-*"))
    rep = tmp_path / "rep"
    cmd = [sys.executable, "-m", "model", "report", str(VALID), "--out", str(rep)]
    p = subprocess.Popen([*cmd, "--draws", "2000"], stderr=subprocess.PIPE, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".capex-staging.*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(tmp_path.glob(".capex-staging.*")), "the report never started its staging"
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    assert p.returncode == 143
    assert not list(tmp_path.glob(".capex-staging.*")) and not rep.exists()


def test_capex_new_never_loses_a_file(tmp_path):
    """``capex new``: an existing file is refused without --force and kept as ``.bak`` with
    it (an existing ``.bak`` refused); the portfolio template checks all three files before it
    writes any; a folder, a symbolic link or a path under a file is exit 2."""
    mine = tmp_path / "plan.yaml"
    mine.write_text("my plan")
    code, _, err = capex("new", "plan", "--out", mine)
    assert code == 2 and "file exists" in err and mine.read_text() == "my plan"
    assert capex("new", "plan", "--out", mine, "--force")[0] == 0
    assert (tmp_path / "plan.yaml.bak").read_text() == "my plan" and "plan" in mine.read_text()
    code, _, err = capex("new", "plan", "--out", mine, "--force")
    assert code == 2 and "plan.yaml.bak" in err
    pf = tmp_path / "pf.yaml"
    pf.write_text("my portfolio")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "nowhere.yaml")
    before = snapshot(tmp_path)
    code, _, err = capex("new", "pf", "--model", "portfolio", "--out", pf)
    assert code == 2 and snapshot(tmp_path) == before  # not even the members were written
    for bad, phrase in [
        (tmp_path, "is a folder"),
        (tmp_path / "link.yaml", "symbolic link"),
        (mine / "x.yaml", "is a file, so no folder"),
    ]:
        code, _, err = capex("new", "plan", "--out", bad, "--force")
        assert code == 2 and phrase in err and "Traceback" not in err, err
    assert snapshot(tmp_path) == before


def test_output_paths_that_cannot_work_stop_before_the_work(tmp_path):
    """A name over 255 bytes, an empty --out, and --out/--report-out inside one another: exit
    2 before sampling, nothing written (the last used to run, then refuse or overwrite)."""
    base = ["run", VALID, "--draws", "200", "--quiet"]
    cases = [
        (["--out", tmp_path / ("a" * 300)], "too long"),
        (["--out", ""], "--out is empty"),
        (["--out", tmp_path / "r" / "sub", "--report", "--report-out", tmp_path / "r"], "inside"),
        (["--out", tmp_path / "same", "--report", "--report-out", tmp_path / "same"], "same"),
    ]
    for extra, phrase in cases:
        code, _, err = capex(*base, *extra)
        assert code == 2 and phrase in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_report_that_fails_its_checks_leaves_no_new_root(tmp_path):
    """Several files into a new root that stop after the first checks (two files with one
    report folder name): the root is not created (it was left behind, empty and marked)."""
    root = tmp_path / "reports"
    first = tmp_path / "a.yaml"
    first.write_text(VALID.read_text())
    code, _, err = capex(
        "report", VALID, first, "--out", root, "--draws", "200", "--no-sensitivity"
    )
    assert code == 2 and not root.exists(), err  # two files, one report folder name


def test_a_full_disk_while_writing_results_is_exit_2(tmp_path, monkeypatch):
    """The disk cannot take results.nc: exit 2 with what to do, nothing left (a write that
    HDF5 leaves failed used to segfault the interpreter at exit, on a 300 kB tmpfs)."""
    import shutil
    from collections import namedtuple

    from model.engine import results

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(results, "NETCDF_IN_MEMORY_BYTES", 0)  # the large-file path
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9, 1000))
    out = tmp_path / "out"
    code = main(["run", str(VALID), "--draws", "300", "--quiet", "--out", str(out)])
    assert code == 2 and not out.exists() and list(tmp_path.iterdir()) == []


def test_forked_workers_die_with_a_killed_run():
    """SIGKILL of a run leaves no worker behind (each asks the kernel for PR_SET_PDEATHSIG):
    an orphaned worker kept the run's memory and its staging folder's lock, so the next run
    could not remove the debris."""
    import signal

    code = (
        "import os, sys, time\n"
        "from model.engine.parallel import run_pool\n"
        "def work(task):\n"
        "    os.write(1, f'{os.getpid()}\\n'.encode()); time.sleep(60)\n"  # one write: no mixing
        "run_pool([0, 1], 2, work)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    workers = [int(p.stdout.readline()) for _ in range(2)]
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(outputs.pid_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
        for w in workers:  # reap them if they are our children's zombies (they are not ours)
            with __import__("contextlib").suppress(ChildProcessError, OSError):
                os.waitpid(w, os.WNOHANG)
    assert not any(_running(w) for w in workers)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead process not yet reaped by its new parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_the_calibration_cache_follows_the_umask(tmp_path):
    """The cache file is written through a capex temporary sibling and gets the umask's mode
    (mkstemp made it 0600); a dead run's temporary sibling is removed by the next write."""
    import arviz as az

    from model.calibration import shim
    from model.core.fileio import TEMP_PREFIX

    dead_pid = 2**22 + 777
    debris = tmp_path / f"{TEMP_PREFIX}fit.nc.{dead_pid}.0badf00d"
    debris.write_bytes(b"half")
    old = os.umask(0o002)
    try:
        posterior = {"a": np.zeros((1, 5))}
        try:  # arviz 0.x takes the groups as keywords, 1.x as one mapping
            idata = az.from_dict(posterior=posterior)
        except TypeError:
            idata = az.from_dict({"posterior": posterior})
        shim.to_netcdf(idata, tmp_path / "fit.nc")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "fit.nc").stat().st_mode) == 0o664
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]


# ============================================================================ 3. paths inside
def test_an_overlay_name_that_climbs_out_is_refused_by_validate(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    code, _, err = capex("validate", ATTACK / "overlay_traversal.yaml")
    assert code == 2
    assert (
        "overlay_traversal.yaml:95: scenarios: overlay name '../../../../victim' must be a "
        "slug" in err
    )
    code, _, err = capex(
        "report",
        ATTACK / "overlay_traversal.yaml",
        "--overlays",
        "--out",
        tmp_path / "rep",
        "--draws",
        200,
        "--no-sensitivity",
    )
    assert code == 2 and (victim / "keep.txt").read_text() == "keep"
    assert not (tmp_path / "rep").exists()


def test_a_name_that_is_a_path_is_refused():
    with pytest.raises(AssumptionError, match="is not a slug"):
        load_scenario(ATTACK / "name_traversal.yaml")


def test_written_paths_are_checked_to_stay_inside(tmp_path):
    with pytest.raises(outputs.OutputError, match="outside the output folder"):
        outputs.check_inside(tmp_path, Path("../escape.png"))
    with pytest.raises(outputs.OutputError):
        outputs.check_inside(tmp_path, Path("/etc/passwd"))
    assert (
        outputs.check_inside(tmp_path, Path("figures/a.png"))
        == (tmp_path / "figures" / "a.png").resolve()
    )


# ============================================================================ 4. bounded reading
def test_billion_laughs_is_refused_at_once():
    t0 = time.perf_counter()
    code, _, err = capex("validate", ATTACK / "alias_bomb.yaml", timeout=60)
    assert code == 2 and "alias bomb" in err
    assert time.perf_counter() - t0 < 60  # a regression would run for minutes


@pytest.mark.parametrize(
    "fixture,phrase",
    [
        ("extends_dev_zero", "under /dev, a virtual file system"),
        ("extends_proc", "under /proc, a virtual file system"),
        ("extends_passwd", "is not a YAML file"),
    ],
)
def test_extends_reads_only_regular_yaml_files(fixture, phrase):
    code, _, err = capex("validate", ATTACK / f"{fixture}.yaml", timeout=60)
    assert code == 2 and phrase in err
    assert f"{fixture}.yaml:4: extends:" in err  # the child's extends: line


def test_extends_of_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "base.yaml"
    os.mkfifo(fifo)
    (tmp_path / "child.yaml").write_text("schema: 1\nname: child\nextends: base.yaml\n")
    code, _, err = capex("validate", tmp_path / "child.yaml", timeout=60)
    assert code == 2 and "not a regular file" in err


def test_an_error_in_a_parent_names_the_childs_extends_line(tmp_path):
    (tmp_path / "base.yaml").write_text(VALID.read_text().replace("value: 0.21", "value: 2.1"))
    (tmp_path / "child.yaml").write_text("schema: 1\nname: child\n\nextends: base.yaml\n")
    with pytest.raises(AssumptionError) as info:
        load_scenario(tmp_path / "child.yaml")
    (p,) = info.value.problems
    assert p.file.endswith("base.yaml") and p.parameter == "tax_rate"
    assert "extended from" in p.message and "child.yaml:4" in p.message


def test_explicit_tags_are_refused_with_their_line():
    with pytest.raises(AssumptionError) as info:
        load_scenario(ATTACK / "python_tag.yaml")
    (p,) = info.value.problems
    assert p.line == 92 and "explicit YAML tag" in p.message and "python/object" in p.message


def test_every_input_has_a_size_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPEX_MAX_INPUT_BYTES", "1000")
    with pytest.raises(AssumptionError, match="larger than the 0.001 MB an input may be"):
        load_scenario(VALID)
    obs = ROOT / "assumptions" / "observations"
    for loader, path in (
        (load_observations, obs / "anthropic_revenue.csv"),
        (load_priors, obs / "priors.yaml"),
    ):
        with pytest.raises(AssumptionError, match="CAPEX_MAX_INPUT_BYTES"):
            loader(path)


def test_unknown_keys_in_years_are_refused():
    for fixture, hint in (
        ("years_step", "only start and end"),
        ("unknown_years_key", "did you mean 'end'"),
    ):
        with pytest.raises(AssumptionError) as info:
            load_scenario(ATTACK / f"{fixture}.yaml")
        (p,) = info.value.problems
        assert p.parameter == "years" and hint in p.message and p.line == 5


@pytest.mark.slow
def test_a_five_megabyte_file_validates(tmp_path):
    """A large (5 MB) but valid file: a bibliography of 20,000 sources. Its time is recorded in
    benchmarks/ (budget 2 s); here it must simply validate."""
    lines = [VALID.read_text().replace("sources:\n", "sources:\n", 1)]
    text = VALID.read_text()
    head, rest = text.split("parameters:", 1)
    extra = "".join(
        f"  extra-{i}:\n    title: A long title of a report about data centres number {i} "
        f"{'x' * 120}\n    publisher: Publisher {i}\n    published: 2025-01-01\n"
        f"    url: https://example.org/{i}\n"
        for i in range(20_000)
    )
    big = head.replace("sources:\n", "sources:\n" + extra, 1) + "parameters:" + rest
    path = tmp_path / "big.yaml"
    path.write_text(big)
    assert 4e6 < path.stat().st_size < 10e6
    del lines
    sc = load_scenario(path)
    assert len(sc.sources) > 20_000


# ============================================================================ 5. memory guard
def test_a_run_larger_than_memory_is_refused_before_sampling():
    t0 = time.perf_counter()
    code, _, err = capex("run", VALID, "--draws", "1e9", "--quiet")
    assert code == 2 and "GB of memory" in err and "--series-draws" in err
    assert time.perf_counter() - t0 < 60


def test_a_run_over_budget_without_zarr_is_exit_2_before_sampling(monkeypatch, capsys):
    """Over the memory budget a run streams to a Zarr store; without the scale extra that is
    exit 2 naming the install, before sampling (it was an internal error on a fresh install)."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "zarr" else real(name, *a)
    )
    args = ["run", str(VALID), "--draws", "300000", "--memory-budget", "32MB", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "pip install 'capex[scale]'" in err and "internal error" not in err


def test_the_memory_estimate_grows_with_draws():
    from model.engine.simulate import memory_estimate

    sc = load_scenario(VALID)
    a = memory_estimate(sc, 10_000, 200_000, 2)
    b = memory_estimate(sc, 1_000_000, 200_000, 2)
    assert 0 < a < b and b / 1_000_000 < 2_000  # bytes per draw stay in the hundreds


# ============================================================================ 6. crash-free loaders
def test_priors_with_an_impossible_date_or_a_list_for_a_name():
    with pytest.raises(AssumptionError) as info:
        load_priors(ATTACK / "priors_bad_date.yaml")
    (p,) = info.value.problems
    assert p.line == 3 and "not a calendar date" in p.message
    with pytest.raises(AssumptionError) as info:
        load_priors(ATTACK / "priors_list_family.yaml")
    msgs = {p.line: p.message for p in info.value.problems}
    assert "is not a prior family" in msgs[4]
    assert "must be a number, not a list" in msgs[5]
    assert "did you mean 'source'" in msgs[6]


def test_observations_duplicate_conflicting_and_out_of_range_rows():
    with pytest.raises(AssumptionError) as info:
        load_observations(ATTACK / "obs_duplicate.csv")
    (p,) = info.value.problems
    assert p.line == 4 and "repeats line 2" in p.message
    with pytest.raises(AssumptionError) as info:
        load_observations(ATTACK / "obs_conflict.csv")
    (p,) = info.value.problems
    assert p.line == 4 and "conflicts with line 2" in p.message
    with pytest.raises(AssumptionError) as info:
        load_observations(ATTACK / "obs_dates.csv")
    msgs = {p.line: p.message for p in info.value.problems}
    assert "not a calendar date" in msgs[2]
    assert "outside 1990-2100" in msgs[3] and "outside 1990-2100" in msgs[4]


def test_every_message_of_every_attack_and_bad_fixture_ends_with_a_fix():
    files = sorted((ROOT / "tests" / "fixtures" / "bad").glob("*.yaml"))
    files += hostile_files()
    for f in files:
        try:
            load_scenario(f)
        except AssumptionError as e:
            for p in e.problems:
                what, sep, fix = p.message.partition("; ")
                assert sep and fix.strip(), f"{f.name}: no fix in {p.message!r}"
        else:
            raise AssertionError(f"{f.name} loaded")


# ============================================================================ 7. plausibility
def test_an_implausible_value_warns_on_stderr_and_in_json(tmp_path):
    f = tmp_path / "odd.yaml"
    f.write_text(
        VALID.read_text().replace(
            "discount_rate:\n    value: 0.1", "discount_rate:\n    value: 0.45"
        )
    )
    with pytest.warns(PlausibilityWarning, match="plausible range 0-0.3"):
        load_scenario(f)
    code, out, err = capex("run", f, "--draws", 200, "--json", "--quiet")
    assert code == 0
    assert "capex: warning:" in err and "discount_rate" in err
    (w,) = json.loads(out)["warnings"]
    assert "odd.yaml" in w and "discount_rate" in w
    code, out, err = capex("validate", f, "--json")
    assert code == 0 and len(json.loads(out)["warnings"]) == 1


def test_shipped_files_raise_no_plausibility_warning(recwarn):
    shipped = ROOT / "assumptions"
    for f in sorted(shipped.glob("*.yaml")) + sorted((shipped / "buildout").glob("*.yaml")):
        if is_portfolio_file(f):
            load_portfolio(f)
        else:
            load_scenario(f, allow_partial=True)
    assert not [w for w in recwarn if issubclass(w.category, PlausibilityWarning)]


# ============================================================================ 8. cache integrity
@pytest.fixture(scope="module")
def small_fit_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cache-fit")
    obs = ROOT / "assumptions" / "observations"
    for name in ("h100_rental_price.csv", "priors.yaml"):
        (d / name).write_bytes((obs / name).read_bytes())
    return d


FAST = dict(draws=100, tune=100, chains=2, cores=1, seed=3, prior_draws=50)


def _fit(d, **kw):
    from model.calibration import fitting as C

    C._MEMO.clear()
    return C.fit(d / "h100_rental_price.csv", "exp_decline", cache_dir=d / "cache", **FAST, **kw)


@pytest.mark.slow
def test_damaged_cache_files_are_resampled_with_a_warning(small_fit_dir):
    import h5py

    first = _fit(small_fit_dir)
    path = first.cache_path
    assert path.is_file() and not first.from_cache
    assert _fit(small_fit_dir).from_cache  # an intact file is used
    original = path.read_bytes()

    def tamper(p):
        with h5py.File(p, "r+") as h:
            h["posterior"]["decline"][0, 0] = 99.0

    def truncate(p):
        p.write_bytes(original[: len(original) // 2])

    def partial(p):
        with h5py.File(p, "r+") as h:
            del h["prior"]

    def foreign(p):
        with h5py.File(p, "r+") as h:
            h["posterior"].attrs["capex_key"] = "0" * 64

    for damage, phrase in (
        (tamper, "content hash"),
        (truncate, "cannot be read"),
        (partial, "groups missing"),
        (foreign, "belongs to other"),
    ):
        path.write_bytes(original)
        damage(path)
        with pytest.warns(CacheWarning, match=phrase):
            cal = _fit(small_fit_dir)
        assert not cal.from_cache
        assert float(np.max(cal._draws["decline"])) < 99.0
        assert _fit(small_fit_dir).from_cache  # the re-sampled fit replaced the bad file


def test_cache_key_includes_the_versions_of_capex_pymc_and_arviz(small_fit_dir, monkeypatch):
    from model.calibration import curves
    from model.calibration import fitting as C
    from model.loading.priors import load_priors as lp

    spec = curves.MODELS["exp_decline"]
    mp = lp(small_fit_dir / "priors.yaml")["exp_decline"]
    a = C._cache_key(b"x", spec, mp, {})
    monkeypatch.setattr(C, "_versions", lambda: {"capex": "9", "pymc": "9", "arviz": "9"})
    assert C._cache_key(b"x", spec, mp, {}) != a


def test_a_cache_path_that_is_not_a_folder_stops_before_sampling(small_fit_dir, monkeypatch):
    from model.calibration import fitting as C

    blocker = small_fit_dir / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setattr(C, "_sample", lambda *a, **k: pytest.fail("sampled"))
    C._MEMO.clear()
    with pytest.raises(AssumptionError, match="is a file; set CAPEX_CACHE_DIR"):
        C.fit(
            small_fit_dir / "h100_rental_price.csv",
            "exp_decline",
            cache_dir=blocker / "cache",
            **FAST,
        )


# ============================================================================ 9. escaping
def test_user_text_is_escaped_in_every_markdown_output(tmp_path):
    root = tmp_path / "reports"
    assert (
        main(
            [
                "report",
                str(ATTACK / "xss.yaml"),
                str(VALID),
                "--overlays",
                "--draws",
                "200",
                "--no-sensitivity",
                "--quiet",
                "--out",
                str(root),
            ]
        )
        == 0
    )
    md_files = list(root.rglob("*.md"))
    assert {p.name for p in md_files} >= {"report.md", "compare.md", "README.md"}
    for p in md_files:
        text = p.read_text()
        for raw in (r"<script", r"<img", r"(?<!\\)\]\(javascript:"):
            assert not re.search(raw, text), f"{p.relative_to(root)} holds {raw!r}"
    assert "&lt;script>" in (root / "README.md").read_text()
    html = (root / "xss-attack" / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


def test_a_pipe_or_tilde_in_user_text_cannot_break_a_markdown_table(tmp_path):
    """A file name with ``|`` inside a code span in a table cell, and ``~~`` in a title: the
    Markdown (rendered by markdown-it-py with GFM tables and strikethrough, an independent
    renderer) keeps every table row at its column count and strikes nothing."""
    from markdown_it import MarkdownIt

    evil = tmp_path / "evil|x.yaml"
    evil.write_text(VALID.read_text().replace("title:", "title: ~~struck~~", 1), encoding="utf-8")
    out = tmp_path / "rep"
    args = ["report", evil, "--draws", "200", "--no-sensitivity", "--quiet", "--out", out]
    assert main([str(a) for a in args]) == 0
    html = (
        MarkdownIt("commonmark")
        .enable(["table", "strikethrough"])
        .render((out / "report.md").read_text())
    )
    assert "<s>" not in html and "~~struck~~" in html
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    file_rows = [r for r in rows if "Input file" in r]
    assert file_rows and all(r.count("<td>") == 2 and "evil|x.yaml" in r for r in file_rows)


# ============================================================================ 10. exit codes
def test_hostile_inputs_are_exit_2_never_internal_errors():
    for f in hostile_files():
        code, _, err = capex("validate", f, timeout=60)
        assert code == 2 and "internal error" not in err, (f.name, err)
        assert located(err), f.name
