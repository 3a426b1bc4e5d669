"""`fashionsim` command line: headless commands over the core.

    fashionsim index [FOLDER] [--catalog DIR] [--workers N] [--engine local|ray] [--ray-address ADDR]
    fashionsim pairs [--min-score S] [--format table|csv|json]
    fashionsim decide PATH_A PATH_B merge|keep       fashionsim undo
    fashionsim keeper PATH                            fashionsim groups
    fashionsim keeper-policy [--show | --set C,C,...] [--reference-folder F ...] [--formats jpeg,png,...]
    fashionsim export --out FILE [--format csv|json] [--force]   fashionsim errors
    fashionsim search IMAGE [IMAGE ...] [-k K] [--format json]
    fashionsim check NEW_FOLDER [--format table|json] [--add]
    fashionsim doctor                                 fashionsim restore
    fashionsim metadata import FILE.csv [--map FIELD=COLUMN ...] [--dry-run]
    fashionsim metadata show PATH [--format json]

Commands other than `index` use --catalog DIR, or --folder FOLDER (its default catalogue), or else the
catalogue indexed most recently. With no FOLDER, `index` indexes the bundled sample catalogue.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Optional

from .core.errors import Cancelled, FashionSimError
from .core.pairs import DEFAULT_MIN_SCORE
from .core.progress import PHASE_LABELS, Progress
from .core.scan import display_path
from .core.tiers import DUPLICATE_TIERS, Tier
from .store.catalog import Catalog
from .store.locations import catalog_dir_for, data_home

SAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "resources" / "sample_catalog"
LAST_CATALOG_FILE = "last_catalog.txt"


def sample_catalog_folder() -> Path:
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources" / "sample_catalog"
    return SAMPLE_CATALOG


# -- choosing the catalogue ----------------------------------------------------------------------
def _remember(catalog_dir: Path) -> None:
    try:
        home = data_home()
        home.mkdir(parents=True, exist_ok=True)
        (home / LAST_CATALOG_FILE).write_text(str(catalog_dir))
    except OSError:
        pass  # remembering is a convenience, never a reason to fail


def resolve_catalog_dir(args) -> Path:
    if getattr(args, "catalog", None):
        return Path(args.catalog).absolute()  # remembered and printed: never relative to some other cwd
    if getattr(args, "folder", None):
        return catalog_dir_for(Path(args.folder))
    last = data_home() / LAST_CATALOG_FILE
    if last.exists():
        try:
            remembered = last.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            remembered = ""
        if remembered and os.path.isabs(remembered):
            return Path(remembered)
        raise FashionSimError(f"The remembered catalogue in {last} cannot be read; choose one with --catalog, or "
                              "index a folder: fashionsim index FOLDER")
    raise FashionSimError("No catalogue yet. Index a folder first: fashionsim index FOLDER")


_opened: list[Catalog] = []  # catalogues opened by this command: their warnings are printed at the end


def open_existing(args) -> Catalog:
    from .core.workcopies import WorkingCopies

    catalog = Catalog(resolve_catalog_dir(args), create=False)
    _opened.append(catalog)
    WorkingCopies.clear_abandoned(catalog.directory)  # scratch of an index run that was killed
    return catalog


def _say_warnings() -> None:
    for catalog in _opened:
        for message in catalog.warnings:
            print(f"fashionsim: {message}", file=sys.stderr)
    _opened.clear()


# -- progress on a terminal, or as plain lines -----------------------------------------------------
class TerminalProgress:
    """A bar per phase with rate and time left on a terminal (rich); plain lines otherwise."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.rich = None
        self.tasks: dict[str, int] = {}
        self.last_line = 0.0
        self.last_phase: Optional[str] = None
        if stream.isatty():
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeRemainingColumn, TaskProgressColumn)
            from rich.console import Console

            self.rich = RichProgress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                                     TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                     console=Console(file=stream))

    def __enter__(self):
        if self.rich:
            self.rich.start()
        return self

    def __exit__(self, *exc):
        if self.rich:
            self.rich.stop()

    def __call__(self, status) -> None:
        label = PHASE_LABELS.get(status.phase, status.phase)
        rate = f"{status.rate:,.0f}/s" if status.elapsed > 0.5 and status.done else ""
        if self.rich:
            if status.phase not in self.tasks:
                self.tasks[status.phase] = self.rich.add_task(label, total=status.total or None, rate="")
            self.rich.update(self.tasks[status.phase], completed=status.done, total=status.total or None, rate=rate)
            return
        now = time.monotonic()
        finished = status.total and status.done >= status.total
        if status.phase != self.last_phase or finished or now - self.last_line > 5:
            left = status.remaining_seconds
            eta = f", about {left:.0f}s left" if left and not finished else ""
            total = f"/{status.total}" if status.total else ""
            print(f"{label}: {status.done}{total} {rate}{eta}".rstrip(), file=self.stream, flush=True)
            self.last_line, self.last_phase = now, status.phase


# -- commands --------------------------------------------------------------------------------------
def cmd_index(args) -> int:
    from .core.indexer import Indexer

    folder = Path(args.folder) if args.folder else sample_catalog_folder()
    if not args.folder:
        print(f"No folder given: indexing the bundled sample catalogue {folder}", file=sys.stderr)
    directory = Path(args.catalog).absolute() if args.catalog else catalog_dir_for(folder)
    engine, ray_address = _index_engine(args)
    progress = Progress()
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: progress.token.cancel())  # Ctrl-C: stop cleanly, keep finished work
    try:
        with Catalog(directory, root=folder) as catalog:
            _opened.append(catalog)
            indexer = Indexer(folder, catalog, workers=args.workers, engine=engine, ray_address=ray_address)
            with TerminalProgress() as view:
                progress.listener = view
                report = indexer.run(progress)
            counts = catalog.counts()
            from .core.review import list_pairs

            pairs = list_pairs(catalog)
    finally:
        signal.signal(signal.SIGINT, previous)
    _remember(directory.absolute())
    total = sum(report.seconds.values())
    print(f"Indexed {report.files_seen} files in {total:.1f}s "
          f"({report.pictures_decoded} pictures decoded, {report.files_new_or_changed} new or changed, "
          f"{report.files_missing} missing). {counts.get('ok', 0)} pictures in the catalogue, "
          f"{counts.get('error', 0)} could not be read (see: fashionsim errors).")
    if report.files_changed_while_read:
        print(f"{report.files_changed_while_read} files changed while they were being read; they will be read "
              "again on the next run.")
    exact = sum(1 for p in pairs if p.kind == "exact")
    print(f"{len(pairs)} candidate duplicate pairs ({exact} exact, {len(pairs) - exact} near). "
          f"Review them with: fashionsim pairs")
    print(f"Catalogue: {directory}")
    return 0


def _index_engine(args) -> tuple[str, Optional[str]]:
    """(engine, Ray address) of an index command; says before any work starts that Ray is missing or the
    cluster does not answer."""
    engine, address = getattr(args, "engine", "local"), getattr(args, "ray_address", None)
    if address and engine != "ray":
        raise FashionSimError("--ray-address goes with --engine ray.")
    if engine == "ray":
        from .core.ray_engine import check_available

        check_available(address)
    return engine, address


def cmd_pairs(args) -> int:
    from .core.products import pair_products
    from .core.review import list_pairs

    tiers = [Tier(args.tier)] if args.tier else DUPLICATE_TIERS
    with open_existing(args) as catalog:
        pairs = list_pairs(catalog, args.min_score, tiers)
        products = pair_products(catalog, pairs) if args.format == "json" else {}
        if args.format == "json":  # which of the two would stay, and why (core/keeper.py; decodes the pictures)
            from .core.keeper import pair_keepers

            keepers = pair_keepers(catalog, [p for p in pairs if p.tier in DUPLICATE_TIERS])
    if args.format == "json":
        print(json.dumps([{**p.as_dict(), **products[(p.sha_a, p.sha_b)],
                           **keepers.get((p.raw_a, p.raw_b), {"keeper": None, "keeper_reason": None})}
                          for p in pairs], indent=2))
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["path_a", "path_b", "sha256_a", "sha256_b", "score", "kind", "tier", "decision"])
        for p in pairs:
            writer.writerow([p.path_a, p.path_b, p.sha_a, p.sha_b, f"{p.score:.4f}", p.kind, p.tier.value,
                             p.decision or ""])
        sys.stdout.write(buf.getvalue())
    else:
        for p in pairs:
            print(f"{p.score:6.3f}  {p.tier.value:9}  {p.decision or '-':7}  {p.path_a}  <->  {p.path_b}  ({p.summary})")
        shown = f"{args.tier} pairs" if args.tier else f"pairs at score >= {args.min_score}"
        print(f"{len(pairs)} {shown}", file=sys.stderr)
    return 0


def find_picture(catalog: Catalog, arg: str) -> dict:
    """The indexed picture an argument names: a path as `pairs` prints it, a path relative to the catalogue's
    folder or to the current folder, or an absolute path, in any bytes the file system allows (the argument's
    raw bytes are the file's identity; the printed text is tried last)."""
    raw = os.fsencode(arg)
    root = catalog.get_meta("root")
    # A file that exists from here is the file meant, even when the catalogue's folder holds one of that name.
    here = os.path.isabs(raw) or os.path.lexists(raw)
    tries = [] if here else [raw]
    if root:
        root_raw = os.fsencode(root)
        for absolute in (os.path.abspath(raw), os.path.realpath(raw)):
            if absolute.startswith(root_raw.rstrip(b"/") + b"/"):
                tries.append(os.path.relpath(absolute, root_raw))
    if here and not tries:
        raise FashionSimError(f"{display_path(raw)} is not in this catalogue's folder ({root or 'unknown'}); "
                              "choose the catalogue with --catalog or --folder.")
    for candidate in tries:
        found = catalog.present_file(candidate)
        if found:
            return found
    shown = catalog.present_files_shown_as(arg) if arg.isprintable() else []
    if len(shown) == 1:
        return shown[0]
    text = display_path(raw)
    if len(shown) > 1:
        raise FashionSimError(f"{text} names {len(shown)} files whose names display alike; give the file's real "
                              "path (for example with tab completion in the shell).")
    raise FashionSimError(f"{text} is not an indexed picture of this catalogue (give the path as `pairs` shows it, "
                          "or the file's full path).")


def cmd_decide(args) -> int:
    from .core.review import DECISIONS, VARIANT, decide

    wanted = "DECISION" if args.all else "PATH_A PATH_B DECISION"
    if len(args.items) != len(wanted.split()) or args.items[-1] not in DECISIONS:
        raise FashionSimError(f"decide takes {wanted}, where DECISION is one of {', '.join(DECISIONS)} "
                              "(for example: fashionsim decide a.jpg b.jpg merge, or fashionsim decide --all "
                              "--tier exact merge).")
    if args.all:
        return _decide_all(args, args.items[-1])
    if args.tier or args.min_score is not None or args.dry_run:
        raise FashionSimError("--tier, --min-score and --dry-run go with --all.")
    with open_existing(args) as catalog:
        a, b = find_picture(catalog, args.items[0]), find_picture(catalog, args.items[1])
        if a["path_raw"] == b["path_raw"]:
            raise FashionSimError(f"{a['path']} was given twice; a decision is about two pictures.")
        if a["sha256"] == b["sha256"] and args.items[2] == VARIANT:
            raise FashionSimError(f"{a['path']} and {b['path']} are the same bytes: byte copies are duplicates, "
                                  "not variants.")
        decide(catalog, a["sha256"], b["sha256"], args.items[2])
        copies = len(catalog.paths_of_sha(a["sha256"])) if a["sha256"] == b["sha256"] else 0
    print(f"Saved: {args.items[2]} {a['path']} <-> {b['path']}")
    if copies > 2:  # decisions are keyed by content: one covers every byte copy
        print(f"These are byte copies: the decision covers all {copies} files with this content.")
    return 0


def _decide_all(args, decision: str) -> int:
    """`decide --all`: every undecided pair of a tier (and above a score) at once, as one undo step."""
    from .core import bulk
    from .core.review import kept_apart, list_pairs

    with open_existing(args) as catalog:
        pairs = list_pairs(catalog, tiers=[Tier(args.tier)] if args.tier else DUPLICATE_TIERS)
        step = bulk.plan(pairs, decision, Tier(args.tier) if args.tier else None, args.min_score,
                         kept_apart(catalog.decisions()))
        print(("Would do: " if args.dry_run else "") + step.describe())
        if args.dry_run:
            for p in step.pairs:
                print(f"    {p.score:6.3f}  {p.tier.value:9}  {p.path_a}  <->  {p.path_b}")
            return 0
        changed = bulk.apply(catalog, step)
    if not changed:
        print("Nothing to decide.")
        return 0
    print(f"Saved {changed} decisions as one step (fashionsim undo takes them all back).")
    return 0


def cmd_undo(args) -> int:
    with open_existing(args) as catalog:
        undone = catalog.undo()
        names = {sha: display_path(raw) for sha, raw in catalog.one_path_per_sha().items()}
    for sha in catalog.undone_keepers:
        print(f"Undone: keeper choice for {names.get(sha, sha[:12])}")
    if undone or catalog.undone_keepers:
        pass
    elif catalog.undo_left_alone:
        print(f"Your latest step was taken back in the history, but its {catalog.undo_left_alone} pair(s) were "
              "left as they are: someone else has decided them since.")
    else:
        print("Nothing to undo: you have made no decision from the command line that is not undone yet.")
    for step in undone:
        a, b = (names.get(step[k], step[k][:12]) for k in ("sha_a", "sha_b"))
        print(f"Undone: {step['undone'] or 'no decision'} -> {step['restored'] or 'undecided'} ({a} <-> {b})")
    return 0


def cmd_keeper(args) -> int:
    if args.all == bool(args.path):
        raise FashionSimError("keeper takes a PATH (that picture becomes its group's keeper), or --all (the keeper "
                              "policy's suggestion becomes every group's chosen keeper).")
    if args.all:
        return _keeper_all(args)
    if args.dry_run:
        raise FashionSimError("--dry-run goes with --all.")
    with open_existing(args) as catalog:
        picture = find_picture(catalog, args.path)
        catalog.set_keeper(picture["sha256"], picture["path_raw"])
    print(f"Keeper set: {picture['path']}")
    return 0


def _keeper_all(args) -> int:
    """`keeper --all`: every merge group's suggested keeper is fixed as chosen, one undo step, with a preview."""
    from .core import bulk
    from .core.review import merge_groups

    with open_existing(args) as catalog:
        step = bulk.plan_keepers(merge_groups(catalog, with_scores=False))
        print(("Would do: " if args.dry_run else "") + step.describe())
        for group in step.choices:
            print(f"    {group.keeper_reason or group.keeper.path}")
        if args.dry_run:
            return 0
        changed = bulk.apply_keepers(catalog, step)
    print(f"Saved {changed} keeper choices as one step (fashionsim undo takes them all back)." if changed
          else "Nothing to choose.")
    return 0


def cmd_keeper_policy(args) -> int:
    """Show or set the keeper policy, stored in the catalogue so the window and the command line agree."""
    from dataclasses import replace

    from .core import keeper

    with open_existing(args) as catalog:
        policy = keeper.load_policy(catalog)
        if args.set is not None:
            order = tuple(n.strip() for n in args.set.split(",") if n.strip())
            unknown = [n for n in order if n not in keeper.CRITERIA]
            if not order or unknown or len(set(order)) != len(order):
                raise FashionSimError(f"--set takes criteria separated by commas, each once, from: "
                                      f"{', '.join(keeper.CRITERIA)} (not {', '.join(unknown) or 'a repeat'}).")
            policy = replace(policy, order=order)
        if args.reference_folder is not None:
            root = catalog.get_meta("root")
            policy = replace(policy, reference_folders=tuple(
                keeper.reference_folder(root, f) for f in args.reference_folder if f.strip()))
        if args.formats is not None:
            formats = tuple(keeper.normal_format(f) for f in args.formats.split(",") if f.strip())
            if not formats:
                raise FashionSimError("--formats takes file formats separated by commas, e.g. jpeg,png,webp.")
            policy = replace(policy, formats=formats)
        changed = args.set is not None or args.reference_folder is not None or args.formats is not None
        if changed:
            keeper.save_policy(catalog, policy)
    print(("Saved. " if changed else "") + keeper.describe(policy))
    return 0


def cmd_doctor(args) -> int:
    from .core.doctor import check_catalog

    findings = check_catalog(resolve_catalog_dir(args))
    for finding in findings:
        print(f"{'ok     ' if finding.ok else 'PROBLEM'}  {finding.text}")
    return 0 if all(f.ok for f in findings) else 1


def cmd_restore(args) -> int:
    from .store.catalog import restore_catalog

    directory = resolve_catalog_dir(args)
    result = restore_catalog(directory)
    for message in result["warnings"]:
        print(f"fashionsim: {message}", file=sys.stderr)
    if not result["rebuilt"]:
        print(f"The catalogue {directory} is not damaged; nothing to rebuild. {result['decisions']} decisions "
              f"({result['recovered_steps']} steps applied from the journal just now).")
        return 0
    moved = f" The old database files were moved aside: {', '.join(result['moved_aside'])}." if result["moved_aside"] else ""
    print(f"Rebuilt {result['decisions']} decisions and {result['keepers']} keeper choices from the journal "
          f"({result['recovered_steps']} steps).{moved}")
    print(f"Index the folder again to bring back its pictures: fashionsim index {result['root'] or 'FOLDER'} "
          f"--catalog {directory}")
    return 0


def cmd_groups(args) -> int:
    from .core.export import summary
    from .core.review import merge_groups

    with open_existing(args) as catalog:
        groups = merge_groups(catalog)
    for g in groups:
        print(f"group {g.group_id}: keeper {g.keeper.path}{' (chosen)' if g.keeper_chosen else ''}")
        print(f"    why: {g.keeper_reason.split(': ', 1)[-1]}")
        for m in g.duplicates:
            print(f"    duplicate {m.path}")
    s = summary(groups)
    print(f"{s['groups']} groups, {s['duplicates']} duplicates, {s['bytes_freed'] / 1e6:.1f} MB would be freed")
    return 0


def cmd_export(args) -> int:
    from .core.export import TargetExists, write_merge_list

    out = Path(args.out)
    if args.what != "merges":
        return _export_catalogue_file(args, out)
    with open_existing(args) as catalog:
        try:
            count, skipped = write_merge_list(catalog, out, args.format, replace=args.force)
        except TargetExists as exc:
            raise FashionSimError(f"{exc} Add --force to replace it.") from exc
        except OSError as exc:
            raise FashionSimError(f"The merge list could not be written to {out}: {exc.strerror or exc}") from exc
    print(f"Wrote {count} approved merges to {out}")
    if skipped:
        print(f"Left out {skipped} duplicate{'s' * (skipped != 1)}: a photo shared by two product ids whose removal "
              "would leave a product without any photo (see: fashionsim metadata show PATH).")
    return 0


def _export_catalogue_file(args, out: Path) -> int:
    """`export --what replace-map|variant-groups`: the files a catalogue system imports beside the merge list."""
    from .core import catalogue_files
    from .core.export import TargetExists

    with open_existing(args) as catalog:
        try:
            count = catalogue_files.write(catalog, args.what, out, args.format, replace=args.force)
        except TargetExists as exc:
            raise FashionSimError(f"{exc} Add --force to replace it.") from exc
        except OSError as exc:
            raise FashionSimError(f"The {args.what} file could not be written to {out}: {exc.strerror or exc}") from exc
    what = "replacements (duplicate -> keeper)" if args.what == "replace-map" else "pictures in variant groups"
    print(f"Wrote {count} {what} to {out}")
    return 0


def cmd_errors(args) -> int:
    with open_existing(args) as catalog:
        errors = catalog.file_errors()
    if args.format == "json":
        print(json.dumps([{"path": p, "reason": r} for p, r in errors], indent=2))
    else:
        for path, reason in errors:
            print(f"{path}: {reason}")
        print(f"{len(errors)} files could not be indexed", file=sys.stderr)
    return 0


def cmd_search(args) -> int:
    from .core.imaging import DecodeError
    from .core.search import REBUILT_MESSAGE, Searcher

    with open_existing(args) as catalog:
        searcher = Searcher(catalog)
        if searcher.rebuilt:
            print(REBUILT_MESSAGE, file=sys.stderr)
        if not searcher.ready:
            raise FashionSimError("This catalogue has no search index yet. Run: fashionsim index FOLDER")
        results = []
        for image in args.images:
            try:
                found = searcher.grouped_file(Path(image), args.k)
                results.append({"query": image, "results": found.rows()})
            except (DecodeError, OSError) as exc:
                results.append({"query": image, "error": str(exc), "results": []})
        searcher.close()
    if args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(f"{r['query']}:" + (f" {r['error']}" if "error" in r else ""))
            for h in r["results"]:
                copies = f"  (and {len(h['copies']) - 1} more copies)" if len(h.get("copies", [])) > 1 else ""
                print(f"    {h['similarity']:.3f}  {h['tier']:9}  {h['path']}{copies}")
    return 0 if all("error" not in r for r in results) else 1


def cmd_check(args) -> int:
    """Intake check: which pictures of a new shoot the catalogue already has (exit 3), or none (exit 0). Reads the
    catalogue only; with --add, the shoot is then indexed into it like `fashionsim index`."""
    from .core.intake import check
    from .core.scan import check_folder

    shoot = check_folder(Path(args.shoot))  # as typed: absolute, or relative to the current folder
    with open_existing(args) as catalog:
        root = catalog.get_meta("root")
        if args.add and not (root and shoot.is_relative_to(Path(root).resolve())):
            raise FashionSimError(f"{shoot} is not inside the catalogue's folder ({root or 'not recorded'}), so --add "
                                  "cannot index it: move the shoot into that folder first, then check it with --add.")
        progress = Progress()
        previous = signal.signal(signal.SIGINT, lambda *_: progress.token.cancel())  # Ctrl-C: stop cleanly
        try:
            with TerminalProgress() as view:
                progress.listener = view
                report = check(catalog, shoot, progress, args.min_score, args.workers)
        finally:
            signal.signal(signal.SIGINT, previous)
        catalog_dir = catalog.directory
    for message in report.warnings:
        print(f"fashionsim: {message}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps([item.as_dict() for item in report.items], indent=2))
    else:
        for item in report.items:
            shown = "; ".join(f"{m.path}" + (f" ({m.score:.3f})" if m.tier != Tier.EXACT else "") +
                              (f" [SKU {', '.join(m.skus)}]" if m.skus else "") for m in item.matches)
            print(f"{item.status:9}  {item.path}" + (f"  ->  {shown}" if shown else "") +
                  (f": {item.error}" if item.error else ""))
    n = report.counts()
    print(f"{len(report.items)} pictures in {shoot}: {n['exact']} exact and {n['duplicate']} edited copies of "
          f"catalogue pictures, {n['new']} new, {n['error']} unreadable (duplicate at score >= {args.min_score}).",
          file=sys.stderr if args.format == "json" else sys.stdout)
    if args.add:
        cmd_index(argparse.Namespace(folder=root, catalog=str(catalog_dir), workers=args.workers))
    return 3 if report.matched else 0


def cmd_metadata_import(args) -> int:
    from .core.products import apply_overrides, detect_mapping, import_products, read_table

    table = read_table(Path(args.file))
    mapping = apply_overrides(detect_mapping(table.headers), args.map, table.headers)
    print(f"{args.file}: {len(table.rows)} rows, {len(table.headers)} columns. Columns used (change with "
          "--map FIELD=COLUMN):")
    for field, column in mapping.columns().items():
        print(f"  {field:<14} {column or '-'}")
    mapping.check(table.headers)
    # Importing may come before the first index run: the rows then wait for their pictures.
    with Catalog(resolve_catalog_dir(args), root=Path(args.folder) if args.folder else None,
                 create=not args.dry_run) as catalog:
        _opened.append(catalog)
        report = import_products(catalog, table, mapping, dry_run=args.dry_run)
        counts = catalog.product_counts()
    print(report.text())
    print(f"The catalogue holds product data for {counts['pictures']} pictures ({counts['shared']} shared by two or "
          f"more product ids); {counts['waiting']} rows wait for their pictures.")
    return 0


def cmd_metadata_show(args) -> int:
    with open_existing(args) as catalog:
        picture = find_picture(catalog, args.path)
        infos = catalog.products_of([picture["sha256"]]).get(picture["sha256"], [])
        shared = picture["sha256"] in catalog.shared_photos()
    if args.format == "json":
        print(json.dumps({"path": picture["path"], "sha256": picture["sha256"], "shared_photo": shared,
                          "products": [i.as_dict() for i in infos]}, indent=2))
        return 0
    if not infos:
        print(f"{picture['path']}: no product data. Import it with: fashionsim metadata import FILE.csv")
        return 0
    print(f"{picture['path']} (sha256 {picture['sha256'][:12]}):")
    for info in infos:
        facts = "  ".join(f"{k.replace('_', ' ')} {v}" for k, v in info.as_dict().items() if v)
        print(f"  {facts}  [key {info.image_key} in {Path(info.source or '').name}]")
    if shared:
        print("  A shared photo: this picture is used by more than one product id; the merge list never removes a "
              "product's only photo.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fashionsim", description="Find duplicate product photos in a folder.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, fn, help_text):
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(fn=fn)
        p.add_argument("--catalog", help="catalogue folder (default: per-user data folder)")
        if name != "index":
            p.add_argument("--folder", help="the indexed folder whose catalogue to use")
        return p

    p = add("index", cmd_index, "index a folder (default: the bundled sample catalogue)")
    p.add_argument("folder", nargs="?")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: 2); with --engine ray, Ray actors (default: one per cluster CPU)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="where pictures are decoded and embedded: worker processes here (default), or a Ray "
                        'cluster (needs: pip install "fashionsim-desktop[cluster]")')
    p.add_argument("--ray-address", metavar="ADDR",
                   help="the Ray cluster to use: auto, HOST:PORT or ray://HOST:10001 (default: start Ray here)")
    p = add("pairs", cmd_pairs, "list candidate pairs: duplicates (exact and edited copies) best first, or with "
                                "--tier variant|similar the same product in other colours, or similar products")
    p.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE)
    p.add_argument("--tier", choices=[t.value for t in Tier],
                   help="only pairs of this tier (default: exact and duplicate)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p = add("decide", cmd_decide, "record a decision on a pair (PATH_A PATH_B merge|keep|skip|variant), or with --all "
                                  "on every undecided pair of a tier")
    p.add_argument("items", nargs="+", metavar="ARG", help="PATH_A PATH_B DECISION, or with --all only DECISION")
    p.add_argument("--all", action="store_true", help="decide every undecided pair matching --tier/--min-score")
    p.add_argument("--tier", choices=[t.value for t in Tier])
    p.add_argument("--min-score", type=float, default=None)
    p.add_argument("--dry-run", action="store_true", help="show what --all would decide, decide nothing")
    add("undo", cmd_undo, "undo your latest decision made from the command line")
    p = add("keeper", cmd_keeper, "make this picture the keeper of its merge group, or with --all fix every "
                                  "group's suggested keeper")
    p.add_argument("path", nargs="?")
    p.add_argument("--all", action="store_true", help="the keeper policy's suggestion becomes every group's keeper")
    p.add_argument("--dry-run", action="store_true", help="with --all: show what it would do")
    add("groups", cmd_groups, "show merge groups and what an export would free")
    p = add("keeper-policy", cmd_keeper_policy, "show or set how the keeper of a merge group is suggested")
    p.add_argument("--show", action="store_true", help="show the policy (the default)")
    p.add_argument("--set", metavar="CRITERION,...", help="criteria in order: reference, original, resolution, "
                                                          "product_data, formats, oldest, largest (left out: not "
                                                          "used)")
    p.add_argument("--reference-folder", nargs="+", action="extend", metavar="FOLDER",
                   help="folders whose files are never removed (relative to the indexed folder, or absolute; "
                        "replaces the list, '' clears it)")
    p.add_argument("--formats", metavar="FORMAT,...", help="preferred file formats, first best (e.g. jpeg,png)")
    p = add("export", cmd_export, "write the approved merge list")
    p.add_argument("--out", required=True)
    p.add_argument("--format", choices=["csv", "json"], default=None)
    p.add_argument("--what", choices=["merges", "replace-map", "variant-groups"], default="merges",
                   help="the merge list (default), the replace map duplicate -> keeper, or the variant groups")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists (never a catalogue file or picture)")
    p = add("errors", cmd_errors, "list files that could not be indexed, with the reason")
    p.add_argument("--format", choices=["table", "json"], default="table")
    add("doctor", cmd_doctor, "check the catalogue (database, journal, search index, evidence) and report")
    add("restore", cmd_restore, "rebuild a damaged catalogue's decisions from its decision journal")
    p = add("search", cmd_search, "find the catalogue pictures most like images: copies of the photo, the same "
                                  "product in other colours, similar products")
    p.add_argument("images", nargs="+")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p = add("check", cmd_check, "intake check: which pictures of a new shoot are already in the catalogue "
                                "(exit 3 if any, 0 if none)")
    p.add_argument("shoot", metavar="NEW_FOLDER")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: 2)")
    p.add_argument("--add", action="store_true", help="then index the shoot into the catalogue (it must lie inside "
                                                      "the catalogue's folder)")
    meta = sub.add_parser("metadata", help="product data from the catalogue system: import a CSV, show a picture's")
    meta_sub = meta.add_subparsers(dest="metadata_command", required=True)
    p = meta_sub.add_parser("import", help="attach a product CSV's rows to the pictures they name")
    p.set_defaults(fn=cmd_metadata_import)
    p.add_argument("file")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="use COLUMN for FIELD (image_key, product_id, sku, product_group, colour, category, name); "
                        "an empty COLUMN leaves the field out")
    p.add_argument("--dry-run", action="store_true", help="show the mapping and what would match; save nothing")
    p = meta_sub.add_parser("show", help="the product data of an indexed picture")
    p.set_defaults(fn=cmd_metadata_show)
    p.add_argument("path")
    p.add_argument("--format", choices=["table", "json"], default="table")
    for p in meta_sub.choices.values():  # after the sub-command, as for every other command
        p.add_argument("--catalog", help="catalogue folder (default: per-user data folder)")
        p.add_argument("--folder", help="the indexed folder whose catalogue to use")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except Cancelled as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except FashionSimError as exc:
        print(f"fashionsim: {exc}", file=sys.stderr)
        return 1
    finally:
        _say_warnings()


if __name__ == "__main__":
    sys.exit(main())
