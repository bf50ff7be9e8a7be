"""Our GRPO loss against TRL's (issue 16, item 5).

One seeded random-init Qwen3 in fp32, one batch of prompts and completions (token ids),
sampling log-probs, reference log-probs and advantages. Our side scores each sequence on
its own and sums loss_t * w_t (grpo_token_loss, token_weights), as the worker's
grpo_step does. TRL's side is its own GRPOTrainer._compute_loss, called unbound on a
stand-in that carries only the attributes that method reads, with TRL's fused LM head
patched onto the model as GRPOTrainer.__init__ does. Loss and every parameter's gradient
must agree to 1e-5 for each aggregation both implement:

    ours          TRL loss_type
    token-mean    bnpo, dapo       (bnpo: with one micro-batch per optimizer step)
    seq-mean      grpo
    dr-grpo       dr_grpo          (norm_tokens = max_completion_length)

Differences by design are named in the assertion messages and explained in
docs/trainer.md ("GRPO against TRL").
"""
import collections
import copy
import unittest

import torch

from ..grpo import grpo_token_loss, token_weights

try:
    from accelerate import Accelerator
    from transformers import Qwen3Config, Qwen3ForCausalLM
    from trl import GRPOConfig
    from trl.trainer.grpo_trainer import GRPOTrainer
    from trl.trainer.utils import add_fused_lm_head
except ImportError as e:  # the worker's other tests still run without the test-only stack
    MISSING = f'{e.name or e} is not installed for this interpreter (scripts/setup.sh installs the stack, trl included)'
else:
    MISSING = None

TOL = 1e-5
EPS_LOW, EPS_HIGH = 0.2, 0.28
MAX_COMPLETION = 16  # TRL's max_completion_length; our norm_tokens for dr-grpo
PAD = 0
# (our aggregation, TRL loss_type)
PAIRS = [('token-mean', 'bnpo'), ('token-mean', 'dapo'), ('seq-mean', 'grpo'), ('dr-grpo', 'dr_grpo')]


def tiny_qwen3(seed: int):
    """Small enough to run in milliseconds, deep enough (two layers, GQA, RoPE, q/k
    norms) that the gradients pass through everything a real Qwen3 has."""
    torch.manual_seed(seed)
    cfg = Qwen3Config(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
                      tie_word_embeddings=True, pad_token_id=PAD)
    # Training mode, as in an update (TRL's normalisers read it); Qwen3 has no dropout.
    return Qwen3ForCausalLM(cfg).float().train()


def batch(seed: int):
    """Two groups of three completions: ragged prompt and completion lengths, so that
    TRL's padding and masks are exercised and the three aggregations all differ."""
    g = torch.Generator().manual_seed(seed)
    ids = lambda n: torch.randint(1, 97, (n,), generator=g).tolist()  # noqa: E731 (id 0 is the pad)
    prompts = [ids(7), ids(4)]
    comps = [ids(n) for n in (3, 9, 14, 5, 1, 11)]
    rewards = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    adv = []
    for r in rewards:  # group-normalised, as the TypeScript side does
        t = torch.tensor(r)
        adv += ((t - t.mean()) / (t.std() + 1e-4)).tolist()
    return {'prompts': [prompts[0]] * 3 + [prompts[1]] * 3, 'comps': comps, 'adv': adv, 'gen': g}


def our_logprobs(model, prompts, comps, temperature=1.0):
    """Per-token log-probs of each completion, one unpadded sequence at a time."""
    out = []
    for p, c in zip(prompts, comps):
        logits = model(input_ids=torch.tensor([p + c])).logits[0, len(p) - 1 : len(p) + len(c) - 1]
        lp = torch.log_softmax(logits.float() / temperature, dim=-1)
        out.append(lp.gather(1, torch.tensor(c).unsqueeze(1)).squeeze(1))
    return out


def off_policy(logps, gen, scale):
    """Sampling (or reference) log-probs a little away from the current ones, so that
    ratios fall on both sides of both clip bounds."""
    return [(lp.detach() + scale * torch.randn(lp.shape, generator=gen)) for lp in logps]


def our_loss(model, b, aggregation, beta, norm_tokens=None, temperature=1.0):
    logps = our_logprobs(model, b['prompts'], b['comps'], temperature)
    lengths = [len(c) for c in b['comps']]
    w = torch.cat(token_weights(lengths, aggregation, norm_tokens))
    adv = torch.cat([torch.full((n,), a) for n, a in zip(lengths, b['adv'])])
    loss_t, ratio, _, kl = grpo_token_loss(torch.cat(logps), torch.cat(b['old']), adv, EPS_LOW, EPS_HIGH, beta,
                                           torch.cat(b['ref']) if beta else None)
    return (loss_t * w).sum(), ratio, kl, w


def left_pad(rows):
    width = max(len(r) for r in rows)
    ids = torch.tensor([[PAD] * (width - len(r)) + list(r) for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


def right_pad(rows, fill=PAD, dtype=torch.long):
    width = max(len(r) for r in rows)
    vals = torch.tensor([list(r) + [fill] * (width - len(r)) for r in rows], dtype=dtype)
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    return vals, mask


def trl_inputs(b):
    """The batch as GRPOTrainer._generate_and_score_completions hands it to the loss:
    left-padded prompts, right-padded completions, per-token log-probs padded alike."""
    prompt_ids, prompt_mask = left_pad(b['prompts'])
    completion_ids, completion_mask = right_pad(b['comps'])
    old, _ = right_pad([x.tolist() for x in b['old']], 0.0, torch.float32)
    ref, _ = right_pad([x.tolist() for x in b['ref']], 0.0, torch.float32)
    return {'prompt_ids': prompt_ids, 'prompt_mask': prompt_mask, 'completion_ids': completion_ids,
            'completion_mask': completion_mask, 'advantages': torch.tensor(b['adv']), 'old_per_token_logps': old,
            'ref_per_token_logps': ref, 'num_items_in_batch': completion_mask.sum()}


class TrlStandIn:
    """What GRPOTrainer._compute_loss reads from `self`, and nothing else: one process,
    no vLLM, no entropy masks or bonus, token-level ratios."""

    _compute_loss = GRPOTrainer._compute_loss if MISSING is None else None
    _get_per_token_logps_and_entropies = GRPOTrainer._get_per_token_logps_and_entropies if MISSING is None else None

    def __init__(self, model, loss_type, beta, bias_correction_kl=False, accumulation=1):
        self.model = model
        self.loss_type = loss_type
        self.beta = beta
        self.epsilon_low, self.epsilon_high = EPS_LOW, EPS_HIGH
        self.max_completion_length = MAX_COMPLETION
        self.args = GRPOConfig.__new__(GRPOConfig)  # a bare config: only the fields below are read
        self.args.use_bias_correction_kl = bias_correction_kl
        self.args.delta = None
        # One generation batch split into `accumulation` micro-batches, one optimizer step.
        self.args.steps_per_generation = accumulation
        self.accelerator = Accelerator(cpu=True)
        self.current_gradient_accumulation_steps = accumulation
        self.importance_sampling_level = 'token'
        self.top_entropy_quantile = 1.0
        self.off_policy_mask_threshold = None
        self.use_vllm = False
        self.aux_loss_enabled = False
        self._entropy_bonus_enabled = False
        self._metrics = {'train': collections.defaultdict(list), 'eval': collections.defaultdict(list)}


def rows(b, idx):
    """A micro-batch: the listed rows of a batch."""
    return {k: [v[i] for i in idx] for k, v in b.items() if isinstance(v, list)}


def trl_copy(model, temperature=1.0):
    """The model as GRPOTrainer.__init__ leaves it: TRL's loss calls it with
    fused_lm_head=True. A copy keeps our side on the model's own forward."""
    theirs = copy.deepcopy(model)
    add_fused_lm_head(theirs, temperature=temperature, outputs=('log_probs', 'entropy'))
    return theirs


def grads(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def max_grad_diff(a, b):
    return max(float((a[n] - b[n]).abs().max()) for n in a)


@unittest.skipIf(MISSING, MISSING)
class AgreesWithTrl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ours_model = tiny_qwen3(seed=0)
        cls.trl_model = trl_copy(cls.ours_model)
        cls.b = batch(seed=1)
        with torch.no_grad():
            current = our_logprobs(cls.ours_model, cls.b['prompts'], cls.b['comps'])
        cls.b['old'] = off_policy(current, cls.b['gen'], 0.3)
        cls.b['ref'] = off_policy(current, cls.b['gen'], 0.1)
        cls.report = {}

    @classmethod
    def tearDownClass(cls):
        # The measured agreement, for docs/trainer.md when it changes.
        for k, (dl, dg, g) in sorted(cls.report.items()):
            print(f'  trl {k}: |loss diff| {dl:.1e}, max |grad diff| {dg:.1e} (max |grad| {g:.1e})')

    def compare(self, aggregation, loss_type, beta, **ours_kw):
        """Both losses (as floats), our ratios, |loss diff|, max |grad diff|, max |grad|."""
        mine, ratio, _, _ = our_loss(self.ours_model, self.b, aggregation, beta, **ours_kw)
        theirs = TrlStandIn(self.trl_model, loss_type, beta)._compute_loss(self.trl_model, trl_inputs(self.b))
        g_mine, g_theirs = grads(self.ours_model, mine), grads(self.trl_model, theirs)
        mine, theirs = mine.item(), theirs.item()
        biggest = max(float(g.abs().max()) for g in g_mine.values())
        return mine, theirs, ratio.detach(), abs(mine - theirs), max_grad_diff(g_mine, g_theirs), biggest

    def test_every_shared_aggregation_with_and_without_kl(self):
        for aggregation, loss_type in PAIRS:
            for beta in (0.0, 0.04):
                with self.subTest(aggregation=aggregation, loss_type=loss_type, beta=beta):
                    _, _, ratio, dl, dg, biggest = self.compare(aggregation, loss_type, beta, norm_tokens=MAX_COMPLETION)
                    self.report[f'{aggregation} vs {loss_type}, beta={beta}'] = (dl, dg, biggest)
                    self.assertLess(dl, TOL, 'loss')
                    self.assertLess(dg, TOL, 'gradient')
                    # Not a vacuous agreement: both clip bounds are crossed and the
                    # gradients are far above the tolerance.
                    self.assertTrue(bool((ratio > 1 + EPS_HIGH).any() and (ratio < 1 - EPS_LOW).any()))
                    self.assertGreater(biggest, 1e3 * TOL)

    def test_dr_grpo_without_norm_tokens_uses_the_longest_completion(self):
        # By design: TRL's Dr. GRPO divides by its configured max_completion_length; ours
        # uses norm_tokens when given (the trainer agent passes max_new_tokens) and falls
        # back to the batch's longest completion, which is TRL's figure only when some
        # completion reached the limit.
        longest = max(len(c) for c in self.b['comps'])
        mine, theirs, *_ = self.compare('dr-grpo', 'dr_grpo', 0.0)
        self.assertAlmostEqual(mine * longest / MAX_COMPLETION, theirs, delta=TOL,
                               msg='design difference: dr-grpo normaliser is max(lengths) without norm_tokens')

    def test_trl_default_weights_the_kl_by_the_ratio(self):
        # By design: TRL 1.x defaults to use_bias_correction_kl, which multiplies the k3
        # term by the importance ratio pi/pi_old; ours adds beta * k3 unweighted, as in
        # the GRPO paper. The loss then differs by exactly beta * sum(w * (ratio - 1) * k3).
        # A reference further away and a large beta make that difference plain.
        self.assertTrue(GRPOConfig.__dataclass_fields__['use_bias_correction_kl'].default)
        beta, b = 1.0, dict(self.b)
        b['ref'] = off_policy(b['old'], torch.Generator().manual_seed(4), 0.5)
        mine, ratio, kl, w = our_loss(self.ours_model, b, 'token-mean', beta)
        stand_in = TrlStandIn(self.trl_model, 'bnpo', beta, bias_correction_kl=True)
        theirs = stand_in._compute_loss(self.trl_model, trl_inputs(b))
        correction = beta * (w * (ratio - 1) * kl).sum().item()
        self.assertAlmostEqual(theirs.item(), mine.item() + correction, delta=TOL,
                               msg="design difference: TRL's default KL is weighted by the importance ratio")
        self.assertGreater(abs(correction), 10 * TOL)

    def test_micro_batches_keep_the_full_batch_token_mean_like_dapo_not_bnpo(self):
        # By design: our token weights are fixed over the whole minibatch, so splitting it
        # into micro-batches (gradient accumulation) changes nothing. TRL's dapo does the
        # same (it divides by the generation batch's token count); its bnpo divides each
        # micro-batch by its own token count, i.e. the mean of per-micro-batch token means.
        halves, total = [rows(self.b, range(0, 3)), rows(self.b, range(3, 6))], sum(map(len, self.b['comps']))
        mine = our_loss(self.ours_model, self.b, 'token-mean', 0.0)[0]
        g_mine = grads(self.ours_model, mine)
        for loss_type in ('dapo', 'bnpo'):
            stand_in = TrlStandIn(self.trl_model, loss_type, 0.0, accumulation=2)
            theirs = sum(stand_in._compute_loss(self.trl_model, {**trl_inputs(h), 'num_items_in_batch': torch.tensor(total)})
                         for h in halves)
            g_theirs = grads(self.trl_model, theirs)
            if loss_type == 'dapo':
                self.assertLess(abs(mine.item() - theirs.item()), TOL, 'dapo under accumulation')
                self.assertLess(max_grad_diff(g_mine, g_theirs), TOL, 'dapo under accumulation')
            else:
                per_half = sum(our_loss(self.ours_model, h, 'token-mean', 0.0)[0].item() for h in halves) / 2
                self.assertAlmostEqual(theirs.item(), per_half, delta=TOL,
                                       msg='design difference: bnpo normalises each micro-batch on its own')
                self.assertGreater(abs(theirs.item() - mine.item()), 10 * TOL)


class TemperatureAgreesWithTrl(unittest.TestCase):
    @unittest.skipIf(MISSING, MISSING)
    def test_sampling_temperature_divides_the_logits_on_both_sides(self):
        ours_model = tiny_qwen3(seed=2)
        trl_model = trl_copy(ours_model, temperature=0.7)
        b = batch(seed=3)
        with torch.no_grad():
            current = our_logprobs(ours_model, b['prompts'], b['comps'], 0.7)
        b['old'], b['ref'] = off_policy(current, b['gen'], 0.3), current
        mine, *_ = our_loss(ours_model, b, 'seq-mean', 0.0, temperature=0.7)
        theirs = TrlStandIn(trl_model, 'grpo', 0.0)._compute_loss(trl_model, trl_inputs(b))
        self.assertLess(abs(mine.item() - theirs.item()), TOL)
        self.assertLess(max_grad_diff(grads(ours_model, mine), grads(trl_model, theirs)), TOL)


if __name__ == '__main__':
    unittest.main()
