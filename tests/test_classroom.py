"""JupyterLab for a class (``make lab``): a student's work leaves every committed file alone."""

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from tornado import web

REPO = Path(__file__).resolve().parent.parent
JUPYTER = REPO / "jupyter"


def load_classroom():
    spec = importlib.util.spec_from_file_location("classroom", JUPYTER / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


classroom = load_classroom()


def notebook(text):
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)]))


@pytest.fixture
def repo(tmp_path):
    """A repository's notebooks/ (two committed notebooks) and its working copy, prepared."""
    tracked = tmp_path / "notebooks"
    tracked.mkdir()
    (tracked / "03_relu.ipynb").write_text(notebook("eta=0.03"))
    (tracked / "05_dropout.ipynb").write_text(notebook("p=0.5"))
    working, copies = classroom.prepare(tracked, tmp_path / ".interactive" / "notebooks")
    assert copies == []
    return tracked, working


def manager(repo):
    tracked, working = repo
    return classroom.WorkingCopyContentsManager(root_dir=str(working), tracked_dir=str(tracked))


def committed_bytes(tracked):
    return {p.name: p.read_bytes() for p in sorted(tracked.iterdir())}


def test_the_working_copy_links_each_committed_notebook_and_keeps_a_students_copy(tmp_path, repo):
    tracked, working = repo
    assert sorted(p.name for p in working.iterdir()) == ["03_relu.ipynb", "05_dropout.ipynb"]
    assert all(p.is_symlink() and p.resolve() == tracked / p.name for p in working.iterdir())
    (tracked / "09_old.ipynb").write_text(notebook("old"))
    classroom.prepare(tracked, working)
    (working / "03_relu.ipynb").unlink()
    (working / "03_relu.ipynb").write_text(notebook("eta=0.05"))  # the student's save
    (working / "05_dropout.ipynb").unlink()
    shutil.copy(tracked / "05_dropout.ipynb", working)  # a copy that equals the committed notebook
    (tracked / "07_new.ipynb").write_text(notebook("new"))  # a notebook the lecturer added since
    (tracked / "09_old.ipynb").rename(tracked / "09_renamed.ipynb")  # and one renamed
    mine = notebook("mine")
    (working / "mine.ipynb").write_text(mine)
    again, copies = classroom.prepare(tracked, working)
    assert again == working and copies == [Path("03_relu.ipynb")]
    assert "eta=0.05" in (working / "03_relu.ipynb").read_text()
    links = sorted(p.name for p in working.iterdir() if p.is_symlink())
    assert links == ["05_dropout.ipynb", "07_new.ipynb", "09_renamed.ipynb"]
    assert not (working / "09_old.ipynb").exists()  # its committed notebook is gone: so is its link
    assert (working / "mine.ipynb").read_text() == mine


def test_a_save_keeps_the_students_copy_and_never_writes_the_committed_notebook(repo):
    tracked, working = repo
    before, cm = committed_bytes(tracked), manager(repo)

    async def edit_and_save():
        model = await cm.get("03_relu.ipynb")
        model["content"]["cells"][0]["source"] = "eta=0.05"
        saved = await cm.save(model, "03_relu.ipynb")
        return saved, await cm.get("03_relu.ipynb")

    saved, reopened = asyncio.run(edit_and_save())
    assert saved["path"] == "03_relu.ipynb" and reopened["content"]["cells"][0]["source"] == "eta=0.05"
    assert committed_bytes(tracked) == before
    copy = working / "03_relu.ipynb"
    assert not copy.is_symlink() and "eta=0.05" in copy.read_text()


def test_reverting_to_a_checkpoint_writes_the_students_copy(repo):
    tracked, working = repo
    before, cm = committed_bytes(tracked), manager(repo)

    async def open_and_revert():
        checkpoint = await cm.create_checkpoint("03_relu.ipynb")  # as JupyterLab does when it opens one
        await cm.restore_checkpoint(checkpoint["id"], "03_relu.ipynb")

    asyncio.run(open_and_revert())
    assert committed_bytes(tracked) == before
    assert not (working / "03_relu.ipynb").is_symlink()
    assert not any(p.name.startswith(".") for p in tracked.iterdir())  # its checkpoints: in the copy


def test_deleting_a_students_copy_brings_the_committed_notebook_back_and_a_committed_one_stays(repo):
    tracked, working = repo
    before, cm = committed_bytes(tracked), manager(repo)

    async def save_delete_and_reopen():
        model = await cm.get("03_relu.ipynb")
        model["content"]["cells"][0]["source"] = "eta=0.05"
        await cm.save(model, "03_relu.ipynb")
        await cm.delete("03_relu.ipynb")
        reopened = await cm.get("03_relu.ipynb")
        with pytest.raises(web.HTTPError) as refused:
            await cm.delete("05_dropout.ipynb")
        return reopened, refused.value

    reopened, refused = asyncio.run(save_delete_and_reopen())
    assert reopened["content"]["cells"][0]["source"] == "eta=0.03"
    assert (working / "03_relu.ipynb").is_symlink()
    assert refused.status_code == 403 and "05_dropout.ipynb is a committed notebook" in refused.log_message
    assert committed_bytes(tracked) == before and (working / "05_dropout.ipynb").is_symlink()


def test_renaming_a_committed_notebook_leaves_it_under_its_own_name_too(repo):
    tracked, working = repo
    before, cm = committed_bytes(tracked), manager(repo)

    async def rename_and_save():
        await cm.rename("03_relu.ipynb", "my_relu.ipynb")
        model = await cm.get("my_relu.ipynb")
        model["content"]["cells"][0]["source"] = "eta=0.05"
        await cm.save(model, "my_relu.ipynb")

    asyncio.run(rename_and_save())
    assert committed_bytes(tracked) == before
    assert (working / "03_relu.ipynb").is_symlink() and "eta=0.05" in (working / "my_relu.ipynb").read_text()


def test_jupyterlab_settings_turn_autosave_off():
    overrides = json.loads((JUPYTER / "overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"] == {"autosave": False}
    schema = Path(sys.prefix) / "share/jupyter/lab/schemas/@jupyterlab/docmanager-extension/plugin.json"
    if not schema.exists():
        pytest.skip("JupyterLab is not installed here")
    assert json.loads(schema.read_text())["properties"]["autosave"]["type"] == "boolean"


def test_make_lab_starts_jupyterlab_with_the_classroom_configuration():
    if not shutil.which("make"):
        pytest.skip("no make")
    done = subprocess.run(["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True)
    (command,) = [line for line in done.stdout.splitlines() if "jupyter lab" in line]
    assert f"--config={JUPYTER / 'jupyter_server_config.py'}" in command
    assert "notebooks/" not in command  # the configuration names the working copy the server serves


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_started_as_make_lab_does_keeps_a_save_out_of_the_committed_notebooks(tmp_path):
    """The real server with this configuration, copied into a repository of its own: a notebook's
    address, a save through Jupyter's REST API (what Ctrl-S sends), and root (classroom containers)."""
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    if jupyter is None:
        pytest.skip("JupyterLab is not installed here")
    shutil.copytree(JUPYTER, tmp_path / "jupyter", ignore=shutil.ignore_patterns("__pycache__"))
    tracked = tmp_path / "notebooks"
    tracked.mkdir()
    (tracked / "03_relu.ipynb").write_text(notebook("eta=0.03"))
    before = committed_bytes(tracked)
    port, token = free_port(), "classroom-test"
    command = [jupyter, "lab", f"--config={tmp_path / 'jupyter' / 'jupyter_server_config.py'}"]
    command += [
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
    ]
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"

    def call(method, path, body=None):
        request = urllib.request.Request(
            base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read()

    try:
        for _ in range(240):
            try:
                call("GET", "/api/status")
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        assert server.poll() is None, (tmp_path / "server.log").read_text()
        assert call("GET", "/lab/tree/03_relu.ipynb")[0] == 200
        model = json.loads(call("GET", "/api/contents/03_relu.ipynb")[1])
        model["content"]["cells"][0]["source"] = "eta=0.05"
        call("PUT", "/api/contents/03_relu.ipynb", {"type": "notebook", "content": model["content"]})
        reopened = json.loads(call("GET", "/api/contents/03_relu.ipynb")[1])
        assert reopened["content"]["cells"][0]["source"] == "eta=0.05"
        assert committed_bytes(tracked) == before
        assert "eta=0.05" in (tmp_path / ".interactive" / "notebooks" / "03_relu.ipynb").read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    text = (tmp_path / "server.log").read_text()
    assert "JupyterLab serves .interactive/notebooks/" in text
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        assert "Running as root is not recommended" not in text
