"""Product data from a catalogue system's CSV: which product ids, SKUs, colours... a picture shows.

A catalogue system knows products, not file paths. Each row of its export names a picture by an image key (a
relative path, a file name, a URL or an id that is the file name's stem); the row is attached to the picture's
content (sha256), so renames and moves keep it. Rows whose picture is not indexed yet wait under their key and are
attached when an index run finds a file with that key (Catalog.match_waiting_products).

For the window: read_headers(path) -> detect_mapping(headers) -> edit the Mapping -> import_products(catalog,
path, mapping); catalog.products_of(shas) gives a picture's products, catalog.shared_photos() the contents used by
two or more product ids.
"""
from __future__ import annotations

import csv
import posixpath
import re
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Union
from urllib.parse import unquote, urlsplit

from .errors import FashionSimError

if TYPE_CHECKING:  # the store imports this module; importing it back here would be circular
    from ..store.catalog import Catalog

FIELDS = ("image_key", "product_id", "sku", "product_group", "colour", "category", "name")
PRODUCT_FIELDS = ("product_id", "sku", "product_group", "colour", "category", "name")  # what a picture shows

# Headers each field is recognised by, best first; compared without case, spaces or punctuation.
CANDIDATES = {
    "image_key": ("image", "image_key", "filename", "file_name", "file", "path", "image_path", "url", "image_url",
                  "image_link", "image_src", "picture", "photo", "article_id", "id"),
    "product_id": ("product_id", "article_id", "id", "handle", "item_id"),
    "sku": ("sku", "variant_sku", "item_sku", "sku_id", "article_number"),
    "product_group": ("product_group", "product_code", "style", "style_id", "item_group_id", "group", "group_id",
                      "parent_sku"),
    "colour": ("colour", "color", "colour_name", "color_name", "colour_group_name", "base_colour", "base_color"),
    "category": ("category", "product_category", "product_type_name", "article_type", "product_type", "type",
                 "google_product_category"),
    "name": ("name", "product_name", "prod_name", "product_display_name", "title", "product_title",
             "display_name"),
}
DELIMITERS = ",;\t|"
SEPARATOR = "|"  # several SKUs or product ids in one cell of the merge list


class ProductDataError(FashionSimError):
    """The product file cannot be read, or the column mapping does not fit it."""


@dataclass
class ProductInfo:
    """One product a picture's content belongs to (one row of the catalogue's products table)."""
    sha256: str
    product_id: str  # "" when the file has no product id column
    sku: Optional[str] = None  # several SKUs of one product photo (sizes) joined with "|"
    product_group: Optional[str] = None
    colour: Optional[str] = None
    category: Optional[str] = None
    name: Optional[str] = None
    image_key: Optional[str] = None
    source: Optional[str] = None

    def as_dict(self) -> dict:
        return {f: getattr(self, f) or None for f in PRODUCT_FIELDS}


def _plain(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.casefold())


@dataclass
class Mapping:
    """Which column of the file holds each field (None: not in the file). Editable: the window shows it, the
    CLI takes --map field=COLUMN."""
    image_key: Optional[str] = None
    product_id: Optional[str] = None
    sku: Optional[str] = None
    product_group: Optional[str] = None
    colour: Optional[str] = None
    category: Optional[str] = None
    name: Optional[str] = None

    def columns(self) -> dict[str, Optional[str]]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def set(self, field: str, column: Optional[str], headers: Iterable[str]) -> None:
        """Map `field` to `column` (a header of the file, matched exactly, else ignoring case and punctuation);
        an empty column unmaps the field."""
        if field not in FIELDS:
            raise ProductDataError(f"There is no field {field!r}; the fields are {', '.join(FIELDS)}.")
        setattr(self, field, find_column(column, headers) if column else None)

    def check(self, headers: Iterable[str]) -> None:
        headers = list(headers)
        if not self.image_key:
            raise ProductDataError("No column names the pictures (an image, file name, URL or id column). Say which "
                                   "one with --map image_key=COLUMN. Columns: " + ", ".join(headers))
        for field, column in self.columns().items():
            if column is not None and column not in headers:
                raise ProductDataError(f"The column {column!r} mapped to {field} is not in the file.")


def find_column(column: str, headers: Iterable[str]) -> str:
    headers = list(headers)
    if column in headers:
        return column
    loose = [h for h in headers if _plain(h) == _plain(column)]
    if len(loose) == 1:
        return loose[0]
    raise ProductDataError(f"The file has no column {column!r}. Columns: {', '.join(headers)}")


def detect_mapping(headers: Iterable[str]) -> Mapping:
    """The mapping guessed from common header names (H&M, Myntra, Shopify, Google Merchant feeds...)."""
    by_plain: dict[str, str] = {}
    for header in headers:
        by_plain.setdefault(_plain(header), header)  # the first of two alike headers, as the reader uses
    mapping = Mapping()
    for field, names in CANDIDATES.items():
        setattr(mapping, field, next((by_plain[_plain(n)] for n in names if _plain(n) in by_plain), None))
    return mapping


def apply_overrides(mapping: Mapping, overrides: Iterable[str], headers: Iterable[str]) -> Mapping:
    """Apply `field=COLUMN` overrides (as given to --map) to the mapping."""
    headers = list(headers)
    for item in overrides:
        field, sep, column = item.partition("=")
        if not sep:
            raise ProductDataError(f"--map takes field=COLUMN, not {item!r} (fields: {', '.join(FIELDS)}).")
        mapping.set(field.strip(), column.strip(), headers)
    return mapping


# -- reading the file ----------------------------------------------------------------------------
@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    delimiter: str
    path: str = ""  # where it was read from: each product row records it as its source


def _open(path: Path):
    return open(path, newline="", encoding="utf-8-sig")  # -sig: spreadsheets often start UTF-8 with a BOM


def _dialect(sample: str):
    sample = sample[:sample.rfind("\n") + 1] or sample  # whole lines only: a cut quoted cell misleads the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:  # one column, or too few rows to tell
        return csv.excel


def read_headers(path: Path) -> list[str]:
    """The header row only: what the window shows before the curator confirms the mapping."""
    return read_table(path, rows=False).headers


def read_table(path: Path, rows: bool = True) -> Table:
    path = Path(path)
    try:
        with _open(path) as fh:
            dialect = _dialect(fh.read(64 * 1024))
            fh.seek(0)
            reader = csv.reader(fh, dialect)
            headers = [h.strip() for h in next(reader, [])]
            body = [row for row in reader if any(cell.strip() for cell in row)] if rows else []
    except UnicodeDecodeError as exc:
        raise ProductDataError(f"{path} is not UTF-8 text; save it as \"CSV UTF-8\" and import it again.") from exc
    except csv.Error as exc:
        raise ProductDataError(f"{path} is not a readable CSV file: {exc}") from exc
    except OSError as exc:
        raise ProductDataError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    if not any(headers):
        raise ProductDataError(f"{path} is empty: a product file starts with a header row.")
    return Table(headers, body, dialect.delimiter, str(path.absolute()))


# -- image keys ----------------------------------------------------------------------------------
def clean_key(key: str) -> str:
    """An image key as a relative path with '/' separators: a URL's path, './' and leading '/' dropped."""
    key = key.strip()
    if "://" in key:
        key = unquote(urlsplit(key).path)
    key = key.replace("\\", "/")
    return posixpath.normpath(key).lstrip("/") if key else ""


class KeyIndex:
    """Finds what an image key names among files: by relative path, else by file name (a URL's last part too),
    else by file-name stem (H&M and Myntra ids: 0108775015 -> 0108775015.jpg). Values are whatever the caller
    keeps per file (a sha256, a raw path)."""

    def __init__(self, files: Iterable[tuple[str, object]]):
        self.by_path: dict[str, list] = {}
        self.by_name: dict[str, list] = {}
        self.by_stem: dict[str, list] = {}
        for path, value in files:  # plain string slicing: this runs over every file of a 100k catalogue
            name = path[path.rfind("/") + 1:]
            dot = name.rfind(".")
            self.by_path.setdefault(path, []).append(value)
            self.by_name.setdefault(name, []).append(value)
            self.by_stem.setdefault(name[:dot] if dot > 0 else name, []).append(value)

    def find(self, key: Optional[str]) -> list:
        key = clean_key(key or "")
        if not key:
            return []
        name = key.rsplit("/", 1)[-1]
        for table, wanted in ((self.by_path, key), (self.by_name, name), (self.by_stem, name)):
            if wanted in table:
                return list(dict.fromkeys(table[wanted]))
        return []


# -- importing -----------------------------------------------------------------------------------
@dataclass
class ImportReport:
    rows: int = 0  # data rows read
    matched_rows: int = 0  # rows whose image key names an indexed picture
    pictures: int = 0  # distinct pictures (contents) given product data
    waiting_rows: int = 0  # kept by their image key until a picture with that key is indexed
    without_key: int = 0  # rows with an empty image key: nothing to attach them to
    ambiguous_keys: int = 0  # keys naming several different pictures (each one gets the row)
    seconds: float = 0.0
    dry_run: bool = False

    def text(self) -> str:
        wait = "would wait" if self.dry_run else "wait"
        lines = [f"{self.rows} rows read in {self.seconds:.2f}s: {self.matched_rows} rows matched "
                 f"{self.pictures} pictures; {self.waiting_rows} rows {wait} for their pictures (attached when an "
                 f"index run finds them); {self.without_key} rows have no image key."]
        if self.ambiguous_keys:
            lines.append(f"{self.ambiguous_keys} image keys name more than one picture; each picture "
                         f"{'would get' if self.dry_run else 'got'} the row.")
        if self.dry_run:
            lines.append("Dry run: nothing was saved.")
        return "\n".join(lines)


def _record(row: list[str], positions: dict[str, Optional[int]], source: str) -> dict:
    def cell(field):
        i = positions[field]
        return row[i].strip() if i is not None and i < len(row) else ""

    record = {f: cell(f) or None for f in FIELDS}
    record["product_id"] = record["product_id"] or ""  # part of the key: never NULL
    record["source"] = source
    return record


def combine(records: list[dict], key: tuple[str, ...]) -> list[dict]:
    """One record per key: the SKUs of one product photo (its sizes) joined with '|', other fields from the first
    row that has them."""
    out: dict[tuple, dict] = {}
    for r in records:
        k = tuple(r[f] for f in key)
        kept = out.get(k)
        if kept is None:
            out[k] = dict(r)
            continue
        for f in PRODUCT_FIELDS[1:]:
            if f == "sku" and r["sku"]:
                kept["sku"] = joined([kept["sku"], r["sku"]])
            elif not kept.get(f):
                kept[f] = r[f]
    return list(out.values())


def joined(values: Iterable[Optional[str]]) -> str:
    """Distinct non-empty values (cells may already hold '|'-joined ones) joined with '|', in order."""
    parts = [p for v in values if v for p in v.split(SEPARATOR) if p]
    return SEPARATOR.join(dict.fromkeys(parts))


def import_products(catalog: "Catalog", source: Union[Path, str, Table], mapping: Optional[Mapping] = None,
                    dry_run: bool = False) -> ImportReport:
    """Attach the file's rows to the indexed pictures their image keys name; keep the others waiting.

    A later import updates what it names (empty cells never erase a value known before)."""
    start = time.perf_counter()
    table = source if isinstance(source, Table) else read_table(Path(source))
    mapping = mapping or detect_mapping(table.headers)
    mapping.check(table.headers)
    positions = {f: (table.headers.index(c) if c else None) for f, c in mapping.columns().items()}
    index = KeyIndex(catalog.present_file_keys())
    report = ImportReport(rows=len(table.rows), dry_run=dry_run)
    matched, waiting = [], []
    for row in table.rows:
        record = _record(row, positions, table.path)
        if not record["image_key"]:
            report.without_key += 1
            continue
        shas = index.find(record["image_key"])
        if not shas:
            report.waiting_rows += 1
            waiting.append(record)
            continue
        report.matched_rows += 1
        report.ambiguous_keys += len(shas) > 1
        matched.extend({**record, "sha256": sha} for sha in shas)
    report.pictures = len({r["sha256"] for r in matched})
    if not dry_run:
        catalog.save_products(combine(matched, ("sha256", "product_id")),
                              combine(waiting, ("image_key", "product_id")))
    report.seconds = time.perf_counter() - start
    return report


def match_waiting(waiting: list[dict], files: Iterable[tuple[str, str]]) -> list[dict]:
    """Waiting records whose image key now names a picture, one per (picture, product id)."""
    index = KeyIndex(files)
    return combine([{**r, "sha256": sha} for r in waiting for sha in index.find(r["image_key"])],
                   ("sha256", "product_id"))


# -- pairs and the merge list --------------------------------------------------------------------
def pair_products(catalog: "Catalog", pairs: list) -> dict[tuple[str, str], dict]:
    """(sha_a, sha_b) of each pair (review.Pair) -> both sides' products, and whether either content belongs to
    two or more product ids (a shared photo)."""
    infos = catalog.products_of({s for p in pairs for s in (p.sha_a, p.sha_b)})
    shared = catalog.shared_photos()
    return {(p.sha_a, p.sha_b): {"products_a": [i.as_dict() for i in infos.get(p.sha_a, [])],
                                 "products_b": [i.as_dict() for i in infos.get(p.sha_b, [])],
                                 "shared_photo": p.sha_a in shared or p.sha_b in shared} for p in pairs}


def add_product_columns(catalog: "Catalog", rows: list[dict]) -> None:
    """keeper_/duplicate_ product_id and sku of merge-list rows; several joined with '|', empty when unknown."""
    infos = catalog.products_of({r[f"{side}_sha256"] for r in rows for side in ("keeper", "duplicate")})
    for row in rows:
        for side in ("keeper", "duplicate"):
            products = infos.get(row[f"{side}_sha256"], [])
            row[f"{side}_product_id"] = joined(i.product_id for i in products)
            row[f"{side}_sku"] = joined(i.sku for i in products)


def only_photos(catalog: "Catalog", duplicates: list[tuple[bytes, str]]) -> set[bytes]:
    """The duplicate files (raw path, sha256) the merge list must not remove: a shared photo's file that would
    leave one of its products without any photo.

    Content keys the product data, so a product's own files are told apart by its image key: the files of its
    pictures that the key names (all of them when it names none, e.g. after a rename)."""
    removed = {raw for raw, _ in duplicates}
    shared = catalog.shared_photos() & {sha for _, sha in duplicates}
    if not shared:
        return set()
    product_ids = {i.product_id for infos in catalog.products_of(shared).values() for i in infos if i.product_id}
    rows = catalog.products_with_ids(product_ids)
    files = catalog.files_of_shas({i.sha256 for i in rows})
    photos: dict[str, set[bytes]] = {}
    for info in rows:
        mine = files.get(info.sha256, [])
        named = KeyIndex((raw.decode("utf-8", "backslashreplace"), raw) for raw in mine).find(info.image_key)
        photos.setdefault(info.product_id, set()).update(named or mine)
    keep = set()
    for raw, sha in duplicates:
        if sha in shared and any(raw in own and own <= removed for own in photos.values()):
            keep.add(raw)
            removed.discard(raw)  # it stays, so the product's other files may go
    return keep
