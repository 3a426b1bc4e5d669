"""Stored embeddings: 8 bits a value, read back close to the model's float vectors; older float32 rows still read."""
from __future__ import annotations

import sqlite3
from contextlib import closing

import numpy as np

from fashionsim_desktop.core.embedder import Embedder
from fashionsim_desktop.core.imaging import decode_file
from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.store import vector_codec
from fashionsim_desktop.store.catalog import Catalog

from .conftest import some_hm_images


def test_8_bit_embeddings_keep_every_cosine_within_a_thousandth(model_path):
    vectors = Embedder(model_path).embed([decode_file(str(p)).image for p in some_hm_images(24)])
    stored = np.stack([vector_codec.decode(*vector_codec.encode(v)) for v in vectors])
    assert len(vector_codec.encode(vectors[0])[0]) == vectors.shape[1] + 8  # a quarter of float32's bytes
    np.testing.assert_allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-6)
    assert np.abs(stored @ stored.T - vectors @ vectors.T).max() < 1e-3
    # An older catalogue's float32 rows read as they were written.
    assert np.array_equal(vector_codec.decode(vectors[0].astype(np.float32).tobytes(), None), vectors[0])


def test_a_catalogue_stores_8_bits_and_reads_older_float32_rows_beside_them(tmp_path, model_path):
    import shutil

    folder = tmp_path / "pictures"
    folder.mkdir()
    for p in some_hm_images(6):
        shutil.copy2(p, folder / p.name)
    with Catalog(tmp_path / "cat", root=folder) as catalog:
        Indexer(folder, catalog, model_path=model_path).run()
        shas, vectors = catalog.embeddings(catalog.db.execute("SELECT model_id FROM images").fetchone()[0])
    with closing(sqlite3.connect(tmp_path / "cat" / "catalog.sqlite")) as db:
        formats = {fmt for (fmt,) in db.execute("SELECT embedding_format FROM images")}
        assert formats == {vector_codec.UINT8}
        # One row as release 0.4 wrote it: float32, no format.
        with db:
            db.execute("UPDATE images SET embedding=?, embedding_format=NULL WHERE sha256=?",
                       [vectors[0].astype(np.float32).tobytes(), shas[0]])
    with Catalog(tmp_path / "cat") as catalog:
        again_shas, again = catalog.embeddings(catalog.db.execute("SELECT model_id FROM images").fetchone()[0])
        assert again_shas == shas and np.allclose(again, vectors, atol=1e-6)
        assert np.allclose(catalog.embeddings_of([shas[1], shas[0]]), vectors[[1, 0]], atol=1e-6)
