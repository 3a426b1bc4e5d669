"""The features phase on a Ray cluster (`fashionsim index FOLDER --engine ray`): decode, hash and embed with Ray Data.

Ray is an optional extra (`pip install "fashionsim-desktop[cluster]"`): this module imports it only when the Ray
engine runs, so the app and the default local engine never need it.

How it works:
- The (sha256, path) items go into a Ray dataset; `map_batches` runs `FeatureActor` in an actor pool, one actor
  per CPU, each holding one onnxruntime session for its whole life. An actor runs the local engine's own
  `features.compute_chunk` on a batch, so decoding, hashing, embedding and the changed-file rule are the same code
  and give the same bytes.
- The dataset is driven on the cluster by a `FeatureRun` actor, not on this computer: Ray Data cannot be driven
  through Ray Client (`ray://`, how a desktop reaches a remote cluster), and actor calls work over every kind of
  connection. This computer polls it; each result comes back as soon as its batch finishes, in the local
  engine's shape (image rows, decode errors, changed paths), and the caller saves it with the local engine's
  incremental and bad-file rules.
- Every node reads the pictures and the model at the paths this computer gives (absolute), so they must be on
  storage that every node sees at the same path. No working copies are kept: a worker on another machine cannot
  write them here, so the pair phase decodes those pictures again.
- A cancel kills the `FeatureRun` actor; Ray kills the actors it created with it, so the cluster's work stops.
  Whatever was saved before is kept. A Ray instance started here is shut down afterwards; a cluster connected to is
  only disconnected from.
"""
from __future__ import annotations

import logging
import os
import pickle
import queue
import socket
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from . import features
from .errors import Cancelled, FashionSimError, ModelError

BATCH_ROWS = 16  # pictures per actor call, and per result sent back: as the local engine's chunks
# Ray Data spends milliseconds setting up each input block: a block per batch took 9 minutes at a million
# pictures, 1,000 blocks take seconds and still spread the work over hundreds of CPUs.
MAX_INPUT_BLOCKS = 1000
RESULT_BLOCK_BYTES = 64 << 10  # under one batch's result (~100 kB), so each result is sent back on its own
POLL_SECONDS = 0.5  # the longest a cancel waits to be seen
RESULTS_BUFFERED = 64  # batches held on the cluster for a slow catalogue, before Ray Data is held back
CONNECT_SECONDS = 10
CLIENT_ATTEMPTS = 3
CLIENT_RETRY_SECONDS = 2.0
RAY_MISSING = ('The Ray engine is not installed; install it with: pip install "fashionsim-desktop[cluster]" '
               '(or use the default local engine).')

log = logging.getLogger(__name__)

Result = tuple[list[dict], list[tuple[str, str]], list[str]]


class FeatureActor:
    """Ray Data callable class: one per actor, so one onnxruntime session per actor, loaded once."""

    def __init__(self, folder: str, model_path: str, model_id: str):
        # Raised here or from a batch, an error would reach the user only as the text of Ray's wrapper; sent back as
        # a batch's result, it keeps its type and its sentence.
        self.error: Optional[FashionSimError] = None
        try:
            _check_shared(folder, model_path)
            features.init_worker(model_path)  # no working copies: they would land on the worker's machine
            if features._embedder.model_id != model_id:
                # The embedder fell back to the float twin: this node's CPU cannot run the int8 model exactly. Its
                # vectors would not match the catalogue's, so refuse rather than mix two models.
                raise ModelError(f"The Ray worker on {socket.gethostname()} cannot run the embedding model "
                                 f"{model_path} exactly (its processor lacks the instructions the fast model "
                                 "needs). Run the cluster on nodes like this computer, or index with the local "
                                 "engine.")
        except FashionSimError as exc:  # the model is missing on that node, or cannot be loaded there
            self.error = exc

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.error is not None:
            result = self.error
        else:
            items = [(str(sha), os.fsdecode(bytes(path)), False) for sha, path in zip(batch["sha256"], batch["path"])]
            result = features.compute_chunk(items)
        # One output row per batch: the chunk result as the local engine returns it (or the error). Pickled,
        # because its rows are dicts of mixed types that Arrow would reshape (Ray pickles objects the same way).
        return {"result": np.array([pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)], dtype=object)}


class FeatureRun:
    """A Ray actor on the cluster that drives the dataset and hands out its results as they finish."""

    def __init__(self, shas: list[str], paths: list[bytes], actor_args: tuple, workers: Optional[int]):
        self._results: queue.Queue = queue.Queue(maxsize=RESULTS_BUFFERED)
        self._error: Optional[BaseException] = None
        self._finished = False
        # Built in the thread too: the calls that poll for results (and see a cancel) answer meanwhile.
        threading.Thread(target=self._drive, args=(shas, paths, actor_args, workers), name="feature-run",
                         daemon=True).start()

    def _drive(self, shas, paths, actor_args: tuple, workers: Optional[int]) -> None:
        try:
            dataset = _dataset(shas, paths, actor_args, workers)
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                for blob in batch["result"]:
                    self._results.put(blob)  # blocks while the buffer is full: Ray Data then holds back too
        except BaseException as exc:  # handed to the caller by the next call
            self._error = exc
        finally:
            self._results.put(None)

    def next_results(self, wait_seconds: float) -> tuple[list[bytes], bool]:
        """(finished batches, whether they were the last): waits up to `wait_seconds` for the first one."""
        blobs = []
        try:
            blobs.append(self._results.get(timeout=wait_seconds))
            while True:
                blobs.append(self._results.get_nowait())
        except queue.Empty:
            pass
        if blobs and blobs[-1] is None:
            blobs.pop()
            self._finished = True
        if self._finished and self._error is not None:
            raise self._error
        return blobs, self._finished


def feature_results(todo: Sequence[tuple[str, str, bool]], folder: Path, model_path: Path, model_id: str,
                    address: Optional[str], workers: Optional[int],
                    is_cancelled: Callable[[], bool]) -> Iterator[Result]:
    """Yield (rows, errors, changed paths) for the (sha256, path, keep) items, as batches finish on the cluster.

    `folder` (the indexed folder) and `model_path` must be at the same absolute paths on every node.
    `address`: a running cluster ("auto", "HOST:PORT" or "ray://HOST:10001"); None starts Ray on this computer.
    `workers`: actors (one CPU each); None means one per CPU the cluster has when the run starts.
    Raises Cancelled once `is_cancelled()` is seen; the results yielded before it are the caller's to keep.
    """
    if not todo:
        return
    ray = import_ray()
    shas = [sha for sha, _, _ in todo]
    paths = [os.fsencode(path) for _, path, _ in todo]  # bytes: a name that is not UTF-8 reaches the worker as is
    with _ray_session(ray, address, workers):
        actor_args = (str(folder), str(model_path), model_id)
        run = ray.remote(num_cpus=0)(FeatureRun).remote(shas, paths, actor_args, workers)
        try:
            finished = False
            while not finished:
                if is_cancelled():
                    raise Cancelled()
                blobs, finished = ray.get(run.next_results.remote(POLL_SECONDS))
                for blob in blobs:
                    result = pickle.loads(blob)
                    if isinstance(result, FashionSimError):  # a worker could not start: no result will come
                        raise result
                    yield result
        except FashionSimError:
            raise
        except Exception as exc:  # Ray's own errors carry a traceback, not a sentence for a curator
            raise _ray_failure(exc) from exc
        finally:
            # Also on a cancel or an error: the dataset's actors die with the actor that created them.
            with suppress(Exception):  # a lost connection must not hide what went wrong
                ray.kill(run)


def check_available(address: Optional[str]) -> None:
    """Before any work starts: Ray is installed, and something answers at `address` (when given)."""
    import_ray()
    if address:
        _check_reachable(address)


def import_ray():
    """The ray module, or a FashionSimError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the [data] part of the extra)
    except ImportError as exc:
        raise FashionSimError(RAY_MISSING) from exc
    return ray


@contextmanager
def _ray_session(ray, address: Optional[str], workers: Optional[int]):
    """Connected to `address`, or to a Ray instance started here (and stopped again after)."""
    if ray.is_initialized():  # the caller's own session (a notebook, a Ray job): theirs to end
        yield
        return
    if address:
        _check_reachable(address)
    try:
        # Ray's notices (token set-up and the like) would interleave with the command's progress; they stay in
        # Ray's logs, and its failures reach the user as exceptions.
        if address:
            _connect(ray, address)
        else:  # "local" starts a new instance even if a cluster runs on this computer
            ray.init(address="local", num_cpus=workers or None, include_dashboard=False,
                     logging_level=logging.ERROR, log_to_driver=False)
    except Exception as exc:  # ConnectionError, RuntimeError, ValueError...: a bad address, another Ray version
        raise FashionSimError(f"Could not connect to the Ray cluster at {address or 'this computer'}: "
                              f"{_reason(exc)}") from exc
    try:
        yield
    finally:
        ray.shutdown()  # stops an instance started here; only disconnects from a cluster


def _connect(ray, address: str) -> None:
    """ray.init() to a cluster. Through Ray Client the cluster starts a server process for each new client, and on
    a busy head node that start can fail ("Initialization failure from server"); a new attempt starts another."""
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
            return
        except ConnectionAbortedError as exc:  # Ray Client's answer when the server side could not start
            log.warning("Ray Client connection %d of %d to %s failed: %s", attempt, CLIENT_ATTEMPTS, address,
                        _reason(exc))
            if attempt == CLIENT_ATTEMPTS:
                raise
            with suppress(Exception):
                ray.shutdown()  # clears the half-made client connection
            time.sleep(CLIENT_RETRY_SECONDS)


def _check_reachable(address: str) -> None:
    """Fail in seconds on a wrong HOST:PORT: ray.init() waits for an absent cluster for many minutes."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():  # "auto", or a form only Ray understands: Ray judges it
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise FashionSimError(f"Could not connect to the Ray cluster at {address}: nothing answers there "
                              f"({exc.strerror or exc}). Check the address, or start the cluster "
                              "(ray start --head, or ray up cluster.yaml).") from exc


def _dataset(shas: list[str], paths: list[bytes], actor_args: tuple, workers: Optional[int]):
    """The Ray Data pipeline; built on the cluster, inside FeatureRun."""
    import pyarrow as pa
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # nobody watches this actor's output
    context.print_on_execution_start = False
    context.target_max_block_size = RESULT_BLOCK_BYTES
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # nor its notices
    actors = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    table = pa.table({"sha256": pa.array(shas, pa.string()), "path": pa.array(paths, pa.binary())})
    batches_per_block = -(-len(table) // (MAX_INPUT_BLOCKS * BATCH_ROWS))  # whole batches: none cut short
    rows = batches_per_block * BATCH_ROWS
    blocks = [table.slice(start, rows) for start in range(0, len(table), rows)]
    return (ray.data.from_arrow(blocks)
            .map_batches(FeatureActor, batch_size=BATCH_ROWS, batch_format="numpy",
                         compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1,
                         fn_constructor_args=actor_args))


def _check_shared(folder: str, model_path: str) -> None:
    """On a worker node: the folder and the model are where this computer has them (shared storage)."""
    for path in (folder, model_path):
        if not os.path.exists(path):
            # Without this, every picture there would count as "changed while being read", run after run.
            raise FashionSimError(f"The Ray worker on {socket.gethostname()} cannot see {path}. The indexed folder "
                                  "and the model must be on storage that every node mounts at the same path as "
                                  "this computer.")


def _ray_failure(exc: BaseException) -> FashionSimError:
    """A sentence for a failure of Ray itself (a node lost, an actor killed by the cluster...)."""
    while isinstance(getattr(exc, "cause", None), BaseException):  # a RayTaskError holds what was raised inside
        exc = exc.cause
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    return FashionSimError(f"The Ray cluster failed while computing features: {last} (the cluster's Ray logs have "
                           "the details). Finished pictures are kept; run again to resume.")


def _reason(exc: BaseException) -> str:
    """One line: the error's own, and when it carries the cluster's traceback, that traceback's last line too."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if len(lines) > 1:
        return f"{lines[0]} {lines[-1]}"
    return lines[0] if lines else type(exc).__name__
