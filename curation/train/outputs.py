"""Per-sample outputs of a batch, shared by the training pass (dynamics) and eval passes (collection)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def sample_outputs(logits: torch.Tensor, labels: torch.Tensor, binary: bool) -> dict[str, torch.Tensor]:
    """loss (NaN where unlabelled), logit, prob, prob_label, margin, pred — one value per sample — and `probs`, each
    sample's probability of every class (N, C; binary: P(negative), P(positive)), what confident learning reads.

    Binary (one logit z): prob = P(positive), margin = z for label 1 and -z for label 0.
    Multi-class: prob = the top class's probability, margin = z[label] - max other z (area under the margin).
    """
    labelled = labels >= 0
    safe = labels.clamp(min=0)
    if binary:
        z = logits[:, 0]
        prob = torch.sigmoid(z)
        loss = F.binary_cross_entropy_with_logits(z, safe.float(), reduction="none")
        sign = safe.float() * 2 - 1
        margin, logit = z * sign, z
        prob_label = torch.where(safe == 1, prob, 1 - prob)
        pred = (z > 0).long()
        probs = torch.stack([1 - prob, prob], dim=1)
    else:
        loss = F.cross_entropy(logits, safe, reduction="none")
        probs = logits.softmax(-1)
        prob, pred = probs.max(-1)
        logit = logits.gather(1, safe[:, None])[:, 0]
        others = logits.scatter(1, safe[:, None], float("-inf")).max(-1).values
        margin, prob_label = logit - others, probs.gather(1, safe[:, None])[:, 0]
    nan = torch.full_like(loss, float("nan"))
    return {"loss": torch.where(labelled, loss, nan), "logit": logit, "prob": prob,
            "prob_label": torch.where(labelled, prob_label, nan), "margin": torch.where(labelled, margin, nan),
            "pred": pred, "probs": probs}
