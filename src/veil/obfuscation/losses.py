"""The frozen detector as a utility judge: its input convention and its loss on obfuscated frames.

YOLOX-nano answers, per anchor, ``[dx, dy, log_w, log_h, obj, cls_0..cls_79]`` with obj and cls
already through a sigmoid (see the model's MANIFEST entry). The teacher is the detector on the
original frame X, the student the same detector on O(X).
"""

from __future__ import annotations

import torch
from torch.nn import functional

from veil.obfuscation.config import UtilityLoss

__all__ = ["detector_input", "utility_loss"]

_EPS = 1e-6
# YOLOX weighs its box term 5× its objectness and class terms (its yolo_head's reg_weight).
_BOX_WEIGHT = 5.0


def detector_input(rgb: torch.Tensor) -> torch.Tensor:
    """Return an N×3×H×W RGB batch in [0, 1] as YOLOX takes it: BGR, 0–255."""
    return rgb.flip(1) * 255.0


def _bce(prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return functional.binary_cross_entropy(prob.clamp(_EPS, 1.0 - _EPS), target, reduction="none")


def utility_loss(
    student: torch.Tensor, teacher: torch.Tensor, mode: UtilityLoss, conf_threshold: float
) -> torch.Tensor:
    """Return the detector's loss on O(X) (``student``, N×A×85) against its answer on X (``teacher``).

    Normalized by the number of positive anchors, as YOLOX normalizes by its foreground count, so the
    loss of a crowded frame and of an empty one are on one scale.
    """
    teacher = teacher.detach().float()
    t_box, t_obj, t_cls = teacher[..., :4], teacher[..., 4], teacher[..., 5:]
    s_box, s_obj, s_cls = student[..., :4], student[..., 4], student[..., 5:]
    score, best = (t_obj[..., None] * t_cls).max(dim=-1)
    positive = (score > conf_threshold).float()
    if mode is UtilityLoss.PSEUDO_LABEL:
        weight = positive
        obj_target = positive
        cls_target = functional.one_hot(best, t_cls.shape[-1]).float()
    else:
        weight = torch.maximum(positive, score)
        obj_target = t_obj
        cls_target = t_cls
    count = weight.sum().clamp(min=1.0)
    obj = _bce(s_obj, obj_target).sum()
    cls = (_bce(s_cls, cls_target).sum(dim=-1) * weight).sum()
    box = ((s_box - t_box).abs().sum(dim=-1) * weight).sum()
    total: torch.Tensor = (obj + cls + _BOX_WEIGHT * box) / count
    return total
