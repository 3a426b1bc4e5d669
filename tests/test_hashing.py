"""pHash without scipy (core/hashing.py) gives imagehash's hashes: stored catalogues hold them."""
import imagehash
import numpy as np
from PIL import Image

from fashionsim_desktop.core.hashing import compute_hashes, phash
from fashionsim_desktop.core.imaging import decode_file
from tests.conftest import SHARED, some_hm_images


def test_phash_is_imagehash_on_real_pictures():
    paths = some_hm_images(150) + sorted((SHARED / "myntra_dev").rglob("*.jpg"))[:150]
    assert len(paths) == 300
    for path in paths:
        grey = decode_file(str(path)).image.convert("L")
        for picture in (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT)):
            assert phash(picture) == str(imagehash.phash(picture)), path


def test_phash_is_imagehash_on_flat_and_graded_pictures():
    """Where scipy's DCT gives exact zeros (no detail), so must ours: those bits are decided by the zeros."""
    ramp = np.arange(64, dtype=np.uint8) * 4
    pictures = [np.full((40, 60), value, np.uint8) for value in (0, 1, 128, 255)]
    pictures += [np.tile(ramp, (64, 1)), np.tile(ramp[:, None], (1, 64)), np.hstack([np.tile(ramp[:32], (64, 1))] * 2)]
    pictures += [np.random.default_rng(seed).integers(0, 256, (50 + seed, 90 - seed), np.uint8) for seed in range(20)]
    for pixels in pictures:
        assert phash(Image.fromarray(pixels)) == str(imagehash.phash(Image.fromarray(pixels)))


def test_compute_hashes_are_sixteen_hex_digits():
    hashes = compute_hashes(Image.new("RGB", (120, 80), (200, 30, 30)))
    assert set(hashes) == {"phash", "dhash"} and all(len(h) == 16 for h in hashes.values())
