"""The GRPO objective, as pure tensor functions (unit-tested by hand in tests/).

Per completion token t of sequence i, with r = exp(logp - logp_old) and advantage A_i:
    pg   = max(-A * r, -A * clip(r, 1 - eps_low, 1 + eps_high))      (clipped surrogate)
    kl   = exp(ref - logp) - (ref - logp) - 1                         (k3 estimator, >= 0)
    loss_t = pg + beta * kl
Aggregation over the batch:
    token-mean : sum_t loss_t / (number of tokens in the batch)       (DAPO; the paper's)
    seq-mean   : mean_i ( mean_{t in i} loss_t )                      (original GRPO)
    dr-grpo    : sum_t loss_t / (number of sequences * norm_tokens)   (Dr. GRPO: a constant
                 length normaliser, so long and short answers weigh the same per token)
The aggregation is expressed as a weight per token so that micro-batches (gradient
accumulation) give exactly the full-batch gradient.
"""
from __future__ import annotations

import torch

AGGREGATIONS = ('token-mean', 'seq-mean', 'dr-grpo')


def token_weights(lengths: list[int], aggregation: str, norm_tokens: int | None = None) -> list[torch.Tensor]:
    """One weight tensor per sequence; the loss is sum over all tokens of weight * loss_t."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f'aggregation must be one of {", ".join(AGGREGATIONS)}')
    n_seq = len(lengths)
    total = sum(lengths)
    out = []
    for n in lengths:
        if aggregation == 'token-mean':
            w = 1.0 / total
        elif aggregation == 'seq-mean':
            w = 1.0 / (n * n_seq)
        else:
            w = 1.0 / (n_seq * (norm_tokens or max(lengths)))
        out.append(torch.full((n,), w, dtype=torch.float32))
    return out


def clipped_surrogate(logp, old_logp, adv, eps_low: float, eps_high: float):
    """Per-token clipped policy-gradient loss; returns (loss_t, ratio, clipped mask).

    `clipped` marks the tokens whose gradient the clip stops: the clipped branch is
    strictly the larger (pessimistic) one."""
    ratio = torch.exp(logp - old_logp)
    pg1 = -adv * ratio
    pg2 = -adv * torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    loss = torch.max(pg1, pg2)
    clipped = pg2 > pg1
    return loss, ratio, clipped


def k3_kl(logp, ref_logp):
    """k3 estimator of KL(pi || ref) per token: exp(d) - d - 1 with d = ref - logp."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1.0


def grpo_token_loss(logp, old_logp, adv, eps_low: float, eps_high: float, beta: float = 0.0, ref_logp=None):
    loss, ratio, clipped = clipped_surrogate(logp, old_logp, adv, eps_low, eps_high)
    kl = None
    if ref_logp is not None:
        kl = k3_kl(logp, ref_logp)
        if beta:
            loss = loss + beta * kl
    return loss, ratio, clipped, kl
