"""Label noise as annotators make it, for either generator: which labels are wrong, what they became, and why.

- uniform: a share of the videos get another class drawn uniformly, whatever they show (a careless click);
- class-conditional: each class is mistaken for its look-alike (its confusable partner) at its own rate, and
  the rates of a pair differ (one direction is the likelier mistake): the higher class of a pair at 1.5× the
  asked-for share, the lower at 0.5×, so a balanced data set keeps the asked-for share overall;
- instance: the videos that are hard to read (occluded, slow, small, dim, a near miss) are the ones mislabelled,
  mostly as their look-alike: flips are drawn with probability growing with each video's ambiguity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.errors import BadInput

NOISE_MODELS = ("uniform", "class-conditional", "instance")
ASYMMETRY = (0.5, 1.5)  # a pair's lower and higher class: multiples of the asked-for share
INSTANCE_POWER = 3.0  # how strongly ambiguity steers instance flips (1: proportional)
PARTNER_SHARE = 0.8  # of instance flips, the share that goes to the look-alike (the rest to any other class)
UNIFORM_CAUSE = "uniform: a label changed at random, whatever the video shows"


@dataclass(frozen=True)
class Flip:
    label: int  # the label written in place of the truth
    cause: str


def check_noise_model(name: str) -> str:
    if name not in NOISE_MODELS:
        raise BadInput(f"unknown noise model {name!r}", f"use one of {', '.join(NOISE_MODELS)}")
    return name


def draw_flips(rng: np.random.Generator, model: str, labels: dict[str, int], n_classes: int, share: float,
               partner: dict[int, int], ambiguity: dict[str, float] | None = None,
               why: dict[str, str] | None = None) -> dict[str, Flip]:
    """The flipped videos among `labels` (video → true class, the videos eligible to be mislabelled), each with
    the label written and its cause. `partner`: each class's look-alike; `ambiguity` (instance noise): per video
    a value in [0, 1], and `why` the words for what makes it hard to read."""
    check_noise_model(model)
    ids = sorted(labels)
    if not share or not ids:
        return {}
    if model == "uniform":
        chosen = rng.choice(ids, min(len(ids), int(round(share * len(ids)))), replace=False)
        out = {}
        for vid in sorted(chosen):
            others = [c for c in range(n_classes) if c != labels[vid]]
            out[str(vid)] = Flip(int(rng.choice(others)), UNIFORM_CAUSE)
        return out
    if model == "class-conditional":
        out = {}
        for c in range(n_classes):
            members = [v for v in ids if labels[v] == c]
            rate = share * (ASYMMETRY[1] if c > partner[c] else ASYMMETRY[0])
            for vid in rng.choice(members, min(len(members), int(round(rate * len(members)))), replace=False):
                out[str(vid)] = Flip(partner[c], f"class-conditional: class {c} mistaken for its look-alike "
                                                 f"{partner[c]} (rate {rate:.2f})")
        return dict(sorted(out.items()))
    weights = np.array([(ambiguity or {}).get(v, 0.0) for v in ids], float) ** INSTANCE_POWER + 1e-6
    n = min(len(ids), int(round(share * len(ids))))
    out = {}
    for vid in sorted(rng.choice(ids, n, replace=False, p=weights / weights.sum())):
        true = labels[vid]
        if rng.random() < PARTNER_SHARE or n_classes == 2:
            to = partner[true]
        else:
            to = int(rng.choice([c for c in range(n_classes) if c not in (true, partner[true])]))
        out[str(vid)] = Flip(to, f"instance: hard to read ({(why or {}).get(vid, 'ambiguous')}; ambiguity "
                                 f"{(ambiguity or {}).get(vid, 0.0):.2f})")
    return out
