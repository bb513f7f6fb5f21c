# Configuration of the Jupyter server that `make lab` starts (`jupyter lab --config=<this file>`): a
# class's work in JupyterLab leaves every committed file alone (jupyter/classroom.py).
#
# The server's root is the working copy .interactive/notebooks/ (ignored by git): a link to each
# committed notebook of notebooks/, so a notebook's address is the same, e.g.
# http://localhost:8888/lab/tree/03_relu.ipynb. A student's save (autosave is off: jupyter/overrides.json)
# writes their own copy there; deleting that copy in JupyterLab brings the committed notebook back.
# Classroom containers often run as root: the server is allowed to, without --allow-root.
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classroom  # noqa: E402 (beside this file)

ROOT = Path(__file__).resolve().parent.parent
working, copies = classroom.prepare(ROOT / "notebooks", ROOT / ".interactive" / "notebooks")
if not getattr(classroom, "announced", False):  # the server may read its config more than once
    classroom.announced = True
    print(
        "JupyterLab serves .interactive/notebooks/, the committed notebooks/ linked: a save (Ctrl-S) "
        "keeps your copy there, never a committed file; delete your copy to get the committed one back."
        + (f" Your saved copies: {', '.join(map(str, copies))}." if copies else ""),
        flush=True,
    )

c.ServerApp.root_dir = str(working)  # noqa: F821 (the config object Jupyter passes)
c.ServerApp.contents_manager_class = classroom.WorkingCopyContentsManager  # noqa: F821
c.WorkingCopyContentsManager.tracked_dir = str(ROOT / "notebooks")  # noqa: F821
if hasattr(os, "geteuid") and os.geteuid() == 0:
    c.ServerApp.allow_root = True  # noqa: F821
