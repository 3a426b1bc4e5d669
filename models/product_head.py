"""Fit the product head on the benchmark's tune half and export it to ONNX.

The head maps the stored 1600-d picture embedding to a 128-d unit vector in which a product's colourways lie
close and products of one type closer than products of others. It reads only the stored embedding, so a
catalogue gains product vectors without decoding a picture again.

    python models/product_head.py [--cache DIR] [--out models/fashionsim-product-head.onnx]

Steps: embed the pictures of ../shared/data with the shipped embedding model (cached by content under --cache),
fit the head on the tune half's products (`benchmarks.dataset._split_of`; pictures whose bytes also occur in
the check half are left out), read the tier thresholds from out-of-fold scores on the tune half, export.

Why this head: a linear map fitted in closed form (a generalised eigenproblem, solved with torch.linalg in
float64). It keeps the 128 directions along which product types differ most (plus a tenth of the overall
spread, so that directions beyond the ~110 that separate types still carry the garment's shape) relative to
how much one product's colourways differ along them, plus a ridge (a share of the average variance) so that
directions the training colourways happened not to vary along are not over-trusted. No seed, no learning rate,
no stopping point: the same file on every run. By 3-fold cross-validation by product inside the tune half it
found a colourway first more often than gradient-trained heads (linear or one hidden layer; supervised
contrastive loss over products plus a type classifier; with or without noise drawn from the colourway
scatter to mimic colour changes), which ranked same-type products only slightly better (models/README.md,
"Product head").
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchmarks import similar  # noqa: E402  (the labelled pictures, cached embeddings, search measures)
from fashionsim_desktop.core import product_vectors  # noqa: E402  (the app's names and thresholds)

DEFAULT_OUT = HERE / product_vectors.HEAD_FILENAME
DIM = 128
TOTAL_WEIGHT = 0.1  # share of the overall scatter added to the between-type scatter (0.03-1 measured alike)
RIDGE = 0.3  # x the average variance of the training embeddings; 0.1-1 measured alike by cross-validation on tune
FOLDS = 3
THREADS = 1  # the same float arithmetic, hence the same file, on every run
VARIANT_PRECISION = 0.5  # the variant tier starts where half of the pairs are the same product
SIMILAR_PRECISION = 0.85  # the similar tier starts where 85% of the pairs are the same type (the target)
THRESHOLD_GRID = np.round(np.arange(0.50, 0.995, 0.005), 3)


# -- the fit ----------------------------------------------------------------------------------------------
def _group_index(labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return torch.from_numpy(inverse), torch.from_numpy(counts)


def within_scatter(x: torch.Tensor, labels: np.ndarray, min_size: int = 1) -> torch.Tensor:
    """Covariance of the rows' deviations from their group's mean, over groups of at least `min_size` rows."""
    inverse, counts = _group_index(labels)
    means = torch.zeros(len(counts), x.shape[1], dtype=x.dtype).index_add_(0, inverse, x)
    means /= counts[:, None].to(x.dtype)
    kept = counts[inverse] >= min_size
    deviations = (x - means[inverse])[kept]
    return deviations.T @ deviations / max(len(deviations), 1)


def fit_projection(embeddings: np.ndarray, products: np.ndarray,
                   kinds: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean [1600], weight [1600, DIM]): the DIM directions maximising (between-type scatter + a little of the
    total) over (colourway scatter + a ridge): generalised eigenvectors of (S_type + w S_total, S_colour + r I)."""
    x = torch.from_numpy(embeddings).double()
    mean = x.mean(0)
    x = x - mean
    total = x.T @ x / len(x)
    between_types = total - within_scatter(x, kinds)
    wanted = between_types + TOTAL_WEIGHT * total
    colour = within_scatter(x, products, min_size=2)  # how colourways of one product differ
    ridge = RIDGE * torch.trace(total) / x.shape[1]
    chol = torch.linalg.cholesky(colour + ridge * torch.eye(x.shape[1], dtype=x.dtype))
    # Whitened problem: C = L^-1 A L^-T is symmetric; its eigenvectors U give the directions W = L^-T U.
    half = torch.linalg.solve_triangular(chol, wanted, upper=False)
    whitened = torch.linalg.solve_triangular(chol, half.T.contiguous(), upper=False)
    _, vectors = torch.linalg.eigh((whitened + whitened.T) / 2)
    weight = torch.linalg.solve_triangular(chol.T, vectors[:, -DIM:].flip(1).contiguous(), upper=True)
    # An eigenvector's sign is arbitrary: fix it (largest entry positive) so that the file is the same each run.
    signs = torch.sign(weight.gather(0, weight.abs().argmax(0, keepdim=True)))
    return mean.float(), (weight * signs).float()


class ProductHead(nn.Module):
    """embedding [N, 1600] -> product [N, DIM], unit length."""

    def __init__(self, mean: torch.Tensor, weight: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("weight", weight)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return F.normalize((embedding - self.mean) @ self.weight, dim=1)


def fit_head(embeddings: np.ndarray, labels: similar.Labels, rows: np.ndarray) -> ProductHead:
    mean, weight = fit_projection(embeddings[rows], labels.product[rows], labels.kind[rows])
    head = ProductHead(mean, weight)
    head.eval()
    return head


def project(head: ProductHead, embeddings: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return head(torch.from_numpy(embeddings)).numpy()


# -- which pictures ----------------------------------------------------------------------------------------
def training_rows(pictures: list[similar.Picture]) -> np.ndarray:
    """The tune half's pictures, less any whose bytes also occur in the check half (a few reused Myntra photos)."""
    check_bytes = {p.sha256 for p in pictures if p.split == "check"}
    return np.array([i for i, p in enumerate(pictures) if p.split == "tune" and p.sha256 not in check_bytes])


def fold_of(product: str) -> int:
    # By product, like the halves, and independent of them (another salt).
    return int(hashlib.sha1(f"{product}#fold".encode()).hexdigest(), 16) % FOLDS


# -- thresholds from out-of-fold scores --------------------------------------------------------------------
def out_of_fold_neighbours(embeddings: np.ndarray, labels: similar.Labels, pictures, rows: np.ndarray):
    """Each fold's pictures searched among themselves with a head fitted on the other folds (as an unseen
    catalogue would be): (queries, their 10 nearest, cosines), pooled over folds."""
    folds = np.array([fold_of(pictures[i].product) for i in rows])
    queries, hits, cosines = [], [], []
    for fold in range(FOLDS):
        held_out = rows[folds == fold]
        vectors = project(fit_head(embeddings, labels, rows[folds != fold]), embeddings)
        found, cos = similar.nearest(vectors, held_out, held_out, labels.shas)
        queries.append(held_out)
        hits.append(found)
        cosines.append(cos)
    return np.concatenate(queries), np.concatenate(hits), np.concatenate(cosines)


def lowest_threshold(cosines: np.ndarray, correct: np.ndarray, precision: float) -> float:
    """The lowest grid cosine from which on the share of correct pairs stays >= precision."""
    chosen = float(THRESHOLD_GRID[-1])
    for threshold in THRESHOLD_GRID[::-1]:
        above = cosines >= threshold
        if above.any() and correct[above].mean() < precision:
            break
        chosen = float(threshold)
    return chosen


def choose_thresholds(labels: similar.Labels, queries, hits, cosines) -> dict:
    hm = labels.source[queries] == "hm"
    same_product = labels.product[hits] == labels.product[queries][:, None]
    same_kind = labels.kind[hits] == labels.kind[queries][:, None]
    variant = lowest_threshold(cosines[hm], same_product[hm], VARIANT_PRECISION)
    similar_cos = lowest_threshold(cosines, same_kind, SIMILAR_PRECISION)
    above_v, above_s = cosines[hm] >= variant, cosines >= similar_cos
    return {
        "variant_cosine": variant,
        "variant_precision": float(same_product[hm][above_v].mean()),
        "variant_recall_of_found": float(same_product[hm][above_v].sum() / max(same_product[hm].sum(), 1)),
        "similar_cosine": similar_cos,
        "similar_precision": float(same_kind[above_s].mean()),
        "similar_pairs_per_picture": float(above_s.sum() / len(queries)),
    }


# -- export -----------------------------------------------------------------------------------------------
def export(head: ProductHead, out: Path, embedder_id: str) -> str:
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".onnx.tmp")
    example = torch.zeros(2, head.mean.shape[0])
    torch.onnx.export(
        head, (example,), str(tmp), dynamo=False, opset_version=17,
        input_names=["embedding"], output_names=["product"],
        dynamic_axes={"embedding": {0: "n"}, "product": {0: "n"}},
    )
    model = onnx.load(str(tmp))
    onnx.helper.set_model_props(model, {product_vectors.EMBEDDER_ID_KEY: embedder_id})
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def onnx_agrees(out: Path, head: ProductHead, embeddings: np.ndarray) -> float:
    """Largest difference between onnxruntime's product vectors and torch's (the app runs only the former)."""
    got = product_vectors.ProductEncoder(out).encode(embeddings)
    return float(np.abs(got - project(head, embeddings)).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=similar.DEFAULT_CACHE,
                        help="folder for the pictures' embeddings (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)

    from fashionsim_desktop.core.embedder import default_model_path, model_id

    started = time.perf_counter()
    pictures = similar.load_pictures()
    embeddings = similar.embed_pictures(pictures, args.cache)
    labels = similar.Labels.of(pictures)
    embedded = time.perf_counter()
    rows = training_rows(pictures)
    head = fit_head(embeddings, labels, rows)
    thresholds = choose_thresholds(labels, *out_of_fold_neighbours(embeddings, labels, pictures, rows))
    digest = export(head, args.out, model_id(default_model_path()))
    fitted = time.perf_counter()

    print(f"pictures: {len(pictures)} ({len(rows)} tune pictures fitted, "
          f"{len(set(labels.product[rows]))} products, {len(set(labels.kind[rows]))} types)")
    print(f"embeddings {embedded - started:.1f} s; fit, out-of-fold thresholds and export {fitted - embedded:.1f} s")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB, sha256 {digest[:16]}); "
          f"onnxruntime vs torch max difference {onnx_agrees(args.out, head, embeddings):.1e}")
    print(f"variant tier (tune, out-of-fold): cosine >= {thresholds['variant_cosine']:.3f}: "
          f"{thresholds['variant_precision']:.3f} of pairs the same product, "
          f"{thresholds['variant_recall_of_found']:.3f} of the colourways among the 10 nearest")
    print(f"similar tier (tune, out-of-fold): cosine >= {thresholds['similar_cosine']:.3f}: "
          f"{thresholds['similar_precision']:.3f} of pairs the same type, "
          f"{thresholds['similar_pairs_per_picture']:.2f} pairs per picture")
    for name, value in (("VARIANT_COSINE", thresholds["variant_cosine"]),
                        ("SIMILAR_COSINE", thresholds["similar_cosine"])):
        if abs(getattr(product_vectors, name) - value) > 1e-9:
            print(f"note: core/product_vectors.py has {name} = {getattr(product_vectors, name)}; "
                  f"this fit reads {value:.3f}")
    tune_rows = np.flatnonzero(similar.in_split(pictures, "tune"))
    figures = similar.search_measures(project(head, embeddings), labels, tune_rows)
    print("tune half, fitted head: colourway recall@1 {colourway_recall@1:.3f}, @10 {colourway_recall@10:.3f}, "
          "same-type precision@10 {type_precision@10:.3f} (python -m benchmarks.similar for both halves)"
          .format(**figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
