"""Train the obfuscator O against the frozen detector and a de-obfuscator D, alternately.

Each step first trains D to reconstruct X from O(X) with O fixed (L_rec = MSE(X, D(O(X)))), then O to
keep the detector's answer while defeating that D: L_O = α_obj·L_obj − α_rec·L_rec, D fixed. AdamW for
both, learning rate divided by 10 at the halfway epoch, as in the published system. Everything a
run needs to continue (both networks, both optimizers and schedules, where it stopped, the log) is
saved to a checkpoint every few steps and at each epoch's end, so a killed run resumes where it was.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from veil.errors import ConfigError
from veil.obfuscation.config import TrainConfig
from veil.obfuscation.frames import SampledFrame
from veil.obfuscation.losses import detector_input, utility_loss
from veil.obfuscation.network import Deobfuscator, Obfuscator
from veil.obfuscation.onnx_torch import OnnxGraphModule

__all__ = ["StepLog", "Trainer", "crops_from_frames"]

_log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
LOG_CSV_NAME = "log.csv"
LOG_JSON_NAME = "log.json"
PLOT_NAME = "losses.png"


@dataclass(frozen=True)
class StepLog:
    """What one training step did."""

    epoch: int
    step: int
    total_steps: int
    l_obj: float
    l_rec: float
    lr: float
    elapsed_s: float


def crops_from_frames(frames: Sequence[SampledFrame], config: TrainConfig) -> torch.Tensor:
    """Return N×3×H×W uint8 RGB crops: each frame rescaled by a random factor, then cut at random.

    A frame smaller than a crop after scaling is padded with its edge pixels.
    """
    import cv2

    rng = np.random.default_rng(config.seed)
    crop_h, crop_w = config.crop_hw
    out = np.empty((len(frames) * config.crops_per_frame, crop_h, crop_w, 3), np.uint8)
    n = 0
    for frame in frames:
        for _ in range(config.crops_per_frame):
            factor = float(rng.uniform(*config.scale_range))
            height, width = frame.image.shape[:2]
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            scaled = cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA)
            pad_h, pad_w = max(0, crop_h - scaled.shape[0]), max(0, crop_w - scaled.shape[1])
            if pad_h or pad_w:
                scaled = cv2.copyMakeBorder(scaled, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
            top = int(rng.integers(0, scaled.shape[0] - crop_h + 1))
            left = int(rng.integers(0, scaled.shape[1] - crop_w + 1))
            out[n] = scaled[top : top + crop_h, left : left + crop_w]
            n += 1
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _as_float(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    return batch.to(device).float() / 255.0


class Trainer:
    """One training run in ``work_dir``: resumes from its checkpoint there when one exists.

    Args:
        detector_path: the frozen detector's ONNX file (YOLOX-nano).
        crops: N×3×H×W uint8 RGB training crops (:func:`crops_from_frames`).
        config: the run's settings; a checkpoint made with other settings is refused.
        work_dir: holds the checkpoint, the CSV/JSON log and the plot.
        device: where to train (``cpu``, ``cuda``).
    """

    def __init__(
        self,
        detector_path: Path,
        crops: torch.Tensor,
        config: TrainConfig,
        work_dir: Path,
        device: torch.device | None = None,
    ) -> None:
        if len(crops) == 0:
            raise ConfigError("no training crops")
        self.config = config
        self.work_dir = work_dir
        self.device = device or torch.device("cpu")
        torch.manual_seed(config.seed)
        self.obfuscator = Obfuscator().to(self.device)
        self.deobfuscator = Deobfuscator().to(self.device)
        self.detector = OnnxGraphModule(detector_path).to(self.device)
        self.crops = crops
        self.opt_o = torch.optim.AdamW(
            self.obfuscator.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.opt_d = torch.optim.AdamW(
            self.deobfuscator.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.steps_per_epoch = -(-len(crops) // config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.step = 0
        self.elapsed_s = 0.0
        self.rows: list[dict[str, float]] = []
        self.teacher = self._teacher_outputs()
        self._resume()

    def _lr(self, step: int) -> float:
        epoch = step // self.steps_per_epoch
        return self.config.lr * (0.1 if epoch >= self.config.epochs // 2 else 1.0)

    @torch.no_grad()
    def _teacher_outputs(self) -> torch.Tensor:
        """The detector's answers on every original crop, computed once (they never change)."""
        outputs = []
        for start in range(0, len(self.crops), self.config.batch_size):
            batch = _as_float(self.crops[start : start + self.config.batch_size], self.device)
            outputs.append(self.detector(detector_input(batch)).half().cpu())
        return torch.cat(outputs)

    def _order(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.crops), generator=generator)

    def _resume(self) -> None:
        path = self.work_dir / CHECKPOINT_NAME
        if not path.exists():
            return
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state["config"] != self.config.to_json() or state["crops"] != len(self.crops):
            raise ConfigError(
                f"{path} was made with other settings or frames; pass restart to discard it, or use "
                "another work folder"
            )
        self.obfuscator.load_state_dict(state["obfuscator"])
        self.deobfuscator.load_state_dict(state["deobfuscator"])
        self.opt_o.load_state_dict(state["opt_o"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self.elapsed_s = float(state["elapsed_s"])
        self.rows = list(state["rows"])
        _log.info("resumed from %s at step %d of %d", path, self.step, self.total_steps)

    def save_checkpoint(self) -> None:
        """Write the checkpoint atomically: a kill mid-write leaves the previous one."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "config": self.config.to_json(),
            "crops": len(self.crops),
            "obfuscator": self.obfuscator.state_dict(),
            "deobfuscator": self.deobfuscator.state_dict(),
            "opt_o": self.opt_o.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "rows": self.rows,
        }
        path = self.work_dir / CHECKPOINT_NAME
        partial = path.with_suffix(".partial")
        torch.save(state, partial)
        partial.replace(path)
        self._write_log()

    def _write_log(self) -> None:
        fields = ["step", "epoch", "l_obj", "l_rec", "lr", "elapsed_s"]
        with (self.work_dir / LOG_CSV_NAME).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)

    @property
    def done(self) -> bool:
        """Whether every step of every epoch has run."""
        return self.step >= self.total_steps

    def train_step(self, indices: torch.Tensor) -> tuple[float, float]:
        """Run one D step and one O step on the crops at ``indices``; return (L_obj, L_rec)."""
        config = self.config
        lr = self._lr(self.step)
        for opt in (self.opt_o, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
        x = _as_float(self.crops[indices], self.device)
        teacher = self.teacher[indices].to(self.device)

        # D: reconstruct X from O(X), O fixed.
        self.deobfuscator.requires_grad_(True)
        with torch.no_grad():
            obfuscated = self.obfuscator(x)
        rec_loss = functional.mse_loss(self.deobfuscator(obfuscated), x)
        self.opt_d.zero_grad(set_to_none=True)
        rec_loss.backward()  # type: ignore[no-untyped-call]
        self.opt_d.step()

        # O: keep the detector's answer, defeat D (D fixed).
        self.deobfuscator.requires_grad_(False)
        obfuscated = self.obfuscator(x)
        obj_loss = utility_loss(
            self.detector(detector_input(obfuscated)), teacher, config.utility, config.conf_threshold
        )
        loss = config.alpha_obj * obj_loss
        # Until D has learned something, its error says nothing about privacy: O waits.
        if self.step >= config.warmup_steps and config.alpha_rec > 0:
            loss = loss - config.alpha_rec * functional.mse_loss(self.deobfuscator(obfuscated), x)
        self.opt_o.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.opt_o.step()
        return float(obj_loss.detach()), float(rec_loss.detach())

    def run(self, on_step: Callable[[StepLog], None] | None = None, stop_after: int | None = None) -> None:
        """Train until done (or ``stop_after`` more steps), checkpointing as it goes.

        ``on_step`` is called after every step (a progress bar, a test's probe).
        """
        self.obfuscator.train()
        self.deobfuscator.train()
        budget = self.total_steps if stop_after is None else min(self.total_steps, self.step + stop_after)
        while self.step < budget:
            epoch, position = divmod(self.step, self.steps_per_epoch)
            order = self._order(epoch)
            size = self.config.batch_size
            indices = order[position * size : (position + 1) * size]
            started = time.perf_counter()
            l_obj, l_rec = self.train_step(indices)
            self.elapsed_s += time.perf_counter() - started
            lr = self._lr(self.step)
            self.step += 1
            row = {
                "step": self.step,
                "epoch": epoch + 1,
                "l_obj": l_obj,
                "l_rec": l_rec,
                "lr": lr,
                "elapsed_s": round(self.elapsed_s, 3),
            }
            self.rows.append(row)
            if on_step is not None:
                on_step(StepLog(epoch + 1, self.step, self.total_steps, l_obj, l_rec, lr, self.elapsed_s))
            end_of_epoch = self.step % self.steps_per_epoch == 0
            if end_of_epoch or self.step % self.config.checkpoint_every == 0 or self.step == budget:
                self.save_checkpoint()

    def write_summary(self, extra: dict[str, Any]) -> dict[str, Any]:
        """Write the JSON log (settings, per-epoch means, ``extra``) and the loss plot; return the JSON."""
        epochs: dict[int, list[dict[str, float]]] = {}
        for row in self.rows:
            epochs.setdefault(int(row["epoch"]), []).append(row)
        summary = {
            "config": self.config.to_json(),
            "steps": self.step,
            "train_seconds": round(self.elapsed_s, 1),
            "epochs": [
                {
                    "epoch": epoch,
                    "l_obj": float(np.mean([r["l_obj"] for r in rows])),
                    "l_rec": float(np.mean([r["l_rec"] for r in rows])),
                }
                for epoch, rows in sorted(epochs.items())
            ],
            **extra,
        }
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / LOG_JSON_NAME).write_text(json.dumps(summary, indent=2) + "\n")
        self._write_log()
        _plot(self.rows, self.work_dir / PLOT_NAME)
        return summary


def _plot(rows: Sequence[dict[str, float]], path: Path) -> None:
    """Plot both losses against the step (matplotlib comes with the ``train`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    top.plot(steps, [r["l_obj"] for r in rows], color="tab:blue")
    top.set_ylabel("L_obj (detector)")
    bottom.plot(steps, [r["l_rec"] for r in rows], color="tab:red")
    bottom.set_ylabel("L_rec (D's MSE)")
    bottom.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def train_obfuscator(
    inputs: Sequence[Path],
    output: Path,
    detector_path: Callable[[], Path],
    config: TrainConfig,
    *,
    work_dir: Path,
    per_video: int,
    share: float,
    device: str = "auto",
    threads: int = 0,
    on_step: Callable[[StepLog], None] | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train O on frames of ``inputs``, export it to ``output`` (ONNX) and return the run's summary.

    ``detector_path`` finds the detector's file; it is called once the frames are known to exist.

    Resumes from ``work_dir``'s checkpoint when there is one. With ``stop_after`` the run stops after
    that many steps (checkpointed, not exported) unless it finishes first.

    Raises:
        ConfigError: no frames in ``inputs``, or a checkpoint from another configuration.
        ModelError: the detector cannot be converted, or the export differs from the model.
    """
    from veil.obfuscation.export import check_export, export_onnx
    from veil.obfuscation.frames import training_frames
    from veil.obfuscation.network import parameter_count

    if threads:
        torch.set_num_threads(threads)
    chosen = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else device.replace("auto", "cpu")
    )
    frames = training_frames(inputs, per_video=per_video, share=share)
    crops = crops_from_frames(frames, config)
    _log.info("%d frames, %d crops of %d×%d on %s", len(frames), len(crops), *config.crop_hw[::-1], chosen)
    trainer = Trainer(detector_path(), crops, config, work_dir, chosen)
    trainer.run(on_step, stop_after=stop_after)
    summary: dict[str, Any] = {"finished": trainer.done}
    if not trainer.done:
        return summary
    model = trainer.obfuscator.cpu().eval()
    sources = sorted({str(f.source) for f in frames})
    export_onnx(model, output, metadata={"veil.train_config": json.dumps(config.to_json())})
    summary.update(
        output=str(output),
        export_max_difference=check_export(model, output),
        obfuscator_parameters=parameter_count(model),
        deobfuscator_parameters=parameter_count(trainer.deobfuscator),
        frames=len(frames),
        crops=len(crops),
        sources=sources,
        train_share=share,
        device=str(chosen),
    )
    return trainer.write_summary(summary)
