"""The GRPO objective against values computed by hand (issue 4, item 2)."""
import math
import unittest

import torch

from worker.grpo import clipped_surrogate, grpo_token_loss, k3_kl, token_weights


def policy(logits_values, token):
    """A one-step softmax policy over len(logits_values) actions: the smallest case in
    which every quantity below can be worked out on paper."""
    logits = torch.tensor(logits_values, dtype=torch.float64, requires_grad=True)
    logp = torch.log_softmax(logits, dim=0)[token]
    return logits, logp


class ClippedObjective(unittest.TestCase):
    def test_ratio_one_gives_the_plain_policy_gradient(self):
        # Two actions, uniform policy (logits 0, 0), action 0 taken, advantage +1.
        # Loss at ratio 1 is -A * 1 = -1. d/dlogits of -A*logp = -A*(onehot - p) = [-0.5, +0.5].
        logits, logp = policy([0.0, 0.0], 0)
        old = logp.detach()
        loss, ratio, clipped = clipped_surrogate(logp.unsqueeze(0), old.unsqueeze(0), torch.tensor([1.0], dtype=torch.float64), 0.2, 0.28)
        self.assertAlmostEqual(float(ratio), 1.0, places=12)
        self.assertAlmostEqual(float(loss), -1.0, places=12)
        self.assertFalse(bool(clipped))
        loss.sum().backward()
        self.assertEqual([round(g, 12) for g in logits.grad.tolist()], [-0.5, 0.5])

    def test_ratio_one_matches_reinforce_for_any_batch(self):
        # At ratio 1 the clipped loss's gradient equals that of -mean(A * logp).
        torch.manual_seed(0)
        logits = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
        acts = torch.tensor([0, 3, 6, 2, 2])
        adv = torch.tensor([1.5, -0.5, 0.2, -1.0, 0.0], dtype=torch.float64)
        logp = torch.log_softmax(logits, 1).gather(1, acts.unsqueeze(1)).squeeze(1)
        loss, _, _ = clipped_surrogate(logp, logp.detach(), adv, 0.2, 0.28)
        (g1,) = torch.autograd.grad(loss.mean(), logits)
        logp2 = torch.log_softmax(logits, 1).gather(1, acts.unsqueeze(1)).squeeze(1)
        (g2,) = torch.autograd.grad(-(adv * logp2).mean(), logits)
        self.assertTrue(torch.allclose(g1, g2, atol=1e-12))

    def test_positive_advantage_is_clipped_above_one_plus_eps_high(self):
        # p(a) = 0.5 now, 0.3 when sampled: ratio 5/3 > 1.28, A = +1.
        # loss = max(-5/3, -1.28) = -1.28, a constant: no gradient.
        logits, logp = policy([0.0, 0.0], 0)
        old = torch.tensor([math.log(0.3)], dtype=torch.float64)
        loss, ratio, clipped = clipped_surrogate(logp.unsqueeze(0), old, torch.tensor([1.0], dtype=torch.float64), 0.2, 0.28)
        self.assertAlmostEqual(float(ratio), 5 / 3, places=12)
        self.assertAlmostEqual(float(loss), -1.28, places=12)
        self.assertTrue(bool(clipped))
        loss.sum().backward()
        self.assertEqual(logits.grad.abs().max().item(), 0.0)

    def test_negative_advantage_is_clipped_below_one_minus_eps_low(self):
        # p(a) = 0.5 now, 0.8 when sampled: ratio 0.625 < 0.8, A = -2.
        # loss = max(2 * 0.625, 2 * 0.8) = 1.6, constant: no gradient.
        logits, logp = policy([0.0, 0.0], 0)
        old = torch.tensor([math.log(0.8)], dtype=torch.float64)
        loss, ratio, clipped = clipped_surrogate(logp.unsqueeze(0), old, torch.tensor([-2.0], dtype=torch.float64), 0.2, 0.28)
        self.assertAlmostEqual(float(ratio), 0.625, places=12)
        self.assertAlmostEqual(float(loss), 1.6, places=12)
        self.assertTrue(bool(clipped))
        loss.sum().backward()
        self.assertEqual(logits.grad.abs().max().item(), 0.0)

    def test_clip_does_not_stop_the_gradient_on_the_pessimistic_side(self):
        # A = +1 and ratio 0.625 (below 1 - eps_low): the unclipped branch -r is the larger,
        # so the gradient flows: d(-r)/dlogits = -r * (onehot - p) = -0.625 * [0.5, -0.5].
        logits, logp = policy([0.0, 0.0], 0)
        old = torch.tensor([math.log(0.8)], dtype=torch.float64)
        loss, _, clipped = clipped_surrogate(logp.unsqueeze(0), old, torch.tensor([1.0], dtype=torch.float64), 0.2, 0.28)
        self.assertAlmostEqual(float(loss), -0.625, places=12)
        self.assertFalse(bool(clipped))
        loss.sum().backward()
        self.assertEqual([round(g, 12) for g in logits.grad.tolist()], [-0.3125, 0.3125])

    def test_asymmetric_bounds(self):
        # ratio 1.25 with A = +1: inside 1 + 0.28, outside 1 + 0.2: only eps_high counts.
        logp = torch.tensor([math.log(0.5)], dtype=torch.float64, requires_grad=True)
        old = torch.tensor([math.log(0.4)], dtype=torch.float64)
        loss, _, clipped = clipped_surrogate(logp, old, torch.tensor([1.0], dtype=torch.float64), 0.2, 0.28)
        self.assertAlmostEqual(float(loss), -1.25, places=12)
        self.assertFalse(bool(clipped))
        loss, _, clipped = clipped_surrogate(logp, old, torch.tensor([1.0], dtype=torch.float64), 0.2, 0.2)
        self.assertAlmostEqual(float(loss), -1.2, places=12)
        self.assertTrue(bool(clipped))


class KLTerm(unittest.TestCase):
    def test_k3_is_zero_with_zero_gradient_at_the_reference(self):
        logits, logp = policy([0.3, -1.2, 2.0], 1)
        kl = k3_kl(logp, logp.detach())
        self.assertEqual(float(kl), 0.0)
        kl.backward()
        self.assertEqual(logits.grad.abs().max().item(), 0.0)

    def test_k3_by_hand(self):
        # d = ref - logp = ln 0.25 - ln 0.5 = -ln 2: k3 = 1/2 + ln 2 - 1.
        logp = torch.tensor(math.log(0.5), dtype=torch.float64, requires_grad=True)
        kl = k3_kl(logp, torch.tensor(math.log(0.25), dtype=torch.float64))
        self.assertAlmostEqual(float(kl), 0.5 + math.log(2) - 1, places=12)
        kl.backward()
        # dk3/dlogp = 1 - exp(d) = 1 - 1/2
        self.assertAlmostEqual(float(logp.grad), 0.5, places=12)

    def test_beta_adds_the_kl_term(self):
        logp = torch.tensor([math.log(0.5)], dtype=torch.float64)
        ref = torch.tensor([math.log(0.25)], dtype=torch.float64)
        adv = torch.tensor([1.0], dtype=torch.float64)
        base, _, _, kl = grpo_token_loss(logp, logp, adv, 0.2, 0.28, 0.0, ref)
        with_kl, _, _, _ = grpo_token_loss(logp, logp, adv, 0.2, 0.28, 0.1, ref)
        self.assertAlmostEqual(float(with_kl - base), 0.1 * (0.5 + math.log(2) - 1), places=12)
        self.assertAlmostEqual(float(kl), 0.5 + math.log(2) - 1, places=12)


class Aggregation(unittest.TestCase):
    # Two sequences: lengths 1 and 3, per-token losses [4] and [1, 2, 3].
    losses = [torch.tensor([4.0]), torch.tensor([1.0, 2.0, 3.0])]

    def total(self, agg, norm=None):
        w = token_weights([1, 3], agg, norm)
        return float(sum((l * x).sum() for l, x in zip(self.losses, w)))

    def test_token_mean(self):
        self.assertAlmostEqual(self.total('token-mean'), (4 + 1 + 2 + 3) / 4)

    def test_seq_mean(self):
        self.assertAlmostEqual(self.total('seq-mean'), (4 / 1 + 6 / 3) / 2)

    def test_dr_grpo(self):
        self.assertAlmostEqual(self.total('dr-grpo'), 10 / (2 * 3), places=6)
        self.assertAlmostEqual(self.total('dr-grpo', 8), 10 / (2 * 8), places=6)

    def test_unknown(self):
        with self.assertRaises(ValueError):
            token_weights([1], 'sum')


if __name__ == '__main__':
    unittest.main()
