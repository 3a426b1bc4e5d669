"""The exported ONNX model: parity with torch, identity, and a clear message when it is missing."""
from __future__ import annotations

import importlib.util
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fashionsim_desktop.core.embedder import Embedder, model_id, runnable_model
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


def test_the_model_in_use_reproduces_the_float_reference_on_this_cpu(model_path):
    # Whichever model runnable_model picks here (int8 on a CPU with VNNI, else the float twin), its embedding
    # of the reference picture is the float model's.
    import json

    from fashionsim_desktop.core.embedder import REFERENCE_KEY, reference_pixels

    embedder = Embedder(model_path)
    recorded = np.asarray(json.loads(_metadata(model_path)[REFERENCE_KEY]), dtype=np.float32)
    got = embedder.session.run(None, {"pixels": reference_pixels()})[0][0]
    assert float(recorded @ got) / float(np.linalg.norm(recorded) * np.linalg.norm(got)) > 0.98
    assert embedder.model_id == model_id(embedder.path)


def _metadata(path) -> dict:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _with_reference(model_path, folder, reference) -> "Path":
    """A copy of the shipped int8 model and its float twin in `folder`, with another recorded reference."""
    import json
    import shutil

    import onnx

    from fashionsim_desktop.core.embedder import FLOAT_TWIN_KEY, REFERENCE_KEY

    model = onnx.load(str(model_path))
    twin = _metadata(model_path)[FLOAT_TWIN_KEY]
    shutil.copyfile(model_path.with_name(twin), folder / twin)
    onnx.helper.set_model_props(model, {FLOAT_TWIN_KEY: twin, REFERENCE_KEY: json.dumps(reference)})
    onnx.save(model, str(folder / "int8.onnx"))
    return folder / "int8.onnx"


def test_an_int8_model_that_is_not_exact_here_gives_way_to_its_float_twin(model_path, tmp_path):
    import json

    from fashionsim_desktop.core.embedder import REFERENCE_KEY, runnable_model

    recorded = json.loads(_metadata(model_path)[REFERENCE_KEY])
    faithful = _with_reference(model_path, tmp_path, recorded)
    if runnable_model(model_path) == model_path:  # this CPU runs int8 exactly: the copy is used as it is
        assert runnable_model(faithful) == faithful
    # A reference the int8 arithmetic cannot reproduce (as on a CPU that saturates): the float twin is used,
    # and the catalogue records the twin's identity.
    (tmp_path / "other").mkdir()
    wrong = _with_reference(model_path, tmp_path / "other", [-v for v in recorded])
    chosen = runnable_model(wrong)
    assert chosen.name == "fashionsim-embedder-float.onnx" and chosen.parent == wrong.parent
    embedder = Embedder(wrong)
    assert embedder.path == chosen and embedder.model_id == model_id(chosen) != model_id(wrong)
    # Without the twin there is nothing exact to run: a message that says how to repair it.
    chosen.unlink()
    wrong.touch()  # a new mtime: the verdict is cached per file version
    with pytest.raises(ModelError, match="export_onnx.py"):
        runnable_model(wrong)


@pytest.mark.skipif(shutil.which("qemu-x86_64") is None or platform.machine() != "x86_64",
                    reason="needs qemu-user (apt-get install qemu-user) to emulate an older x86 CPU")
def test_on_an_emulated_cpu_without_vnni_the_float_twin_is_used(model_path):
    # qemu's Haswell has AVX2 but no 8-bit dot-product instructions: onnxruntime's int8 sums saturate there
    # (the embedding of a packshot drifts to cosine 0.77-0.94), so the app must pick the float twin.
    script = ("import sys; from pathlib import Path; from fashionsim_desktop.core import embedder as e; "
              "s = e._session(Path(sys.argv[1]), 1); print(e._faithful(s)[0], e.runnable_model(Path(sys.argv[1])))")
    out = subprocess.run(["qemu-x86_64", "-cpu", "Haswell", sys.executable, "-c", script, str(model_path)],
                         capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    faithful, chosen = out.stdout.split()
    assert faithful == "False"
    assert Path(chosen) == model_path.with_name("fashionsim-embedder-float.onnx")


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
    used = runnable_model(model_path)
    worst, median = export_onnx.parity(used, pixels)
    if used == model_path:
        assert median > 0.98 and worst > 0.94  # measured on these packshots: 0.987 and 0.968
    else:  # a CPU without VNNI: int8 sums saturate here, so the app runs the float twin, which must be exact
        assert used == model_path.with_name("fashionsim-embedder-float.onnx") and worst > 0.99999
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
