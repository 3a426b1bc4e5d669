"""Where catalogues live: one folder per indexed folder under the per-user data folder."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import platformdirs

APP_NAME = "FashionSim"
CATALOG_HOME_ENV = "FASHIONSIM_HOME"  # tests and portable installs point this elsewhere


def data_home() -> Path:
    if os.environ.get(CATALOG_HOME_ENV):
        return Path(os.environ[CATALOG_HOME_ENV])
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    if os.environ.get(CATALOG_HOME_ENV):
        return Path(os.environ[CATALOG_HOME_ENV]) / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def catalog_dir_for(folder: Path) -> Path:
    """A stable, readable catalogue folder name: the folder's name plus a hash of its absolute path."""
    resolved = str(Path(folder).resolve())
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(resolved).name)[:40] or "root"
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return data_home() / "catalogs" / f"{slug}-{digest}"
