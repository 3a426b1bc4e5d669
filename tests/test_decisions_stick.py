"""Keep is a cannot-link constraint, skip is remembered, and bulk decisions preview, respect both and undo as one.

A real folder: one packshot saved as seven edited copies (every copy pairs with every other) among other
packshots, indexed with the real model.
"""
from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from fashionsim_desktop.core import bulk
from fashionsim_desktop.core.indexer import Indexer
from fashionsim_desktop.core.review import (KEEP, MERGE, SKIP, candidate_groups, kept_apart, list_pairs,
                                            merge_groups)
from fashionsim_desktop.core.tiers import Tier
from fashionsim_desktop.store.catalog import Catalog

from .conftest import some_hm_images
from .test_cli import run


@pytest.fixture(scope="module")
def copies_catalog(tmp_path_factory, model_path):
    tmp = tmp_path_factory.mktemp("copies")
    folder = tmp / "photos"
    folder.mkdir()
    original, *others = some_hm_images(7, skip=520)
    with Image.open(original) as im:
        im = im.convert("RGB")
        for k, (scale, quality) in enumerate([(1.0, 95), (1.0, 70), (0.8, 90), (0.6, 85), (0.9, 60), (0.7, 80),
                                              (0.85, 75)]):
            im.resize((int(im.width * scale), int(im.height * scale))).save(folder / f"copy-{k}.jpg", quality=quality)
    for p in others:
        shutil.copy(p, folder / p.name)
    shutil.copy(others[0], folder / "byte-copy.jpg")
    with Catalog(tmp / "cat", root=folder) as catalog:
        Indexer(folder, catalog, model_path=model_path).run()
    return folder, tmp / "cat"


@pytest.fixture
def catalog(copies_catalog, tmp_path):
    """A fresh copy of the indexed catalogue for each test."""
    _, directory = copies_catalog
    shutil.copytree(directory, tmp_path / "cat")
    with Catalog(tmp_path / "cat") as opened:
        yield opened


def sha_of(catalog, name):
    return catalog.present_file(name.encode())["sha256"]


def test_pictures_kept_apart_are_never_joined_by_merges_bulk_actions_or_a_lower_threshold(catalog):
    split, rest = "copy-0.jpg", [f"copy-{k}.jpg" for k in range(1, 6)]
    s0 = sha_of(catalog, split)
    catalog.decide_many([(s0, sha_of(catalog, name), KEEP) for name in rest])  # split copy-0 off its group
    pairs = list_pairs(catalog)
    assert any({p.path_a, p.path_b} == {"copy-0.jpg", "copy-6.jpg"} for p in pairs)  # the chain via copy-6

    step = bulk.plan(pairs, MERGE, Tier.DUPLICATE, None, kept_apart(catalog.decisions()))
    assert step.kept_apart >= 1 and "kept apart" in step.describe()
    bulk.apply(catalog, step)
    kept = {sha_of(catalog, name) for name in rest}
    for group in merge_groups(catalog):
        shas = {m.sha256 for m in group.members}
        assert not (s0 in shas and shas & kept), "a picture split off was merged back"

    # A direct merge through the chain is left out of the groups too (oldest merges win).
    s6 = sha_of(catalog, "copy-6.jpg")
    catalog.decide_many([(s0, s6, MERGE), (s6, sha_of(catalog, "copy-1.jpg"), MERGE)])
    for group in merge_groups(catalog):
        shas = {m.sha256 for m in group.members}
        assert not (s0 in shas and shas & kept)
    # Whatever the threshold, the proposed groups never join them either.
    everything = list_pairs(catalog, 0.0)
    for group in candidate_groups(everything, kept_apart(catalog.decisions())):
        shas = {x for p in group for x in (p.sha_a, p.sha_b)}
        assert not (s0 in shas and shas & kept)


def test_bulk_merge_of_a_tier_previews_decides_only_undecided_pairs_and_undoes_as_one_step(catalog):
    pairs = list_pairs(catalog)
    near = [p for p in pairs if p.tier == Tier.DUPLICATE]
    catalog.decide(near[0].sha_a, near[0].sha_b, KEEP)
    pairs = list_pairs(catalog)
    step = bulk.plan(pairs, MERGE, Tier.DUPLICATE, 0.9, kept_apart(catalog.decisions()))
    assert step.pairs and all(p.score >= 0.9 and p.tier == Tier.DUPLICATE for p in step.pairs)
    assert all(p.key != near[0].key for p in step.pairs) and step.already_decided >= (near[0].score >= 0.9)
    before = catalog.decisions()
    assert bulk.apply(catalog, step) == len(step.pairs)
    assert catalog.decisions()[near[0].key]["decision"] == KEEP  # never overridden
    undone = catalog.undo()
    assert len(undone) == len(step.pairs) and catalog.decisions() == before


def test_cli_decide_all_dry_run_then_apply_and_skip_is_remembered(copies_catalog, tmp_path, isolated_home):
    _, directory = copies_catalog
    shutil.copytree(directory, tmp_path / "cat")
    cat = ("--catalog", tmp_path / "cat")
    preview = run("decide", "--all", "--tier", "exact", "merge", "--dry-run", *cat, home=isolated_home).stdout
    assert "Would do: Merge 1 exact pairs." in preview and "byte-copy.jpg" in preview
    assert not [p for p in json.loads(run("pairs", "--format", "json", *cat, home=isolated_home).stdout)
                if p["decision"]]
    run("decide", "--all", "--tier", "exact", "merge", *cat, home=isolated_home)
    exact = json.loads(run("pairs", "--tier", "exact", "--format", "json", *cat, home=isolated_home).stdout)
    assert [p["decision"] for p in exact] == ["merge"] and exact[0]["tier"] == "exact"

    near = json.loads(run("pairs", "--tier", "duplicate", "--format", "json", *cat, home=isolated_home).stdout)
    run("decide", near[0]["path_a"], near[0]["path_b"], SKIP, *cat, home=isolated_home)
    again = {(p["path_a"], p["path_b"]): p["decision"]
             for p in json.loads(run("pairs", "--format", "json", *cat, home=isolated_home).stdout)}
    assert again[(near[0]["path_a"], near[0]["path_b"])] == SKIP
    result = run("decide", "a.jpg", "merge", *cat, home=isolated_home, check=False)
    assert result.returncode == 1 and "PATH_A PATH_B DECISION" in result.stderr


def test_keeper_policy_applied_to_every_group_previews_then_is_one_undo_step(copies_catalog, tmp_path,
                                                                           isolated_home):
    _, directory = copies_catalog
    shutil.copytree(directory, tmp_path / "cat")
    cat = ("--catalog", tmp_path / "cat")
    run("decide", "--all", "merge", *cat, home=isolated_home)
    preview = run("keeper", "--all", "--dry-run", *cat, home=isolated_home).stdout
    assert "Would do: Make the suggested keeper the chosen keeper of" in preview and "keeper " in preview
    with Catalog(tmp_path / "cat") as catalog:
        assert catalog.keepers() == {}
    run("keeper", "--all", *cat, home=isolated_home)
    with Catalog(tmp_path / "cat") as catalog:
        groups = merge_groups(catalog, with_scores=False)
        assert groups and all(g.keeper_chosen for g in groups)
    assert "Undone: keeper choice" in run("undo", *cat, home=isolated_home).stdout
    with Catalog(tmp_path / "cat") as catalog:
        assert catalog.keepers() == {}
