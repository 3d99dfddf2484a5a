"""Where photolens keeps its data and which defaults apply.

Everything a user can override comes from (in order) a command-line option, an environment variable,
then these defaults. Tests point ``PHOTOLENS_DATA_DIR`` at a temporary folder so they never touch a
developer's real library.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "photolens"

#: ViT-B-32 at 256 px trained on DataComp-1B (34B samples seen): the best zero-shot and retrieval scores of
#: the ViT-B-32 family in open_clip's results table (72.8 % ImageNet zero-shot) at B/32 cost, and the model
#: rclip uses, so speed comparisons with it are like for like.
DEFAULT_MODEL_SPEC = "ViT-B-32-256:datacomp_s34b_b86k"

#: Rows of photos that vanished stay this long (days) so that a folder moved out and back, or an unplugged
#: drive, keeps its embeddings; they are invisible in results meanwhile.
DEFAULT_MISSING_GRACE_DAYS = 30


def data_dir() -> Path:
    """The per-user data folder (database, thumbnails, indexes)."""
    override = os.environ.get("PHOTOLENS_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def default_db_url() -> str:
    """``PHOTOLENS_DB`` (a path or any SQLAlchemy URL) or ``<data dir>/library.db``."""
    return os.environ.get("PHOTOLENS_DB") or str(data_dir() / "library.db")


def default_model_spec() -> str:
    return os.environ.get("PHOTOLENS_MODEL") or DEFAULT_MODEL_SPEC
