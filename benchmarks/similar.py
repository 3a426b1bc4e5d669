"""Similar-product search: is the nearest other picture the same product in another colour, or the same kind?

    python -m benchmarks.similar [--split tune|check|both] [--format json] [--cache DIR]

The gallery is every picture of one half's products (`dataset._split_of`: by H&M product_code, by Myntra id), H&M
and Myntra together as in a real mixed catalogue; the H&M pictures alone are reported too. Two searches are
compared: cosine of the stored 1600-d embedding (today's), and cosine of the product head's vectors
(`core/product_vectors.py`). For each query the picture itself and byte-identical copies of it are left out.

- colourway recall@1 / @10: H&M queries whose product_code has other pictures in the gallery; a hit when one of
  them is among the first 1 / 10 results.
- same-type precision@10: every query; the share of its 10 first results of the same product type (H&M
  product_type_name, Myntra articleType; the few Myntra types that name an H&M type are read as that type).
- the tiers: share of the same product among the H&M queries' 10 first results at cosine >= VARIANT_COSINE, and
  the share of their colourways labelled so; share of the same type at cosine >= SIMILAR_COSINE.
- exact-copy recall@1: each picture, saved again as a JPEG (quality 70), searched with the raw embedding; a hit
  when the first result is that picture. Finding copies keeps using the raw embedding; this only confirms it.

Embeddings come from the shipped ONNX model through the app's own decoding, cached by content under --cache
(default: a folder in the system's temporary directory). Images come from ../shared/data; nothing is shipped.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from .dataset import SHARED, _split_of

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "fashionsim-similar-cache"
COPY_QUALITY = 70
TOP_K = 10
EMBED_BATCH = 32
SEARCH_BLOCK = 1024  # query rows per similarity block: bounded memory for any gallery size

# Myntra articleTypes that name an H&M product_type_name (plural or spelling only); the rest stay their own type,
# so a Myntra "Jeans" next to an H&M "Trousers" counts as another type, as it would for either source alone.
TYPE_ALIASES = {
    "Tshirts": "T-shirt", "Shirts": "Shirt", "Tops": "Top", "Sweaters": "Sweater", "Trousers": "Trousers",
    "Jackets": "Jacket", "Dresses": "Dress", "Skirts": "Skirt", "Shorts": "Shorts", "Socks": "Socks",
    "Belts": "Belt", "Ties": "Tie", "Scarves": "Scarf", "Sunglasses": "Sunglasses", "Sandals": "Sandals",
    "Watches": "Watch", "Backpacks": "Backpack", "Umbrellas": "Umbrella", "Gloves": "Gloves", "Bra": "Bra",
    "Leggings": "Leggings/Tights", "Tights": "Leggings/Tights",
}


@dataclass(frozen=True)
class Picture:
    path: Path
    source: str  # "hm" or "myntra"
    product: str  # H&M product_code (shared by colourways), Myntra id
    kind: str  # product type, in the shared vocabulary above
    sha256: str
    split: str  # "tune" or "check"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hm_pictures(shared: Path) -> list[Picture]:
    pictures = []
    with open(shared / "hm_dev" / "articles.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            aid = row["article_id"]
            path = shared / "hm_dev" / "images" / aid[:3] / f"{aid}.jpg"
            if path.exists():
                code = row["product_code"]
                pictures.append(Picture(path, "hm", code, row["product_type_name"], _sha256(path), _split_of(code)))
    return pictures


def _myntra_pictures(shared: Path) -> list[Picture]:
    pictures = []
    with open(shared / "myntra_dev" / "styles.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            path = shared / "myntra_dev" / "images" / f"{row['id']}.jpg"
            if path.exists():
                kind = TYPE_ALIASES.get(row["articleType"], row["articleType"])
                pictures.append(Picture(path, "myntra", row["id"], kind, _sha256(path), _split_of(row["id"])))
    return pictures


def load_pictures(shared: Path = SHARED) -> list[Picture]:
    """Every H&M and Myntra picture with its product, type and half, in a fixed order."""
    return sorted(_hm_pictures(shared) + _myntra_pictures(shared), key=lambda p: str(p.path))


def in_split(pictures: Sequence[Picture], split: str) -> np.ndarray:
    return np.array([p.split == split for p in pictures])


# -- embeddings, cached by content ----------------------------------------------------------------------
def _decoded(data: bytes):
    from fashionsim_desktop.core.imaging import decode

    return decode(data).image  # the working copy the indexer embeds


def _jpeg_copy(data: bytes) -> bytes:
    """The picture saved again as a JPEG: the same photo, other bytes."""
    from PIL import Image

    buf = io.BytesIO()
    with Image.open(io.BytesIO(data)) as im:
        im.convert("RGB").save(buf, "JPEG", quality=COPY_QUALITY)
    return buf.getvalue()


def _cached_vectors(keys: list[str], paths: list[Path], cache_file: Path,
                    load: Callable[[bytes], bytes], embedder) -> np.ndarray:
    """Embeddings of `paths` (after `load`), keyed by `keys` in an .npz under the cache; missing ones computed."""
    known: dict[str, np.ndarray] = {}
    if cache_file.exists():
        with np.load(cache_file) as npz:
            known = dict(zip(npz["keys"].tolist(), npz["vectors"]))
    missing = [i for i, key in enumerate(keys) if key not in known]
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start:start + EMBED_BATCH]
        images = [_decoded(load(paths[i].read_bytes())) for i in batch]
        for i, vector in zip(batch, embedder().embed(images)):
            known[keys[i]] = vector
    if missing:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
        tmp.replace(cache_file)
    return np.stack([known[key] for key in keys]).astype(np.float32)


class _LazyEmbedder:
    """One Embedder (one thread, as in the indexer's workers), created only when something is not cached."""

    def __init__(self, model_path: Optional[Path] = None):
        self.model_path = model_path
        self._embedder = None

    def __call__(self):
        if self._embedder is None:
            from fashionsim_desktop.core.embedder import Embedder

            self._embedder = Embedder(self.model_path, threads=1)
        return self._embedder


def _model_key(model_path: Optional[Path]) -> str:
    # The model that really runs here (the float twin on CPUs that cannot run the int8 model exactly).
    from fashionsim_desktop.core.embedder import model_id, runnable_model

    return model_id(runnable_model(model_path))


def embed_pictures(pictures: Sequence[Picture], cache: Path = DEFAULT_CACHE,
                   model_path: Optional[Path] = None) -> np.ndarray:
    """The stored embedding of each picture, as the indexer computes it: float32 [N, 1600]."""
    cache_file = Path(cache) / f"embeddings-{_model_key(model_path)}.npz"
    return _cached_vectors([p.sha256 for p in pictures], [p.path for p in pictures], cache_file,
                           lambda data: data, _LazyEmbedder(model_path))


def embed_jpeg_copies(pictures: Sequence[Picture], cache: Path = DEFAULT_CACHE,
                      model_path: Optional[Path] = None) -> np.ndarray:
    """The embedding of each picture's JPEG copy (quality COPY_QUALITY)."""
    cache_file = Path(cache) / f"copies-q{COPY_QUALITY}-{_model_key(model_path)}.npz"
    return _cached_vectors([p.sha256 for p in pictures], [p.path for p in pictures], cache_file,
                           _jpeg_copy, _LazyEmbedder(model_path))


# -- search and measures --------------------------------------------------------------------------------
@dataclass
class Labels:
    """Per-picture arrays the measures compare."""
    source: np.ndarray
    product: np.ndarray  # source-qualified, so an H&M code never equals a Myntra id
    kind: np.ndarray
    shas: list[str]
    content: np.ndarray  # one integer per distinct file content

    @classmethod
    def of(cls, pictures: Sequence[Picture]) -> "Labels":
        shas = [p.sha256 for p in pictures]
        ids = {sha: i for i, sha in enumerate(dict.fromkeys(shas))}
        return cls(np.array([p.source for p in pictures]), np.array([f"{p.source}:{p.product}" for p in pictures]),
                   np.array([p.kind for p in pictures]), shas, np.array([ids[s] for s in shas]))


def nearest(vectors: np.ndarray, queries: np.ndarray, gallery: np.ndarray, shas: Sequence[str],
            k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar gallery pictures of each query by cosine: (picture indices [Q, k], cosines [Q, k]).

    `queries` and `gallery` are picture indices; a query's own picture and byte-identical copies of it are
    never returned.
    """
    ids = {sha: i for i, sha in enumerate(dict.fromkeys(shas))}
    content = np.array([ids[s] for s in shas])
    gallery_vectors = vectors[gallery]
    found_at, found_cos = [np.zeros((0, k), dtype=int)], [np.zeros((0, k), dtype=np.float32)]
    for start in range(0, len(queries), SEARCH_BLOCK):
        block = queries[start:start + SEARCH_BLOCK]
        cos = vectors[block] @ gallery_vectors.T
        cos[content[block][:, None] == content[gallery][None, :]] = -np.inf
        order = np.argsort(-cos, axis=1, kind="stable")[:, :k]
        found_at.append(gallery[order])
        found_cos.append(np.take_along_axis(cos, order, axis=1))
    return np.concatenate(found_at), np.concatenate(found_cos)


def colourways_in(labels: Labels, gallery: np.ndarray) -> np.ndarray:
    """For each gallery picture, how many other pictures (other bytes) of its product the gallery holds."""
    products, content = labels.product[gallery], labels.content[gallery]
    same_product = products[:, None] == products[None, :]
    return (same_product & (content[:, None] != content[None, :])).sum(axis=1)


def search_measures(vectors: np.ndarray, labels: Labels, gallery: np.ndarray,
                    variant_cos: Optional[float] = None, similar_cos: Optional[float] = None) -> dict:
    """Colourway recall@1/@10 and same-type precision@10 with every gallery picture as a query; the tiers'
    figures too when their thresholds are given."""
    hits, cos = nearest(vectors, gallery, gallery, labels.shas)
    same_kind = labels.kind[hits] == labels.kind[gallery][:, None]
    same_product = labels.product[hits] == labels.product[gallery][:, None]
    hm = labels.source[gallery] == "hm"
    colourways = np.where(hm, colourways_in(labels, gallery), 0)
    found = same_product[colourways > 0]
    out = {
        "queries": int(len(gallery)),
        "colourway_queries": int((colourways > 0).sum()),
        "colourway_recall@1": float(found[:, 0].mean()),
        "colourway_recall@10": float(found.any(axis=1).mean()),
        "type_precision@10": float(same_kind.mean()),
    }
    if variant_cos is not None:
        # Among the H&M pictures' 10 nearest (Myntra has no colourway labels).
        labelled = (cos >= variant_cos) & hm[:, None]
        out["variant_precision"] = _share(same_product[labelled])
        out["variant_recall"] = float((same_product & labelled).sum() / max(colourways.sum(), 1))
        out["variant_pairs_per_picture"] = float(labelled.sum() / max(hm.sum(), 1))
    if similar_cos is not None:
        similar = cos >= similar_cos
        out["similar_precision"] = _share(same_kind[similar])
        out["similar_pairs_per_picture"] = float(similar.sum() / len(gallery))
    return out


def _share(flags: np.ndarray) -> float:
    return float(flags.mean()) if flags.size else float("nan")


def exact_copy_recall(vectors: np.ndarray, copies: np.ndarray, labels: Labels, gallery: np.ndarray) -> float:
    """Share of the gallery's pictures whose JPEG copy (`copies`, row by row) finds them, or a byte copy of
    them, first. The copy is a new picture: nothing in the gallery is left out."""
    gallery_vectors = vectors[gallery]
    hits = []
    for start in range(0, len(gallery), SEARCH_BLOCK):
        cos = copies[gallery[start:start + SEARCH_BLOCK]] @ gallery_vectors.T
        hits.append(gallery[np.argmax(cos, axis=1)])
    first = np.concatenate(hits) if hits else np.zeros(0, dtype=int)
    return _share(labels.content[first] == labels.content[gallery])


# -- the report -----------------------------------------------------------------------------------------
def measure_half(pictures: Sequence[Picture], split: str, raw: np.ndarray, copies: np.ndarray,
                 product: np.ndarray, copies_product: np.ndarray) -> dict:
    from fashionsim_desktop.core.product_vectors import SIMILAR_COSINE, VARIANT_COSINE

    labels = Labels.of(pictures)
    mixed = np.flatnonzero(in_split(pictures, split))
    hm_alone = mixed[labels.source[mixed] == "hm"]
    return {
        "H&M + Myntra": {
            "raw": search_measures(raw, labels, mixed),
            "product": search_measures(product, labels, mixed, VARIANT_COSINE, SIMILAR_COSINE),
        },
        "H&M alone": {
            "raw": search_measures(raw, labels, hm_alone),
            "product": search_measures(product, labels, hm_alone, VARIANT_COSINE, SIMILAR_COSINE),
        },
        "exact_copy_recall@1": {
            "raw": exact_copy_recall(raw, copies, labels, mixed),
            "product": exact_copy_recall(product, copies_product, labels, mixed),
        },
    }


def print_table(results: dict) -> None:
    thresholds = results["thresholds"]
    print("Similar-product search: cosine nearest neighbours, the picture itself and byte copies left out")
    print(f"{'half':6} {'gallery':13} {'search':13} {'queries':>7} {'colourway q.':>12} {'recall@1':>8} "
          f"{'recall@10':>9} {'same-type P@10':>14}")
    names = {"raw": "raw 1600-d", "product": f"product {results['product_dim']}-d"}
    for split, half in results["halves"].items():
        for gallery in ("H&M + Myntra", "H&M alone"):
            for search, m in half[gallery].items():
                print(f"{split:6} {gallery:13} {names[search]:13} {m['queries']:7d} {m['colourway_queries']:12d} "
                      f"{m['colourway_recall@1']:8.3f} {m['colourway_recall@10']:9.3f} {m['type_precision@10']:14.3f}")
    print(f"\nTiers on product vectors, among each picture's 10 nearest (H&M + Myntra gallery): "
          f"variant at cosine >= {thresholds['variant_cosine']}, similar at >= {thresholds['similar_cosine']}")
    print(f"{'half':6} {'variant: same product':>22} {'colourways labelled':>20} {'per H&M picture':>16} "
          f"{'similar: same type':>19} {'per picture':>12}")
    for split, half in results["halves"].items():
        m = half["H&M + Myntra"]["product"]
        print(f"{split:6} {m['variant_precision']:22.3f} {m['variant_recall']:20.3f} "
              f"{m['variant_pairs_per_picture']:16.2f} {m['similar_precision']:19.3f} "
              f"{m['similar_pairs_per_picture']:12.2f}")
    if "tune" in results["halves"]:
        print("(tune: the head was fitted on these products, so its figures there are optimistic; check: held out)")
    print(f"\nExact-copy search (a JPEG q{COPY_QUALITY} copy finds its picture first), H&M + Myntra gallery:")
    for split, half in results["halves"].items():
        copy = half["exact_copy_recall@1"]
        print(f"{split:6} raw embedding (used for copies) {copy['raw']:.3f}; product vectors {copy['product']:.3f}")


def run(splits: Sequence[str], cache: Path) -> dict:
    from fashionsim_desktop.core.embedder import default_model_path, model_id
    from fashionsim_desktop.core.product_vectors import (
        SIMILAR_COSINE, VARIANT_COSINE, ProductEncoder, default_head_path, head_id,
    )

    pictures = load_pictures()
    wanted = [p for p in pictures if p.split in splits]
    raw = embed_pictures(pictures, cache)
    copies = np.zeros_like(raw)
    rows = np.flatnonzero(np.isin([p.split for p in pictures], list(splits)))
    copies[rows] = embed_jpeg_copies(wanted, cache)
    encoder = ProductEncoder()
    product, copies_product = encoder.encode(raw), encoder.encode(copies)
    return {
        "model_id": model_id(default_model_path()),
        "head_id": head_id(default_head_path()),
        "product_dim": encoder.dim,
        "thresholds": {"variant_cosine": VARIANT_COSINE, "similar_cosine": SIMILAR_COSINE},
        "halves": {split: measure_half(pictures, split, raw, copies, product, copies_product) for split in splits},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Similar-product search: raw embedding vs product head.")
    parser.add_argument("--split", choices=["tune", "check", "both"], default="both")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="folder for the pictures' embeddings (default: %(default)s)")
    args = parser.parse_args(argv)
    splits = ["tune", "check"] if args.split == "both" else [args.split]
    results = run(splits, args.cache)
    if args.format == "json":
        print(json.dumps(results, indent=1))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
