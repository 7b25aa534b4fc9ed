"""Fine-tuning: a plain PyTorch loop over a Hugging Face sequence-classification model.

One pass per epoch over shuffled length-bucketed batches, AdamW with linear warm-up and decay, dev macro-F1 after
each epoch, the best epoch's weights kept, then a calibration temperature fitted on dev. Same data and seed give
the same weights and metrics (CPU kernels are deterministic for a fixed thread count).
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score
from tqdm.auto import tqdm

from model import StanceClassifier
from model.backbones import resolve_backbone

from . import checkpoint
from .data import Examples
from .distill import Targets


@dataclass
class TrainConfig:
    backbone: str = "minilm"
    from_model: str | None = None
    epochs: int = 5
    seed: int = 42
    batch_size: int = 16
    lr: float = 8e-5
    weight_decay: float = 0.01
    warmup: float = 0.1
    max_length: int = 128
    freeze_embeddings: bool = True  # the word-embedding matrix is half of MiniLM: freezing it halves step time
    name: str = "stance"
    version: str = "1.0.0"
    max_steps: int | None = None  # stop early (smoke tests)
    distill_alpha: float = 0.5  # with teacher targets: weight of the label's loss against the teacher's
    distill_temperature: float = 2.0
    ema_decay: float = 0.0  # > 0: evaluate and keep an exponential moving average of the weights (Polyak averaging)
    progress: bool = True
    checkpoint: str | None = None  # folder for end-of-epoch checkpoints; a matching one there is resumed


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature T minimising dev NLL of softmax(logits / T) (Guo et al., 2017)."""
    z, t = torch.tensor(logits, dtype=torch.float64), torch.tensor(y)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), t)
        loss.backward()
        return loss

    opt.step(closure)
    return float(min(max(log_t.exp().item(), 0.05), 20.0))


def _init_model(cfg: TrainConfig, labels: list[str]):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if cfg.from_model:  # continue from a trained stance model; its label set is kept
        base = StanceClassifier.from_pretrained(cfg.from_model)
        backbone = base.manifest.get("backbone", {})
        return base.model, base.tokenizer, backbone
    directory, backbone = resolve_backbone(cfg.backbone)
    tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False)
    model = AutoModelForSequenceClassification.from_pretrained(
        directory,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)},
        ignore_mismatched_sizes=True,  # a classifier directory as backbone: its old head is replaced
        use_safetensors=True,
        trust_remote_code=False,
    )
    return model, tokenizer, backbone


def _batches(enc, y, batch_size, rng):
    """Shuffled batches of similar length: sort within random pools of 50 batches to keep padding small."""
    idx = list(range(len(y)))
    rng.shuffle(idx)
    pool = batch_size * 50
    batches = []
    for p in range(0, len(idx), pool):
        chunk = sorted(idx[p : p + pool], key=lambda i: len(enc[i]))
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _collate(enc, y, idx, pad):
    width = max(len(enc[i]) for i in idx)
    ids = torch.full((len(idx), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, i in enumerate(idx):
        ids[r, : len(enc[i])] = torch.tensor(enc[i])
        mask[r, : len(enc[i])] = 1
    return ids, mask, torch.tensor([y[i] for i in idx])


class WeightEMA:
    """Polyak average of the trainable weights; the decay ramps up as (1 + n) / (10 + n) so early steps count."""

    def __init__(self, model, decay: float):
        self.decay, self.n = decay, 0
        self.shadow = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    def update(self, model):
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        params = dict(model.named_parameters())
        torch._foreach_lerp_(list(self.shadow.values()), [params[n].detach() for n in self.shadow], 1 - d)

    def swap(self, model):
        """Exchange the model's weights with the average (call again to swap back)."""
        params = dict(model.named_parameters())
        with torch.no_grad():
            for n in self.shadow:
                tmp = params[n].detach().clone()
                params[n].copy_(self.shadow[n])
                self.shadow[n] = tmp


def distill_loss(logits, target, teacher, alpha: float, t: float):
    """Hinton et al. (2015): alpha * CE(label) + (1 - alpha) * t^2 * KL(teacher_t || student_t). A row with only
    a label (teacher NaN) or only a teacher target (label -1, the transfer set) learns from that one alone."""
    has_t, has_y = ~torch.isnan(teacher).any(-1), target >= 0
    teacher = torch.nan_to_num(teacher)  # zeros, not NaN, so masked rows give zero gradient
    kd = torch.nn.functional.kl_div(
        torch.log_softmax(logits / t, -1), torch.log_softmax(teacher / t, -1), log_target=True, reduction="none"
    ).sum(-1) * (t * t)
    hard = torch.nn.functional.cross_entropy(logits, target.clamp(min=0), reduction="none")
    w_hard = torch.where(has_t, alpha, 1.0) * has_y
    w_kd = torch.where(has_y, 1.0 - alpha, 1.0) * has_t
    return (w_hard * hard + w_kd * kd).mean()


def train(
    train_ex: Examples,
    dev_ex: Examples,
    labels: list[str],
    cfg: TrainConfig,
    data_sha256: str = "",
    targets: Targets | None = None,
):
    """Fine-tune and return a calibrated `StanceClassifier` (not yet saved). With `targets` (teacher logits in
    `labels` order, see `training.distill`) the loss mixes label and teacher, and transfer rows are added."""
    seed_everything(cfg.seed)
    model, tokenizer, backbone = _init_model(cfg, labels)
    if targets is not None and [model.config.id2label[i] for i in range(model.config.num_labels)] != labels:
        raise ValueError("distillation targets are in the order of `labels`; the model's label order differs")
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    lab2id = {lab: i for i, lab in enumerate(labels)}
    texts = train_ex.texts + (targets.extra_texts if targets else [])
    enc = tokenizer(texts, truncation=True, max_length=cfg.max_length)["input_ids"]
    y = [lab2id[lab] for lab in train_ex.labels] + [-1] * (len(texts) - len(train_ex))
    teacher = torch.tensor(np.concatenate([targets.soft, targets.extra_soft])) if targets else None
    pad = tokenizer.pad_token_id or 0

    steps_per_epoch = math.ceil(len(y) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    warm = max(1, int(cfg.warmup * total))
    if cfg.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n else decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )

    clf = StanceClassifier(model, tokenizer, {"name": cfg.name, "version": cfg.version, "max_length": 256})
    dev_y = np.array([lab2id[lab] for lab in dev_ex.labels])
    rng = random.Random(cfg.seed)
    best = (-1.0, None, 0)
    history, step, t0, start, elapsed = [], 0, time.time(), 1, 0.0
    job = {k: v for k, v in asdict(cfg).items() if k not in ("progress", "checkpoint")}
    fingerprint = {"config": job, "labels": labels, "train": train_ex.sha256(), "dev": dev_ex.sha256(),
                   "targets": targets.sha256 if targets else None}
    done = None
    if cfg.checkpoint:
        done = checkpoint.load(cfg.checkpoint, fingerprint, model=model, opt=opt, sched=sched, rng=rng)
        if done:
            history, step, elapsed, start = done["history"], done["step"], done["seconds"], done["epoch"] + 1
            best = (done["best_f1"], done["best_state"], done["best_epoch"])
            print(f"resuming from {cfg.checkpoint} after epoch {done['epoch']}", file=sys.stderr)
    ema = WeightEMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if ema and done:
        ema.shadow, ema.n = done["ema"], step
    bar = tqdm(total=total, initial=step, desc="fine-tuning", unit="step", disable=not cfg.progress)
    for epoch in range(start, cfg.epochs + 1):
        model.train()
        running = 0.0
        for idx in _batches(enc, y, cfg.batch_size, rng):
            if step >= total:
                break
            ids, mask, target = _collate(enc, y, idx, pad)
            logits = model(input_ids=ids, attention_mask=mask).logits
            if teacher is None:
                loss = torch.nn.functional.cross_entropy(logits, target)
            else:
                loss = distill_loss(logits, target, teacher[idx], cfg.distill_alpha, cfg.distill_temperature)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            if ema:
                ema.update(model)
            step += 1
            running = 0.9 * running + 0.1 * loss.item() if running else loss.item()
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{running:.3f}")
        model.eval()
        if ema:  # score and keep the averaged weights; training goes on from the raw ones
            ema.swap(model)
        dev_logits = clf.logits(dev_ex.texts)
        f1 = float(f1_score(dev_y, dev_logits.argmax(1), average="macro"))
        history.append({"epoch": epoch, "step": step, "train_loss": round(running, 4), "dev_macro_f1": round(f1, 4)})
        bar.write(f"epoch {epoch}: train loss {running:.4f}, dev macro-F1 {f1:.4f}")
        if f1 > best[0]:  # keep the best epoch by dev macro-F1
            best = (f1, copy.deepcopy(model.state_dict()), epoch)
        if ema:
            ema.swap(model)
        if cfg.checkpoint:
            meta = {"fingerprint": fingerprint, "epoch": epoch, "step": step, "history": history,
                    "seconds": elapsed + time.time() - t0, "best_f1": best[0], "best_epoch": best[2]}
            checkpoint.save(cfg.checkpoint, model=model, best_state=best[1], opt=opt, sched=sched, rng=rng, meta=meta,
                            ema=ema.shadow if ema else None)
        if step >= total:
            break
    bar.close()
    model.load_state_dict(best[1])
    model.eval()
    dev_logits = clf.logits(dev_ex.texts)
    clf.temperature = fit_temperature(dev_logits, dev_y)
    clf.manifest.update(
        {
            "labels": labels,
            "backbone": backbone,
            "temperature": clf.temperature,
            "training": {
                "data_sha256": data_sha256 or train_ex.sha256(),
                "n_train": len(train_ex),
                "n_dev": len(dev_ex),
                "best_epoch": best[2],
                "epochs": cfg.epochs,
                "seed": cfg.seed,
                "lr": cfg.lr,
                "batch_size": cfg.batch_size,
                "freeze_embeddings": cfg.freeze_embeddings,
                "ema_decay": cfg.ema_decay,
                "seconds": round(elapsed + time.time() - t0, 1),
                "threads": torch.get_num_threads(),
                "history": history,
                **({"distill": {"file": targets.file, "sha256": targets.sha256, "n_transfer": len(targets.extra_texts),
                                "n_train_without_target": int(np.isnan(targets.soft).any(1).sum()),
                                "alpha": cfg.distill_alpha, "temperature": cfg.distill_temperature}}
                   if targets else {}),
            },
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    return clf


def write_model(clf: StanceClassifier, out: Path, metrics: dict, train_files: list[str]):
    """Record metrics in the manifest, write the model card, save atomically."""
    from .model_card import model_card

    clf.manifest["metrics"] = metrics
    clf.manifest.setdefault("training", {})["files"] = [str(f) for f in train_files]
    return clf.save_pretrained(out, extra_files={"README.md": model_card(clf.manifest)})
