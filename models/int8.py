"""Post-training int8 quantisation of the exported embedder (onnxruntime's static QDQ quantiser).

Convolutions, their ReLU6 clips and the residual adds run in int8 with per-channel weights; the GeM pooling and
normalisation tail stays float (its cube and cube root amplify rounding). Activation ranges come from a small
JSON file committed beside this script (`int8-ranges.json`, tensor name -> [min, max]), measured once on
catalogue packshots by `models/calibrate.py`, so exporting needs no pictures and no network.

Used by `export_onnx.py` (export) and `calibrate.py` (measuring the ranges); needs the `onnx` package.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

QUANTISED_OPS = ["Conv", "Clip", "Add"]
# The backbone: stem, MBConv blocks, head conv and their activations (node names from the torch export).
BACKBONE_PREFIXES = ("/_conv_stem/", "/_swish/", "/_blocks.", "/_conv_head/", "/_swish_1/")
RANGES_FILE = Path(__file__).resolve().parent / "int8-ranges.json"
INPUT_NAME = "pixels"


class _Batches:
    """onnxruntime's CalibrationDataReader protocol over an iterable of NCHW float32 batches."""

    def __init__(self, batches: Iterable[np.ndarray]):
        self._it = iter(batches)

    def get_next(self):
        batch = next(self._it, None)
        return None if batch is None else {INPUT_NAME: batch}


def _prepared(fp32_model: Path, work: Path) -> Path:
    """Shape inference and graph clean-up before quantisation (onnxruntime's recommended pre-processing)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = work / "prepared.onnx"
    quant_pre_process(str(fp32_model), str(out))
    return out


def _backbone(model: Path) -> tuple[list, set[str]]:
    """The nodes to quantise, and their inputs and outputs that are not weights: the tensors that need a range."""
    import onnx

    graph = onnx.load(str(model)).graph
    nodes = [node for node in graph.node
             if node.op_type in QUANTISED_OPS and node.name.startswith(BACKBONE_PREFIXES)]
    weights = {init.name for init in graph.initializer}
    activations = {n for node in nodes for n in list(node.input) + list(node.output) if n and n not in weights}
    return nodes, activations


def measure_ranges(fp32_model: Path, batches: Iterable[np.ndarray]) -> dict[str, list[float]]:
    """Min/max of every backbone activation the quantiser will quantise, over the given batches of pictures."""
    from onnxruntime.quantization import CalibrationMethod, create_calibrator

    with tempfile.TemporaryDirectory(prefix="fashionsim-int8-") as tmp:
        work = Path(tmp)
        prepared = _prepared(fp32_model, work)
        _, wanted = _backbone(prepared)
        calibrator = create_calibrator(prepared, QUANTISED_OPS,
                                       augmented_model_path=str(work / "augmented.onnx"),
                                       calibrate_method=CalibrationMethod.MinMax)
        calibrator.collect_data(_Batches(batches))
        data = calibrator.compute_data()
        ranges = {name: [float(np.asarray(d.range_value[0]).min()), float(np.asarray(d.range_value[1]).max())]
                  for name, d in data.data.items() if name in wanted}
        del calibrator
    return dict(sorted(ranges.items()))


def save_ranges(ranges: dict[str, list[float]], path: Path = RANGES_FILE) -> None:
    """One tensor per line, so a re-calibration reads as a small diff."""
    lines = [f'  "{name}": [{lo:.9g}, {hi:.9g}]' for name, (lo, hi) in ranges.items()]
    path.write_text('{"method": "minmax", "ops": ' + json.dumps(QUANTISED_OPS) + ', "ranges": {\n'
                    + ",\n".join(lines) + "\n}}\n")


def load_ranges(path: Path = RANGES_FILE) -> dict[str, list[float]]:
    if not path.is_file():
        raise SystemExit(f"{path} is missing: measure it with python models/calibrate.py (needs ../shared/data)")
    return json.loads(path.read_text())["ranges"]


def quantise(fp32_model: Path, out: Path, ranges: dict[str, list[float]]) -> None:
    """Write the int8 model. Every quantised tensor's range comes from `ranges`; none is guessed."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory(prefix="fashionsim-int8-") as tmp:
        prepared = _prepared(fp32_model, Path(tmp))
        nodes, needed = _backbone(prepared)
        missing = needed - set(ranges)
        if missing:
            raise SystemExit(f"int8 ranges do not cover {len(missing)} tensors of this graph (e.g. "
                             f"{sorted(missing)[0]}): measure them again with python models/calibrate.py")
        overrides = {name: [{"rmin": np.float32(lo), "rmax": np.float32(hi)}]
                     for name, (lo, hi) in ranges.items() if name in needed}
        # The quantiser still runs its own calibration pass; every range it finds is then overridden, so one
        # blank picture is enough to drive it.
        blank = np.full((1, 3, 224, 224), 255.0, dtype=np.float32)
        quantize_static(str(prepared), str(out), _Batches([blank]), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=QUANTISED_OPS, nodes_to_quantize=[n.name for n in nodes],
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"TensorQuantOverrides": overrides})
