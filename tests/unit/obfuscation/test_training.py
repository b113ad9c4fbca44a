"""Training: both losses move the way they should, runs resume after a kill, logs and export hold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from obfuscation_fixtures import synthetic_crops
from veil.errors import ConfigError
from veil.obfuscation.config import TrainConfig, UtilityLoss
from veil.obfuscation.frames import SampledFrame
from veil.obfuscation.training import Trainer, crops_from_frames


def _config(**changes: object) -> TrainConfig:
    base: dict[str, object] = {
        "epochs": 1,
        "batch_size": 8,
        "crop_hw": (64, 96),
        "warmup_steps": 0,
        "checkpoint_every": 1000,
    }
    return TrainConfig(**{**base, **changes})  # type: ignore[arg-type]


def _trainer(detector: Path, work: Path, crops: torch.Tensor, **changes: object) -> Trainer:
    return Trainer(detector, crops, _config(**changes), work)


def _first_last(rows: list[dict[str, float]], key: str) -> tuple[float, float]:
    return rows[0][key], rows[-1][key]


def test_deobfuscator_learns_to_reconstruct(tiny_detector: Path, tmp_path: Path) -> None:
    # One batch of the same 8 crops every step, and O held still (no loss of its own): the change is
    # D's training alone.
    trainer = _trainer(tiny_detector, tmp_path, synthetic_crops(8), epochs=8, alpha_rec=0.0, alpha_obj=0.0)
    trainer.run()
    first, last = _first_last(trainer.rows, "l_rec")
    assert last < 0.7 * first


@pytest.mark.parametrize("mode", list(UtilityLoss))
def test_obfuscator_lowers_the_detectors_loss(tiny_detector: Path, tmp_path: Path, mode: UtilityLoss) -> None:
    # A small rate: on the random stand-in detector the distillation loss overshoots at 1e-3 on the
    # first step before it falls (3.6 → 14 → 3.5 in 12 steps); at 1e-4 it falls from the first.
    trainer = _trainer(
        tiny_detector, tmp_path, synthetic_crops(8), epochs=8, alpha_rec=0.0, utility=mode, lr=1e-4
    )
    # Its initial codec already keeps these smooth frames almost whole; start it off somewhere worse.
    with torch.no_grad():
        for p in trainer.obfuscator.decoder.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    trainer.run()
    first, last = _first_last(trainer.rows, "l_obj")
    assert last < 0.99 * first


def test_adversarial_term_defeats_the_deobfuscator(tiny_detector: Path, tmp_path: Path) -> None:
    # O trained on -L_rec alone: D's error grows step after step although D trains every step too.
    trainer = _trainer(tiny_detector, tmp_path, synthetic_crops(8), epochs=8, alpha_rec=1.0, alpha_obj=0.0)
    trainer.run()
    losses = [r["l_rec"] for r in trainer.rows]
    assert losses[-1] > 5 * losses[0]
    assert losses == sorted(losses)


def test_killed_run_resumes_where_its_checkpoint_left_it(tiny_detector: Path, tmp_path: Path) -> None:
    crops = synthetic_crops(16)
    settings = {"epochs": 2, "batch_size": 4, "checkpoint_every": 1}  # 4 steps an epoch, 8 in all
    straight = _trainer(tiny_detector, tmp_path / "straight", crops, **settings)
    straight.run()

    killed = _trainer(tiny_detector, tmp_path / "killed", crops, **settings)
    killed.run(stop_after=3)  # mid-epoch: the process ends here, its checkpoint on disk
    assert not killed.done
    del killed
    resumed = _trainer(tiny_detector, tmp_path / "killed", crops, **settings)
    assert resumed.step == 3
    resumed.run()
    assert resumed.done and [r["step"] for r in resumed.rows] == list(range(1, 9))
    for a, b in zip(
        straight.obfuscator.state_dict().values(), resumed.obfuscator.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(
        [r["l_obj"] for r in resumed.rows], [r["l_obj"] for r in straight.rows], rtol=1e-5
    )


def test_checkpoint_of_other_settings_is_refused(tiny_detector: Path, tmp_path: Path) -> None:
    crops = synthetic_crops(8)
    _trainer(tiny_detector, tmp_path, crops).run()
    with pytest.raises(ConfigError, match="other settings"):
        _trainer(tiny_detector, tmp_path, crops, alpha_rec=3.0)


def test_learning_rate_drops_tenfold_at_the_halfway_epoch(tiny_detector: Path, tmp_path: Path) -> None:
    trainer = _trainer(tiny_detector, tmp_path, synthetic_crops(8), epochs=4)
    trainer.run()
    assert [r["lr"] for r in trainer.rows] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])


def test_summary_writes_csv_json_and_plot(tiny_detector: Path, tmp_path: Path) -> None:
    trainer = _trainer(tiny_detector, tmp_path, synthetic_crops(8), epochs=2)
    trainer.run()
    summary = trainer.write_summary({"note": "test"})
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0] == "step,epoch,l_obj,l_rec,lr,elapsed_s" and len(lines) == 3
    written = json.loads((tmp_path / "log.json").read_text())
    assert written == json.loads(json.dumps(summary)) and [e["epoch"] for e in written["epochs"]] == [1, 2]
    assert written["config"]["utility"] == "pseudo-label" and written["note"] == "test"
    assert (tmp_path / "losses.png").read_bytes().startswith(b"\x89PNG")


def test_crops_are_seeded_and_padded() -> None:
    small = SampledFrame(np.full((40, 50, 3), 7, np.uint8), Path("a.png"), 0)
    rng = np.random.default_rng(0)
    big = SampledFrame(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8), Path("b.png"), 0)
    config = _config(crops_per_frame=2)
    crops = crops_from_frames([small, big], config)
    assert crops.shape == (4, 3, 64, 96) and crops.dtype == torch.uint8
    assert int(crops[0].min()) == int(crops[0].max()) == 7  # edge padding repeats the frame's pixels
    assert torch.equal(crops, crops_from_frames([small, big], config))
    assert not torch.equal(crops, crops_from_frames([small, big], _config(crops_per_frame=2, seed=1)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"crop_hw": (100, 96)}, "multiple of 32"),
        ({"epochs": 0}, "at least 1"),
        ({"scale_range": (0.9, 0.5)}, "scale_range"),
        ({"alpha_rec": -1.0}, "negative"),
        ({"conf_threshold": 1.0}, "conf_threshold"),
    ],
)
def test_config_names_the_bad_setting(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**changes)
