"""A full disk and a read-only disk under the catalogue: one clear message, nothing saved is lost.

These mount small tmpfs file systems, which needs root (as on CI); elsewhere they are skipped.
"""
from __future__ import annotations

import subprocess
import uuid

import pytest

from fashionsim_desktop.core.errors import CatalogError
from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.store.catalog import Catalog


@pytest.fixture
def mount_tmpfs(tmp_path):
    mounted = []

    def mount(options: str):
        point = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.mark.parametrize("size", ["200k", "420k"])  # full while writing the database / the ANN index
def test_full_disk_gives_a_message_and_keeps_the_catalogue(size, small_catalog_folder, mount_tmpfs, model_path):
    place = mount_tmpfs(f"size={size}")
    with pytest.raises(CatalogError, match="is full"):
        with Catalog(place / "cat", root=small_catalog_folder) as catalog:
            Indexer(small_catalog_folder, catalog, model_path=model_path).run()
    # The catalogue is still readable and consistent after the failure.
    with Catalog(place / "cat") as catalog:
        assert catalog.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_readonly_disk_gives_a_message(small_catalog_folder, mount_tmpfs):
    place = mount_tmpfs("size=1m,ro")
    with pytest.raises(CatalogError, match="cannot be"):
        Catalog(place / "cat", root=small_catalog_folder)


def test_catalogue_place_under_a_file_gives_a_message(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CatalogError, match="cannot be created"):
        Catalog(tmp_path / "a-file" / "cat")
