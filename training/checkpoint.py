"""End-of-epoch checkpoints so a killed `stance train` resumes where it stopped, not from scratch.

A checkpoint is a folder of safetensors (weights, best weights, optimizer moments, torch RNG) and one JSON file
(epoch, step, history, scheduler, Python RNG, and a fingerprint of the job), plus the weight average when
training keeps one. No pickle: everything loads with `safetensors` and `json`. The folder is replaced
atomically, so a kill mid-write leaves the previous epoch's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


class CheckpointMismatch(Exception):
    pass


def _tensors(state: dict) -> dict:
    return {k: v.detach().contiguous().clone() for k, v in state.items()}


def save(path: Path, *, model, best_state, opt, sched, rng, meta: dict, ema: dict | None = None):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(_tensors(model.state_dict()), str(tmp / "model.safetensors"))
    save_file(_tensors(best_state), str(tmp / "best.safetensors"))
    if ema is not None:
        save_file(_tensors(ema), str(tmp / "ema.safetensors"))
    o = opt.state_dict()
    moments = {f"{i}.{name}": t for i, s in o["state"].items() for name, t in s.items()}
    save_file(_tensors({**moments, "torch_rng": torch.get_rng_state()}), str(tmp / "optimizer.safetensors"))
    version, internal, gauss = rng.getstate()
    state = {**meta, "param_groups": o["param_groups"], "scheduler": sched.state_dict(),
             "python_rng": [version, list(internal), gauss]}
    (tmp / "state.json").write_text(json.dumps(state))
    old = path.with_name(path.name + ".old")
    if path.exists():
        path.replace(old)
    tmp.replace(path)
    shutil.rmtree(old, ignore_errors=True)


def load(path: Path, fingerprint: dict, *, model, opt, sched, rng) -> dict | None:
    """Restore a checkpoint into the given objects; return its meta (with `best_state`), or None if there is none."""
    path = Path(path)
    if not (path / "state.json").is_file():
        return None
    state = json.loads((path / "state.json").read_text())
    if state.get("fingerprint") != fingerprint:
        raise CheckpointMismatch(
            f"{path} holds a checkpoint of a different training job (other data, backbone or settings); "
            "delete it, or choose another --out"
        )
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    flat = load_file(str(path / "optimizer.safetensors"))
    torch.set_rng_state(flat.pop("torch_rng"))
    moments: dict[int, dict] = {}
    for key, t in flat.items():
        i, name = key.split(".", 1)
        moments.setdefault(int(i), {})[name] = t
    opt.load_state_dict({"state": moments, "param_groups": state.pop("param_groups")})
    sched.load_state_dict(state.pop("scheduler"))
    version, internal, gauss = state.pop("python_rng")
    rng.setstate((version, tuple(internal), gauss))
    state["best_state"] = load_file(str(path / "best.safetensors"))
    if (path / "ema.safetensors").is_file():
        state["ema"] = load_file(str(path / "ema.safetensors"))
    return state
