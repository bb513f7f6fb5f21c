"""JupyterLab for a class: a student's work leaves every committed file alone.

``make lab`` serves a working copy, ``.interactive/notebooks/`` (ignored by git), instead of
``notebooks/``: ``prepare`` fills it with a link to each committed notebook, so an unsaved notebook is
always the committed one. ``WorkingCopyContentsManager`` is the server's contents manager there: a
save replaces the link by the student's own copy (the committed file is never written), deleting
that copy brings the committed notebook back, and a committed notebook itself cannot be deleted.
``jupyter/jupyter_server_config.py`` sets this up; ``jupyter/overrides.json`` turns autosave off, so
only a student's own save (Ctrl-S) makes a copy.
"""

import os
import shutil
from pathlib import Path

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from traitlets import Bool, Unicode

SKIPPED = (".ipynb_checkpoints", "__pycache__")


def committed_files(tracked):
    """The files of the folder ``tracked``, relative to it, without hidden ones and checkpoints."""
    tracked = Path(tracked)
    return sorted(
        path.relative_to(tracked)
        for path in tracked.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") or part in SKIPPED for part in path.relative_to(tracked).parts)
    )


def _link(source, target):
    """``target`` as a link to ``source`` (a copy where the system has no links)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.symlink_to(source)
    except OSError:
        shutil.copy2(source, target)


def prepare(tracked, working):
    """Make ``working`` the folder JupyterLab serves: a link to each committed file of ``tracked``
    where the student has no copy of their own; links whose committed file is gone are removed, and a
    student's copy identical to the committed file becomes a link again. Returns ``working`` and the
    student's copies (paths relative to it), which stay as they are."""
    tracked, working = Path(tracked).resolve(), Path(working)
    working.mkdir(parents=True, exist_ok=True)
    copies = []
    for relative in committed_files(tracked):
        source, target = tracked / relative, working / relative
        if target.is_symlink():
            if Path(os.readlink(target)) == source:
                continue
            target.unlink()
        elif target.is_file():
            if target.read_bytes() != source.read_bytes():
                copies.append(relative)
                continue
            target.unlink()
        _link(source, target)
    for path in working.rglob("*"):
        if path.is_symlink() and Path(os.readlink(path)).is_relative_to(tracked) and not path.exists():
            path.unlink()
    return working, copies


class WorkingCopyContentsManager(AsyncLargeFileManager):
    """Jupyter's file contents manager on the working copy that ``prepare`` made: a save, a revert
    to a checkpoint, a rename or a delete never writes through a link to a committed file."""

    tracked_dir = Unicode("", config=True, help="The committed folder the working copy links to.")
    delete_to_trash = Bool(
        False,
        config=True,
        help="Delete for good: a trash folder could appear in the repository (a volume's .Trash-<uid>).",
    )

    def _committed(self, path):
        """The committed file of the API ``path`` (its link's target), or ``None``."""
        if not self.tracked_dir:
            return None
        source = Path(self.tracked_dir).resolve() / path.strip("/")
        return source if source.is_file() else None

    def _unlink_committed(self, os_path):
        """Remove the link at ``os_path`` if it is one to a committed file; return its target."""
        if not os.path.islink(os_path):
            return None
        target = Path(os.readlink(os_path))
        if not self.tracked_dir or not target.is_relative_to(Path(self.tracked_dir).resolve()):
            return None
        os.unlink(os_path)
        return target

    async def save(self, model, path=""):
        """Save into the working copy: a link to a committed notebook becomes the student's copy."""
        os_path = self._get_os_path(path.strip("/"))
        target = self._unlink_committed(os_path) if model.get("chunk") in (None, 1) else None
        try:
            return await super().save(model, path)
        except BaseException:
            if target is not None and not os.path.lexists(os_path):
                os.symlink(target, os_path)  # a failed save leaves the link as it was
            raise

    async def restore_checkpoint(self, checkpoint_id, path):
        """Revert to a checkpoint in the student's copy, not through the link."""
        self._unlink_committed(self._get_os_path(path.strip("/")))
        return await super().restore_checkpoint(checkpoint_id, path)

    async def delete_file(self, path):
        """Delete the student's own files; deleting their copy of a committed notebook brings the
        committed one back, and a committed notebook (a link) is refused."""
        path = path.strip("/")
        os_path = self._get_os_path(path)
        if os.path.islink(os_path) and self._committed(path):
            raise web.HTTPError(
                403,
                f"{path} is a committed notebook and stays. A copy you save can be deleted: "
                "the committed notebook then comes back.",
            )
        await super().delete_file(path)
        source = self._committed(path)
        if source is not None and not os.path.lexists(os_path):
            _link(source, Path(os_path))

    async def rename_file(self, old_path, new_path):
        """Rename in the working copy; a committed notebook renamed stays under its own name too."""
        await super().rename_file(old_path, new_path)
        source, os_path = self._committed(old_path), self._get_os_path(old_path.strip("/"))
        if source is not None and not os.path.lexists(os_path):
            _link(source, Path(os_path))
