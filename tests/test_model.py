"""The exported ONNX model: parity with torch, identity, and a clear message when it is missing."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from fashionsim_desktop.core.embedder import Embedder, model_id
from fashionsim_desktop.core.errors import ModelError
from fashionsim_desktop.core.imaging import decode_file

from .conftest import REPO, hm_colourway_group, some_hm_images


def test_embeddings_are_unit_length_and_batch_independent(model_path):
    embedder = Embedder(model_path)
    images = [decode_file(str(p)).image for p in some_hm_images(5)]
    batch = embedder.embed(images)
    assert batch.shape == (5, embedder.dim) and embedder.dim == 1600
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    single = embedder.embed(images[2:3])[0]
    assert float(single @ batch[2]) > 0.9999


def test_a_reencode_is_closer_than_a_colourway(model_path):
    from PIL import Image
    import io

    embedder = Embedder(model_path)
    a, b, _ = hm_colourway_group()
    buf = io.BytesIO()
    Image.open(a).convert("RGB").save(buf, "JPEG", quality=40)
    reencoded = Image.open(buf).convert("RGB")
    va, vb, vr = embedder.embed([decode_file(str(a)).image, decode_file(str(b)).image, reencoded])
    assert float(va @ vr) > float(va @ vb)


def test_model_identity_is_a_file_hash(model_path, tmp_path):
    copy = tmp_path / "m.onnx"
    copy.write_bytes(model_path.read_bytes())
    assert model_id(copy) == model_id(model_path)
    copy.write_bytes(model_path.read_bytes() + b"\0")
    assert model_id(copy) != model_id(model_path)


def test_missing_model_says_how_to_make_it(tmp_path):
    with pytest.raises(ModelError, match="export_onnx.py"):
        Embedder(tmp_path / "absent.onnx")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is only installed for the export")
def test_int8_model_points_where_torchs_float_model_does(model_path, tmp_path):
    import sys

    import onnx
    import torch

    from fashionsim_desktop.core.embedder import preprocess

    sys.path.insert(0, str(REPO / "models"))
    import export_onnx

    # The app's model is quantised (int8 convolutions), not the float export under the same name.
    ops = {node.op_type for node in onnx.load(str(model_path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    pixels = torch.from_numpy(preprocess([decode_file(str(p)).image for p in some_hm_images(32)]))
    worst, median = export_onnx.parity(model_path, pixels)
    assert median > 0.98 and worst > 0.94  # measured on these packshots: 0.987 and 0.968
    # The float export itself is exact; quantisation is the only approximation.
    fp32 = tmp_path / "fp32.onnx"
    export_onnx.export_fp32(fp32)
    worst, _ = export_onnx.parity(fp32, pixels)
    assert worst > 0.99999


def test_preprocess_pads_on_white_and_keeps_channels_in_order():
    from PIL import Image

    from fashionsim_desktop.core.embedder import INPUT_SIZE, preprocess

    tall_red = Image.new("RGB", (50, 200), (200, 10, 30))
    wide_blue = Image.new("RGB", (200, 50), (0, 0, 250))
    batch = preprocess([tall_red, wide_blue])
    assert batch.shape == (2, 3, INPUT_SIZE, INPUT_SIZE) and batch.dtype == np.float32
    assert batch.flags["C_CONTIGUOUS"]
    middle = INPUT_SIZE // 2
    assert batch[0, :, middle, middle].tolist() == [200, 10, 30]  # NCHW: channel first, RGB order
    assert batch[0, :, middle, 2].tolist() == [255, 255, 255]  # padded left and right of a tall picture
    assert batch[1, :, middle, middle].tolist() == [0, 0, 250]
    assert batch[1, :, 2, middle].tolist() == [255, 255, 255]  # padded above a wide picture
