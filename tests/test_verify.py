"""The pair verifier on real packshots: the evidence it gives for true copies and for look-alikes."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from fashionsim_desktop.core.imaging import decode_file
from fashionsim_desktop.core.pairs import COMPARE_FROM_INLIERS, DEFAULT_MIN_SCORE, SAME_PHOTO_SCORE, score
from fashionsim_desktop.core.verify import Evidence, Prepared, verify

from .conftest import hm_colourway_group, hm_image, some_hm_images


def _prepared(path) -> Prepared:
    return Prepared(np.asarray(decode_file(str(path)).image))


def _variant(tmp_path, name, edit):
    src = some_hm_images(1, skip=40)[0]
    with Image.open(src) as im:
        out = edit(im.convert("RGB"))
    out.save(tmp_path / name, quality=85)
    return src, _prepared(src), _prepared(tmp_path / name)


def test_a_crop_is_aligned_at_the_right_scale(tmp_path):
    src, original, cropped = _variant(tmp_path, "crop.jpg", lambda im: im.crop((40, 60, im.width - 30, im.height - 90)))
    ev = verify(original, cropped)
    assert score(ev) >= DEFAULT_MIN_SCORE and not ev.mirrored
    with Image.open(src) as im:
        expected = max(im.width - 70, im.height - 150) / max(im.size)  # both working copies share a long side
    assert abs(ev.scale - expected) < 0.02


def test_mirrored_copy_is_found_only_through_the_mirrored_match(tmp_path):
    _, original, mirrored = _variant(tmp_path, "mirror.jpg", ImageOps.mirror)
    ev = verify(original, mirrored)
    assert ev.mirrored and score(ev) >= DEFAULT_MIN_SCORE
    without = verify(original, mirrored, try_mirror=False)
    assert not without.mirrored and score(without) < DEFAULT_MIN_SCORE


def test_a_copy_squeezed_to_another_aspect_ratio_is_aligned_by_a_stretched_fit(tmp_path):
    # Marketplaces squash photos into their own frame (Myntra's are 3:4 squashed to square). A similarity
    # transform then lines up only part of the garment; the stretched (affine) fit lays all of it over the
    # original. Measured on this packshot with the similarity fit alone: agreement 0.48 and 0.37, and the
    # wider copy scored 0.48, under the threshold.
    for factor in (0.8, 1.25):
        _, original, squeezed = _variant(tmp_path, f"squeezed-{factor}.jpg",
                                         lambda im: im.resize((round(im.width * factor), im.height)))
        ev = verify(original, squeezed)
        assert score(ev) >= DEFAULT_MIN_SCORE and min(ev.ncc, ev.agree) > 0.9, (factor, ev)
    # The extra freedom does not make look-alikes match: colourways of one garment stay apart.
    group = [_prepared(p) for p in hm_colourway_group()]
    for other in group[1:]:
        assert score(verify(group[0], other)) < DEFAULT_MIN_SCORE


def test_colourways_and_other_garments_are_not_duplicates():
    group = [_prepared(p) for p in hm_colourway_group()]
    for other in group[1:]:
        assert score(verify(group[0], other)) < DEFAULT_MIN_SCORE
    a, b = (_prepared(p) for p in some_hm_images(2, skip=300))
    assert score(verify(a, b)) < 0.1
    assert score(verify(a, a)) > 0.95


def test_pixels_are_compared_only_when_enough_details_match():
    # Below COMPARE_FROM_INLIERS, a pair scores under 0.3 even if its pixels agreed perfectly: skipping the
    # comparison there changes no decision a curator can make above 0.3.
    perfect = Evidence(inliers=COMPARE_FROM_INLIERS - 1, ncc=1.0, agree=1.0, chroma=0.0, lightness=0.0)
    assert score(perfect) < 0.3
    a, b = (_prepared(p) for p in some_hm_images(2, skip=300))
    skipped = verify(a, b, compare_from=COMPARE_FROM_INLIERS)
    assert skipped.inliers < COMPARE_FROM_INLIERS and not skipped.compared and skipped.chroma == 99.0
    same = verify(a, a, compare_from=COMPARE_FROM_INLIERS)
    assert same.compared and same.agree > 0.99 and same.chroma == 0.0


def test_a_caption_on_the_background_does_not_hide_an_exact_copy(tmp_path):
    def caption(im):
        out = im.copy()
        draw = ImageDraw.Draw(out)
        w, h = out.size
        draw.text((int(w * 0.05), int(h * 0.02)), "SALE -30%", fill=(20, 20, 20),
                  font=ImageFont.load_default(size=int(h * 0.07)))
        r = int(min(w, h) * 0.06)
        draw.ellipse([w - 3 * r, r, w - r, 3 * r], fill=(30, 30, 30))  # a corner badge
        return out

    _, original, captioned = _variant(tmp_path, "caption.jpg", caption)
    ev = verify(original, captioned)
    # Measured over either garment, the correlation fell to 0.15 here: the dark caption and badge, on
    # white in the original, outweighed the garment.
    assert ev.ncc > 0.9
    assert score(ev) >= DEFAULT_MIN_SCORE


def test_thumbnails_of_packshots_are_found(tmp_path):
    # 100 px copies: ORB finds few details at that size unless the thumbnail is searched upsampled, and a
    # comparison at the original's resolution blurs it; before both fixes about 1 in 4 was found.
    found = 0
    for k, src in enumerate(some_hm_images(5, skip=200)):
        with Image.open(src) as im:
            thumb = im.convert("RGB")
        thumb.thumbnail((100, 100), Image.Resampling.LANCZOS)
        thumb.save(tmp_path / f"thumb-{k}.jpg", quality=85)
        found += score(verify(_prepared(src), _prepared(tmp_path / f"thumb-{k}.jpg"))) >= DEFAULT_MIN_SCORE
    assert found >= 4


def test_the_same_photo_is_a_duplicate_however_few_details_match_but_a_recolour_is_not():
    same = Evidence(inliers=20, ncc=0.99, agree=0.99, chroma=1.0, lightness=1.0, compared=True)
    assert score(same) >= SAME_PHOTO_SCORE
    # A colourway made by recolouring the same photo (as in the shared data): same structure, other colour.
    recolour = Evidence(inliers=20, ncc=0.99, agree=0.97, chroma=6.1, lightness=10.0, compared=True)
    assert score(recolour) < DEFAULT_MIN_SCORE


def test_a_brightened_or_darkened_copy_is_a_duplicate_but_a_hue_recolour_is_not(tmp_path):
    from PIL import ImageEnhance

    from fashionsim_desktop.core.pairs import COLOUR_CAP, LIGHTNESS_LIMIT

    # Brightness x0.7 and x1.3 move this packshot's lightness by 48 and 42, past the lightness rule (which
    # capped both at COLOUR_CAP before), while its structure stays identical.
    for factor in (0.7, 1.3):
        _, original, toned = _variant(tmp_path, f"tone-{factor}.jpg",
                                      lambda im: ImageEnhance.Brightness(im).enhance(factor))
        ev = verify(original, toned)
        assert ev.lightness > LIGHTNESS_LIMIT and score(ev) >= DEFAULT_MIN_SCORE, (factor, ev)
    # Red and blue swapped: the same photo recoloured (another colourway); chroma moves by 14 and the
    # chroma rule still caps it.
    _, original, swapped = _variant(tmp_path, "swapped.jpg", lambda im: Image.merge("RGB", im.split()[::-1]))
    assert score(verify(original, swapped)) <= COLOUR_CAP


def test_a_mirrored_symmetric_garment_is_aligned_through_the_mirror(tmp_path):
    # This top is nearly symmetric: its mirror copy matches the original directly with 60+ details, but the
    # pixels then disagree; only the mirrored alignment shows it is the same photo.
    src = hm_image("0822344001")
    with Image.open(src) as im:
        ImageOps.mirror(im.convert("RGB")).save(tmp_path / "mirror.jpg", quality=90)
    ev = verify(_prepared(src), _prepared(tmp_path / "mirror.jpg"))
    assert ev.mirrored and score(ev) >= DEFAULT_MIN_SCORE
