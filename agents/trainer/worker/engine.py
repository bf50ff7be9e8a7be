"""The policy engine: every verb of the worker protocol except the transport.

It asks the policy (model.py) for forward passes and does batching, sampling, the SFT and
GRPO losses, optimizer steps and checkpoints itself.

Why generation is our own loop rather than transformers' `generate`: a GRPO group is G
samples of one prompt, so the prompt is run once and its KV cache repeated G times (generate
would prefill it G times); finished rows leave the batch at once; every request samples from
its own seeded generator, so a round is repeatable whatever else the worker served; and the
log-prob of each sampled token under the sampling distribution comes out as it is drawn, for
the GRPO ratio. `npm run bench -- trainer` measures it against `generate` on the same prompts.
"""
from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import shutil
import sys
import time
import uuid

import torch
import torch.nn.functional as F

from . import util
from .model import BadRequest, build_policy
from .grpo import AGGREGATIONS, grpo_token_loss, token_weights
from .logprobs import token_logprobs

CKPT_FORMAT = 'looptool-policy-checkpoint'
CKPT_VERSION = 1


class NotLoaded(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------
# small argument helpers: every message names the field, like zod does on the TS side


def _get(args: dict, name: str, kind, default=None, where: str = 'args', required: bool = False, check=None, what: str = ''):
    if name not in args or args[name] is None:
        if required:
            raise BadRequest(f'{where}.{name}: required')
        return default
    v = args[name]
    ok = isinstance(v, kind) and not (kind in (int, float, (int, float)) and isinstance(v, bool))
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v, ok = float(v), True
    if not ok or (check is not None and not check(v)):
        raise BadRequest(f'{where}.{name}: expected {what or getattr(kind, "__name__", str(kind))}, got {json.dumps(v)[:80]}')
    return v


def _list(args: dict, name: str, where: str = 'args') -> list:
    v = args.get(name)
    if not isinstance(v, list) or not v:
        raise BadRequest(f'{where}.{name}: expected a non-empty array')
    return v


def _left_pad(seqs, pad: int, device):
    t = max(len(s) for s in seqs)
    idx = torch.full((len(seqs), t), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.bool)
    for i, s in enumerate(seqs):
        idx[i, t - len(s):] = torch.tensor(s, dtype=torch.long)
        mask[i, t - len(s):] = True
    pos = (mask.long().cumsum(1) - 1).clamp(min=0)
    return idx.to(device), mask.to(device), pos.to(device)


def _tools_key(prompt) -> str | None:
    """Which family a {"tools", "messages"} prompt belongs to: its tools, as canonical JSON."""
    tools = prompt.get('tools') if isinstance(prompt, dict) else None
    return json.dumps(tools, sort_keys=True) if tools else None


#: a shared beginning shorter than this is not worth a prefill of its own
SHARE_MIN_TOKENS = 32
#: prompts that must share a beginning before they are batched apart from the others
SHARE_MIN_FAMILY = 8


def _common_prefix(seqs) -> int:
    """The number of leading tokens every sequence shares."""
    first, n = seqs[0], min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
    return n


def _right_pad(seqs, pad: int, device, width: int | None = None):
    t = width if width is not None else max(len(s) for s in seqs)
    idx = torch.full((len(seqs), max(t, 1)), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), max(t, 1)), dtype=torch.bool)
    for i, s in enumerate(seqs):
        if s:
            idx[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = True
    return idx.to(device), mask.to(device)


class Unit:
    """One prompt and the completions trained or scored against it."""

    __slots__ = ('prompt', 'comps', 'rows')

    def __init__(self, prompt, comps, rows):
        self.prompt = prompt  # list[int]
        self.comps = comps  # list[list[int]]
        self.rows = rows  # index of each completion in the request's flat order

    def tokens(self) -> int:
        return len(self.prompt) + sum(len(c) for c in self.comps)


def _micro_batches(units: list[Unit], budget: int) -> list[list[Unit]]:
    """Splits units into micro-batches of about `budget` tokens (a unit too big for the
    budget is split by completions; its prompt is then run once per part)."""
    pieces: list[Unit] = []
    for u in units:
        if u.tokens() <= budget or len(u.comps) == 1:
            pieces.append(u)
            continue
        part_c, part_r, size = [], [], len(u.prompt)
        for c, r in zip(u.comps, u.rows):
            if part_c and size + len(c) > budget:
                pieces.append(Unit(u.prompt, part_c, part_r))
                part_c, part_r, size = [], [], len(u.prompt)
            part_c.append(c)
            part_r.append(r)
            size += len(c)
        pieces.append(Unit(u.prompt, part_c, part_r))
    out, cur, size = [], [], 0
    for u in pieces:
        if cur and size + u.tokens() > budget:
            out.append(cur)
            cur, size = [], 0
        cur.append(u)
        size += u.tokens()
    if cur:
        out.append(cur)
    return out


#: the micro-batch budget on a GPU, and the most any default gives
MICRO_BATCH_TOKENS = 16384


def default_micro_batch_tokens(config, device: str, memory: int | None) -> int:
    """The token budget of one forward/backward when the caller names none.

    On a GPU, MICRO_BATCH_TOKENS. On the CPU the activations of a micro-batch share the
    machine's memory with everything else, and at 16,384 tokens SmolLM2-135M's GRPO step grew
    past 24 GB and was killed (docs/loop.md). So the CPU budget is what fits in 30 % of
    `memory` at an estimated 4 bytes x (40 x layers x hidden + 3 x vocabulary) per token: ~3.4
    MB for SmolLM2, whose measured cost is ~2.8 MB (a 7.9 GB peak at 2,048 tokens, weights and
    optimizer included), so it gets 2,048 on a 24 GB machine; ~0.2 MB for the nano base, which
    keeps 16,384. Rounded down to a multiple of 256, at least 256.
    """
    if not device.startswith('cpu') or not memory:
        return MICRO_BATCH_TOKENS
    layers = getattr(config, 'num_hidden_layers', None)
    hidden = getattr(config, 'hidden_size', None)
    vocab = getattr(config, 'vocab_size', None)
    if not (isinstance(layers, int) and isinstance(hidden, int) and isinstance(vocab, int)):
        return MICRO_BATCH_TOKENS
    per_token = 4 * (40 * layers * hidden + 3 * vocab)
    fits = int(0.3 * memory) // per_token
    return max(256, min(MICRO_BATCH_TOKENS, fits // 256 * 256))


class Engine:
    def __init__(self, threads: int | None = None):
        self.backend = None
        self.spec = None
        self.optimizer = None
        self.opt_cfg = {'lr': 1e-4, 'weight_decay': 0.0, 'betas': [0.9, 0.999], 'eps': 1e-8}
        self.counters = {'sft_steps': 0, 'grpo_steps': 0, 'optimizer_steps': 0, 'tokens_trained': 0, 'tokens_generated': 0}
        self.generator = None
        self.seed = 0
        self.ref_model = None
        self.started = time.time()
        self.threads = util.set_threads(threads)
        self.micro_batch_tokens = MICRO_BATCH_TOKENS
        #: run a prompt once for all of its completions, and a shared prompt beginning once in
        #: generate; off only to test that it changes nothing (generate also takes
        #: `prefix_sharing: false` per request, for the benchmark)
        self.prefix_sharing = True

    # -- verbs ------------------------------------------------------------------------
    def load(self, args: dict) -> dict:
        spec = args.get('model')
        if not isinstance(spec, dict):
            raise BadRequest('args.model: expected an object with "path" (a Hugging Face checkpoint directory)')
        seed = _get(args, 'seed', int, 0)
        if args.get('threads') is not None:
            self.threads = util.set_threads(_get(args, 'threads', int, None, check=lambda v: v >= 1, what='an integer >= 1'))
        self._set_optimizer_config(args.get('optimizer') or {})
        budget = _get(args, 'micro_batch_tokens', int, None, check=lambda v: v >= 16, what='an integer >= 16')
        util.seed_everything(seed)
        self.backend = build_policy(spec, args.get('device'))
        self.micro_batch_tokens = budget if budget is not None else self._default_budget()
        self.spec = spec
        self.seed = seed
        self._reset_state()
        return self._describe()

    def generate(self, args: dict) -> dict:
        be = self._need()
        raw = _list(args, 'prompts')
        prompts = [be.render(p, f'args.prompts.{i}') for i, p in enumerate(raw)]
        n = _get(args, 'n', int, 1, check=lambda v: 1 <= v <= 1024, what='an integer in 1..1024')
        temperature = _get(args, 'temperature', float, 1.0, check=lambda v: v >= 0, what='a number >= 0')
        greedy = bool(_get(args, 'greedy', bool, False)) or temperature == 0
        max_new = _get(args, 'max_new_tokens', int, 128, check=lambda v: v >= 1, what='an integer >= 1')
        top_p = _get(args, 'top_p', float, 1.0, check=lambda v: 0 < v <= 1, what='a number in (0, 1]')
        max_rows = _get(args, 'max_batch_rows', int, 256, check=lambda v: v >= 1, what='an integer >= 1')
        seed = _get(args, 'seed', int, None)
        # off only to measure what sharing saves (npm run bench -- trainer)
        share = self.prefix_sharing and bool(_get(args, 'prefix_sharing', bool, True))
        gen = self.generator
        if seed is not None:
            gen = torch.Generator(device=be.device)
            gen.manual_seed(seed)
        t0 = time.time()
        per_chunk = max(1, max_rows // n)
        results, new_tokens = [None] * len(prompts), 0
        be.model.eval()
        for chunk in self._chunks([_tools_key(p) for p in raw], per_chunk, share):
            out = self._generate_chunk([prompts[i] for i in chunk], n, temperature, greedy, max_new, top_p, gen, chunk, share)
            for i, samples in zip(chunk, out):
                new_tokens += sum(len(s['token_ids']) for s in samples)
                results[i] = {'prompt_tokens': len(prompts[i]), 'samples': samples}
        dt = max(time.time() - t0, 1e-9)
        self.counters['tokens_generated'] += new_tokens
        return {'results': results, 'new_tokens': new_tokens, 'seconds': dt, 'tokens_per_s': new_tokens / dt}

    def score(self, args: dict) -> dict:
        be = self._need()
        add_eos = bool(_get(args, 'add_eos', bool, True))
        want_tokens = bool(_get(args, 'return_token_logprobs', bool, False))
        units = []
        for i, item in enumerate(_list(args, 'items')):
            if not isinstance(item, dict):
                raise BadRequest(f'args.items.{i}: expected an object')
            p = be.render(item.get('prompt'), f'args.items.{i}.prompt')
            c = be.completion_ids(item, f'args.items.{i}', add_eos)
            self._check_len(len(p) + len(c), f'args.items.{i}')
            units.append(Unit(p, [c], [i]))
        be.model.eval()
        out = [None] * len(units)
        t0 = time.time()
        with torch.inference_mode():
            for mb in _micro_batches(units, self.micro_batch_tokens):
                logp, _, _ = self._token_logprobs(mb, 1.0, False)
                off = 0
                for u in mb:
                    n = len(u.comps[0])
                    lp = logp[off : off + n].double()
                    off += n
                    s = float(lp.sum())
                    r = {'logprob_sum': s, 'tokens': n, 'mean_logprob': s / n, 'ppl': math.exp(-s / n) if -s / n < 700 else None}
                    if want_tokens:
                        r['token_logprobs'] = [float(x) for x in lp]
                    out[u.rows[0]] = r
        return {'results': out, 'seconds': time.time() - t0}

    def sft_step(self, args: dict) -> dict:
        be = self._need()
        add_eos = bool(_get(args, 'add_eos', bool, True))
        max_norm = _get(args, 'max_grad_norm', float, 1.0, check=lambda v: v >= 0, what='a number >= 0')
        # Samples that share a prompt form one unit: the prompt is run once for all of its
        # completions (several answers to one request, as in a group), same loss and gradient.
        units, weights, by_prompt = [], [], {}
        for i, s in enumerate(_list(args, 'samples')):
            if not isinstance(s, dict):
                raise BadRequest(f'args.samples.{i}: expected an object')
            p = be.render(s.get('prompt'), f'args.samples.{i}.prompt')
            c = be.completion_ids(s, f'args.samples.{i}', add_eos)
            self._check_len(len(p) + len(c), f'args.samples.{i}')
            weights.append(_get(s, 'weight', float, 1.0, where=f'args.samples.{i}', check=lambda v: v >= 0, what='a number >= 0'))
            u = by_prompt.get(tuple(p))
            if u is None:
                u = by_prompt[tuple(p)] = Unit(p, [], [])
                units.append(u)
            u.comps.append(c)
            u.rows.append(i)
        total = sum(len(c) * weights[r] for u in units for c, r in zip(u.comps, u.rows))
        if total <= 0:
            raise BadRequest('args.samples: every sample has weight 0')
        opt = self._optimizer(args)
        be.model.train()
        t0 = time.time()
        opt.zero_grad(set_to_none=True)
        loss_sum, tok = 0.0, 0
        for mb in _micro_batches(units, self.micro_batch_tokens):
            logp, _, _ = self._token_logprobs(mb, 1.0, False)
            w = torch.cat([torch.full((len(c),), weights[r] / total) for u in mb for c, r in zip(u.comps, u.rows)]).to(logp.device)
            loss = -(logp * w).sum()
            loss.backward()
            loss_sum += float(loss.detach())
            tok += sum(u.tokens() for u in mb)
        grad_norm = self._clip_and_step(opt, max_norm)
        dt = max(time.time() - t0, 1e-9)
        self.counters['sft_steps'] += 1
        self.counters['tokens_trained'] += tok
        return {
            'loss': loss_sum,
            'sequences': len(weights),
            'completion_tokens': sum(len(c) for u in units for c in u.comps),
            'tokens': tok,
            'grad_norm': grad_norm,
            'lr': opt.param_groups[0]['lr'],
            'seconds': dt,
            'tokens_per_s': tok / dt,
            'step': self.counters['sft_steps'],
        }

    def grpo_step(self, args: dict) -> dict:
        be = self._need()
        eps_low = _get(args, 'eps_low', float, 0.2, check=lambda v: 0 <= v < 1, what='a number in [0, 1)')
        eps_high = _get(args, 'eps_high', float, 0.28, check=lambda v: v >= 0, what='a number >= 0')
        beta = _get(args, 'beta', float, 0.0, check=lambda v: v >= 0, what='a number >= 0')
        agg = _get(args, 'aggregation', str, 'token-mean', check=lambda v: v in AGGREGATIONS, what=' or '.join(AGGREGATIONS))
        mu = _get(args, 'mu', int, 1, check=lambda v: v >= 1, what='an integer >= 1')
        n_mini = _get(args, 'minibatches', int, 1, check=lambda v: v >= 1, what='an integer >= 1')
        max_norm = _get(args, 'max_grad_norm', float, 1.0, check=lambda v: v >= 0, what='a number >= 0')
        temperature = _get(args, 'temperature', float, 1.0, check=lambda v: v > 0, what='a number > 0')
        norm_tokens = _get(args, 'norm_tokens', int, None, check=lambda v: v >= 1, what='an integer >= 1')
        # Parse: one Unit per group; per completion its sampling log-probs and advantage.
        groups = _list(args, 'groups')
        units, old, adv = [], [], []
        for gi, g in enumerate(groups):
            where = f'args.groups.{gi}'
            if not isinstance(g, dict):
                raise BadRequest(f'{where}: expected an object')
            p = be.render(g.get('prompt'), f'{where}.prompt')
            comps, rows = [], []
            for ci, c in enumerate(_list(g, 'completions', where)):
                cw = f'{where}.completions.{ci}'
                if not isinstance(c, dict):
                    raise BadRequest(f'{cw}: expected an object')
                ids = be.completion_ids({'completion_ids': c.get('token_ids')}, cw, False) if 'token_ids' in c else None
                if ids is None:
                    raise BadRequest(f'{cw}.token_ids: required (the ids that generate returned)')
                lps = c.get('logprobs')
                if not isinstance(lps, list) or len(lps) != len(ids) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in lps):
                    raise BadRequest(f'{cw}.logprobs: expected {len(ids)} numbers, one per token id')
                a = _get(c, 'advantage', float, where=cw, required=True, check=math.isfinite, what='a finite number')
                self._check_len(len(p) + len(ids), cw)
                rows.append(len(old))
                comps.append(ids)
                old.append(lps)
                adv.append(a)
            units.append(Unit(p, comps, rows))
        lengths = [len(x) for x in old]
        # Minibatches: contiguous runs of groups, each normalised on its own and followed by
        # one optimizer step; mu passes over all of them.
        per = max(1, math.ceil(len(units) / n_mini))
        minis = [units[i : i + per] for i in range(0, len(units), per)]
        opt = self._optimizer(args)
        if beta > 0:
            self._ensure_reference(bool(_get(args, 'reset_reference', bool, False)))
        be.model.train()
        t0 = time.time()
        m = {'loss': 0.0, 'ratio_sum': 0.0, 'ratio_min': math.inf, 'ratio_max': -math.inf, 'clipped': 0, 'kl_sum': 0.0,
             'ent_sum': 0.0, 'tokens': 0, 'computed_tokens': 0, 'grad_norms': [], 'skipped': 0, 'processed': 0}
        for _pass in range(mu):
            for mini in minis:
                rows_here = [r for u in mini for r in u.rows]
                w_list = token_weights([lengths[r] for r in rows_here], agg, norm_tokens)
                weight_of = dict(zip(rows_here, w_list))
                # A completion with advantage 0 has zero policy gradient: with no KL term it
                # is not run at all (it still counts in the normaliser, as given).
                work = []
                for u in mini:
                    keep = [(c, r) for c, r in zip(u.comps, u.rows) if beta > 0 or adv[r] != 0.0]
                    m['skipped'] += len(u.comps) - len(keep)
                    if keep:
                        work.append(Unit(u.prompt, [c for c, _ in keep], [r for _, r in keep]))
                opt.zero_grad(set_to_none=True)
                for mb in _micro_batches(work, self.micro_batch_tokens):
                    logp, ent, _ = self._token_logprobs(mb, temperature, True)
                    dev = logp.device
                    rows = [r for u in mb for r in u.rows]
                    old_t = torch.cat([torch.tensor(old[r], dtype=torch.float32) for r in rows]).to(dev)
                    adv_t = torch.cat([torch.full((lengths[r],), adv[r], dtype=torch.float32) for r in rows]).to(dev)
                    w_t = torch.cat([weight_of[r] for r in rows]).to(dev)
                    ref_t = None
                    if beta > 0:
                        with torch.no_grad(), self._reference():
                            ref_t, _, _ = self._token_logprobs(mb, temperature, False)
                    loss_t, ratio, clipped, kl = grpo_token_loss(logp, old_t, adv_t, eps_low, eps_high, beta, ref_t)
                    loss = (loss_t * w_t).sum()
                    loss.backward()
                    with torch.no_grad():
                        if kl is None:  # no reference: report KL to the sampling policy
                            kl = torch.exp(old_t - logp) - (old_t - logp) - 1.0
                        m['loss'] += float(loss)
                        m['ratio_sum'] += float(ratio.sum())
                        m['ratio_min'] = min(m['ratio_min'], float(ratio.min()))
                        m['ratio_max'] = max(m['ratio_max'], float(ratio.max()))
                        m['clipped'] += int(clipped.sum())
                        m['kl_sum'] += float(kl.sum())
                        m['ent_sum'] += float(ent.sum())
                        m['computed_tokens'] += int(logp.numel())
                        m['processed'] += sum(u.tokens() for u in mb)
                if work:
                    m['grad_norms'].append(self._clip_and_step(opt, max_norm))
        dt = max(time.time() - t0, 1e-9)
        n_tok = max(m['computed_tokens'], 1)
        self.counters['grpo_steps'] += 1
        self.counters['tokens_trained'] += m['processed']
        updates = len(m['grad_norms'])
        return {
            'loss': m['loss'] / max(updates, 1),
            'ratio_mean': m['ratio_sum'] / n_tok if m['computed_tokens'] else 1.0,
            'ratio_min': m['ratio_min'] if m['computed_tokens'] else 1.0,
            'ratio_max': m['ratio_max'] if m['computed_tokens'] else 1.0,
            'clip_frac': m['clipped'] / n_tok,
            'kl': m['kl_sum'] / n_tok,
            'kl_to': 'reference' if beta > 0 else 'sampling',
            'entropy': m['ent_sum'] / n_tok,
            'grad_norm': sum(m['grad_norms']) / updates if updates else 0.0,
            'updates': updates,
            'sequences': len(old),
            'skipped_sequences': m['skipped'] // mu,
            'completion_tokens': sum(lengths),
            'tokens': m['processed'],
            'seconds': dt,
            'tokens_per_s': m['processed'] / dt,
            'lr': opt.param_groups[0]['lr'],
            'step': self.counters['grpo_steps'],
        }

    def save(self, args: dict) -> dict:
        be = self._need()
        path = _get(args, 'path', str, required=True, check=bool, what='a non-empty path')
        meta = args.get('meta', {})
        with_opt = bool(_get(args, 'optimizer', bool, True))
        path = os.path.abspath(path)
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        tmp = f'{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}'
        os.makedirs(tmp)
        try:
            be.save_model(tmp)
            opt_sd = self.optimizer.state_dict() if with_opt and self.optimizer is not None else None
            # torch 1.13's weights_only unpickler refuses Python floats: the optimizer's
            # hyper-parameters (param_groups) go to meta.json, its tensors to state.pt.
            state = {
                'optimizer_state': opt_sd['state'] if opt_sd else None,
                'rng': util.rng_state(),
            }
            torch.save(state, os.path.join(tmp, 'state.pt'))
            info = {
                'format': CKPT_FORMAT,
                'version': CKPT_VERSION,
                'backend': be.kind,
                'spec': self.spec,
                'counters': self.counters,
                'optimizer_config': self.opt_cfg,
                'micro_batch_tokens': self.micro_batch_tokens,
                'seed': self.seed,
                'torch': torch.__version__,
                'created': time.time(),
                'meta': meta,
                'optimizer_param_groups': opt_sd['param_groups'] if opt_sd else None,
            }
            with open(os.path.join(tmp, 'meta.json'), 'w') as f:
                json.dump(info, f)
            for name in os.listdir(tmp):
                p = os.path.join(tmp, name)
                if os.path.isfile(p):
                    with open(p, 'rb') as f:
                        os.fsync(f.fileno())
            # Swap in: at every moment either `path` or `path.old-*` is a whole checkpoint.
            old = None
            if os.path.exists(path):
                old = f'{path}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}'
                os.rename(path, old)
            os.rename(tmp, path)
            if old:
                shutil.rmtree(old, ignore_errors=True)
            _fsync_dir(parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(path) for f in fs)
        return {'path': path, 'bytes': size, 'counters': dict(self.counters)}

    def restore(self, args: dict) -> dict:
        path = _get(args, 'path', str, required=True, check=bool, what='a non-empty path')
        path = os.path.abspath(path)
        meta_path = os.path.join(path, 'meta.json')
        if not os.path.isfile(meta_path):
            raise BadRequest(f'args.path: no checkpoint at {path} (meta.json missing)')
        with open(meta_path) as f:
            info = json.load(f)
        if info.get('format') != CKPT_FORMAT:
            raise BadRequest(f'args.path: {path} is not a looptool policy checkpoint')
        with_opt = bool(_get(args, 'optimizer', bool, True))
        budget = _get(args, 'micro_batch_tokens', int, None, check=lambda v: v >= 16, what='an integer >= 16')
        state = torch.load(os.path.join(path, 'state.pt'), map_location='cpu', weights_only=True)
        stored_spec = dict(info['spec'])
        model_path = _get(args, 'model_path', str, None, check=bool, what='a non-empty path')
        if model_path is not None:
            stored_spec['path'] = model_path
        spec = dict(stored_spec)
        if args.get('device'):
            spec['device'] = args['device']
        if info.get('backend') != 'hf':
            raise BadRequest(f'args.path: {path} holds a {info.get("backend")!r} policy, which this worker no longer serves (every policy is a Hugging Face causal LM)')
        self.backend = build_policy(spec, None, ckpt_dir=path)
        self.spec = stored_spec
        self._reset_state()
        self.seed = int(info.get('seed', 0))
        if info.get('optimizer_config'):
            self.opt_cfg.update(info['optimizer_config'])
        # A replacement worker restores from the last checkpoint: it keeps the micro-batch
        # budget it was trained with (checkpoints without one: the default for the model and
        # device), unless the caller names one: a run resumed with a smaller budget must not
        # get the old one back.
        stored = info.get('micro_batch_tokens')
        if budget is not None:
            self.micro_batch_tokens = budget
        elif isinstance(stored, int) and stored >= 16:
            self.micro_batch_tokens = stored
        else:
            self.micro_batch_tokens = self._default_budget()
        self.counters.update(info.get('counters') or {})
        if with_opt and state.get('optimizer_state') is not None and info.get('optimizer_param_groups'):
            groups = [dict(g, betas=tuple(g['betas'])) if 'betas' in g else g for g in info['optimizer_param_groups']]
            self._optimizer({}).load_state_dict({'state': state['optimizer_state'], 'param_groups': groups})
        if state.get('rng'):
            util.set_rng_state(state['rng'])
        d = self._describe()
        d['meta'] = info.get('meta', {})
        d['path'] = path
        return d

    def export(self, args: dict) -> dict:
        """Writes the served policy as a plain Hugging Face checkpoint directory (weights,
        tokenizer, chat template): what `looptool model init` caches and `looptool serve` or
        any transformers user can load."""
        be = self._need()
        path = os.path.abspath(_get(args, 'path', str, required=True, check=bool, what='a non-empty path'))
        tmp = f'{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}'
        try:
            be.export(tmp)
            if os.path.exists(path):
                shutil.rmtree(path)
            os.rename(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return {'path': path, 'bytes': sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(path) for f in fs)}

    def init_nano(self, args: dict) -> dict:
        from .nano import init_nano

        return init_nano(args)

    def stats(self, args: dict) -> dict:
        out = {
            'loaded': self.backend is not None,
            'pid': os.getpid(),
            'python': sys.version.split()[0],
            'executable': sys.executable,
            'torch': torch.__version__,
            'cuda': torch.cuda.is_available(),
            'threads': torch.get_num_threads(),
            'uptime_s': time.time() - self.started,
            'counters': dict(self.counters),
            'rss_mb': _rss_mb(),
            'optimizer': dict(self.opt_cfg),
            'micro_batch_tokens': self.micro_batch_tokens,
        }
        if self.backend is not None:
            out['model'] = self.backend.info()
            out['device'] = self.backend.device
        if torch.cuda.is_available():
            out['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
        return out

    # -- internals --------------------------------------------------------------------
    def _need(self):
        if self.backend is None:
            raise NotLoaded('no model loaded: send "load" or "restore" first')
        return self.backend

    def _describe(self) -> dict:
        return {'model': self.backend.info(), 'device': self.backend.device, 'threads': torch.get_num_threads(),
                'counters': dict(self.counters), 'torch': torch.__version__}

    def _default_budget(self) -> int:
        """default_micro_batch_tokens for the served model on its device."""
        model = getattr(self.backend, 'model', None)
        return default_micro_batch_tokens(getattr(model, 'config', None), str(self.backend.device), util.memory_bytes())

    def _reset_state(self):
        self.optimizer = None
        self.ref_model = None
        self.counters = {k: 0 for k in self.counters}
        self.generator = torch.Generator(device=self.backend.device)
        self.generator.manual_seed(self.seed + 1)

    def _check_len(self, n: int, where: str):
        lim = self.backend.max_len()
        if lim is not None and n > lim:
            raise BadRequest(f'{where}: prompt + completion is {n} tokens, longer than the model context ({lim})')

    def _set_optimizer_config(self, cfg: dict):
        if not isinstance(cfg, dict):
            raise BadRequest('args.optimizer: expected an object')
        self.opt_cfg['lr'] = _get(cfg, 'lr', float, self.opt_cfg['lr'], where='args.optimizer', check=lambda v: v > 0, what='a number > 0')
        self.opt_cfg['weight_decay'] = _get(cfg, 'weight_decay', float, self.opt_cfg['weight_decay'], where='args.optimizer', check=lambda v: v >= 0, what='a number >= 0')
        betas = cfg.get('betas', self.opt_cfg['betas'])
        if not (isinstance(betas, list) and len(betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise BadRequest('args.optimizer.betas: expected two numbers in [0, 1)')
        self.opt_cfg['betas'] = list(betas)

    def _optimizer(self, args: dict):
        if _get(args, 'reset_optimizer', bool, False):
            self.optimizer = None
        if self.optimizer is None:
            self.optimizer = util.make_adamw(self.backend.trainable_parameters(), self.opt_cfg['lr'], self.opt_cfg['weight_decay'],
                                               self.opt_cfg['betas'], self.opt_cfg['eps'], self.backend.device)
        lr = _get(args, 'lr', float, None, check=lambda v: v > 0, what='a number > 0')
        if lr is not None:
            for g in self.optimizer.param_groups:
                g['lr'] = lr
        return self.optimizer

    def _clip_and_step(self, opt, max_norm: float) -> float:
        params = [p for p in self.backend.trainable_parameters() if p.grad is not None]
        if not params:
            return 0.0
        if max_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        else:
            norm = torch.norm(torch.stack([p.grad.detach().norm() for p in params]))
        norm = float(norm)
        if math.isfinite(norm):
            opt.step()
            self.counters['optimizer_steps'] += 1
        else:  # a NaN/inf gradient would poison the weights: skip the update, report it
            print(f'[worker] non-finite gradient norm ({norm}); update skipped', file=sys.stderr)
        opt.zero_grad(set_to_none=True)
        return norm

    def _ensure_reference(self, reset: bool):
        be = self.backend
        if be.lora:
            return  # the reference is the base model with the adapter disabled
        if self.ref_model is None or reset:
            self.ref_model = copy.deepcopy(be.model).eval()
            for p in self.ref_model.parameters():
                p.requires_grad_(False)

    @contextlib.contextmanager
    def _reference(self):
        be = self.backend
        if be.lora:
            with be.model.disable_adapter():
                yield
            return
        live = be.model
        be.model = self.ref_model
        saved = (be.decoder, be.lm_head)
        be.decoder, be.lm_head = self.ref_model.get_decoder(), self.ref_model.get_output_embeddings()
        try:
            yield
        finally:
            be.model = live
            be.decoder, be.lm_head = saved

    def _completion_hidden(self, units: list[Unit]):
        """Hidden states that predict every completion token: H [N, Cmax, d], valid [N, Cmax],
        targets [N, Cmax]; rows in the order of the units' completions."""
        be = self.backend
        dev = be.device
        comps = [c for u in units for c in u.comps]
        cmax = max(len(c) for c in comps)
        targets, valid = _right_pad(comps, be.pad_id, dev, cmax)
        if self.prefix_sharing and any(len(u.comps) > 1 for u in units) and not be.spec.get('gradient_checkpointing'):
            return self._shared_prompt_hidden(units, comps, cmax, valid, targets)
        seqs, starts = [], []
        for u in units:
            for c in u.comps:
                seqs.append(u.prompt + c)
                starts.append(len(u.prompt) - 1)
        idx, mask = _right_pad(seqs, be.pad_id, dev)
        pos = torch.arange(idx.shape[1], device=dev).unsqueeze(0).expand_as(idx)
        # Right padding only: causality alone keeps real tokens from seeing the pads.
        h = be.hidden(idx, pos, mask)
        gather = (torch.tensor(starts, device=dev).unsqueeze(1) + torch.arange(cmax, device=dev).unsqueeze(0)).clamp(max=idx.shape[1] - 1)
        hs = h.gather(1, gather.unsqueeze(-1).expand(-1, -1, h.shape[-1]))
        return hs, valid, targets

    def _shared_prompt_hidden(self, units, comps, cmax, valid, targets):
        """The same hidden states, each prompt run once for all of its completions (a GRPO
        group, or samples that share a request): the prompts' keys/values are repeated per
        completion and the completions run against them. Gradients flow back through the
        repeat, so loss and gradients equal running every sequence in full (tested)."""
        be = self.backend
        dev = be.device
        prompts = [u.prompt for u in units]
        idx, pmask, ppos = _left_pad(prompts, be.pad_id, dev)
        out = be.decoder(input_ids=idx, attention_mask=pmask.long(), position_ids=ppos, use_cache=True)
        reps = torch.tensor([len(u.comps) for u in units], device=dev)
        h_last = out.last_hidden_state[:, -1].repeat_interleave(reps, dim=0)
        if cmax == 1:
            return h_last.unsqueeze(1), valid, targets
        cache = out.past_key_values
        cache.batch_repeat_interleave(reps)  # torch's repeat_interleave takes per-row counts
        plen = torch.tensor([len(p) for p in prompts], device=dev).repeat_interleave(reps)
        inp, imask = _right_pad([c[:-1] for c in comps], be.pad_id, dev, cmax - 1)
        pos = plen.unsqueeze(1) + torch.arange(cmax - 1, device=dev).unsqueeze(0)
        key_mask = torch.cat([pmask.repeat_interleave(reps, dim=0), imask], dim=1)
        hc = be.decoder(input_ids=inp, attention_mask=key_mask.long(), position_ids=pos, past_key_values=cache, use_cache=True).last_hidden_state
        return torch.cat([h_last.unsqueeze(1), hc], dim=1), valid, targets

    def _token_logprobs(self, units: list[Unit], temperature: float, want_entropy: bool):
        """Flat per-token log-probs (with grad when enabled) of every completion token, in
        order; entropy of the policy at each of those positions (no grad) if asked."""
        be = self.backend
        with util.autocast_ctx(be.device, be.dtype):
            hs, valid, targets = self._completion_hidden(units)

        def head(h):
            with util.autocast_ctx(be.device, be.dtype):
                return be.out_logits(h)

        tgt = targets[valid]
        logp, ent = token_logprobs(head, hs[valid], tgt, temperature, want_entropy)
        return logp, ent, tgt

    def _chunks(self, families: list, per_chunk: int, share: bool) -> list[list[int]]:
        """Batches of prompt indices. With prefix sharing, prompts of one family (the same
        tools, so the same tools block at the start) batch together and their shared
        beginning prefills once; families smaller than SHARE_MIN_FAMILY, where that would
        only shrink batches, and prompts without tools batch in request order as before."""
        order = list(range(len(families)))
        if not share:
            return [order[i : i + per_chunk] for i in range(0, len(order), per_chunk)]
        by = {}
        for i, f in enumerate(families):
            by.setdefault(f, []).append(i)
        big = [ix for f, ix in by.items() if f is not None and len(ix) >= SHARE_MIN_FAMILY]
        loose = sorted(i for f, ix in by.items() if f is None or len(ix) < SHARE_MIN_FAMILY for i in ix)
        out = [f[i : i + per_chunk] for f in big for i in range(0, len(f), per_chunk)]
        return out + [loose[i : i + per_chunk] for i in range(0, len(loose), per_chunk)]

    def _prefill(self, prompts, share: bool):
        """Runs the prompts -> (last logits, cache, key mask, last positions). Prompts that
        begin alike (the same tools block and system text: every test sample of one tool
        set) share that beginning: it runs once and its keys/values are repeated for every
        row, then each prompt's own rest runs left-padded after it, the padding masked and
        the positions continuing from the shared part. Prefill is most of an evaluation's
        time on the CPU, and most of a prompt is its tools."""
        be = self.backend
        dev = be.device
        shared = _common_prefix(prompts) if share and len(prompts) > 1 else 0
        # at least one token of each prompt must run after the shared part (its logits)
        shared = min(shared, min(len(p) for p in prompts) - 1)
        if shared < SHARE_MIN_TOKENS:
            idx, mask, pos = _left_pad(prompts, be.pad_id, dev)
            logits, cache = be.step(idx, pos, mask, None)
            return logits, cache, mask, pos[:, -1]
        head = torch.tensor([prompts[0][:shared]], dtype=torch.long, device=dev)
        hmask = torch.ones((1, shared), dtype=torch.bool, device=dev)
        _, cache = be.step(head, torch.arange(shared, device=dev).unsqueeze(0), hmask, None)
        cache = be.repeat_rows(cache, len(prompts))
        idx, rmask, rpos = _left_pad([p[shared:] for p in prompts], be.pad_id, dev)
        mask = torch.cat([hmask.expand(len(prompts), shared), rmask], dim=1)
        logits, cache = be.step(idx, rpos + shared, mask, cache)
        return logits, cache, mask, rpos[:, -1] + shared

    def _generate_chunk(self, prompts, n, temperature, greedy, max_new, top_p, gen, index, share):
        be = self.backend
        dev = be.device
        lim = be.max_len()
        longest = max(len(p) for p in prompts)
        if lim is not None:
            if longest >= lim:
                i = index[max(range(len(prompts)), key=lambda j: len(prompts[j]))]
                raise BadRequest(f'args.prompts.{i}: {longest} tokens leave no room in the model context ({lim})')
            max_new = min(max_new, lim - longest)
        rows = len(prompts) * n
        outs_tok = [[] for _ in range(rows)]
        outs_lp = [[] for _ in range(rows)]
        finish = ['length'] * rows
        stop = torch.tensor(sorted(be.stop_ids), device=dev)
        with torch.inference_mode(), util.autocast_ctx(dev, be.dtype):
            # Each prompt once; its cache repeated for its n samples.
            logits, cache, mask, last_pos = self._prefill(prompts, share)
            if n > 1:
                cache = be.repeat_rows(cache, n)
                logits = logits.repeat_interleave(n, dim=0)
                mask = mask.repeat_interleave(n, dim=0)
            last_pos = last_pos.repeat_interleave(n, dim=0)
            active = torch.arange(rows, device=dev)
            for step in range(max_new):
                if greedy:
                    lp = F.log_softmax(logits, dim=-1)
                    tok = lp.argmax(-1)
                else:
                    lp = F.log_softmax(logits / temperature, dim=-1)
                    probs = lp.exp()
                    if top_p < 1.0:
                        sp, si = probs.sort(dim=-1, descending=True)
                        drop = (sp.cumsum(-1) - sp) > top_p
                        probs = torch.zeros_like(probs).scatter_(1, si, sp.masked_fill(drop, 0.0))
                    tok = torch.multinomial(probs, 1, generator=gen).squeeze(1)
                tok_lp = lp.gather(1, tok.unsqueeze(1)).squeeze(1)
                done = (tok.unsqueeze(1) == stop.unsqueeze(0)).any(1)
                for r, t, l, d in zip(active.tolist(), tok.tolist(), tok_lp.tolist(), done.tolist()):
                    outs_tok[r].append(t)
                    outs_lp[r].append(l)
                    if d:
                        finish[r] = 'stop'
                if bool(done.all()) or step == max_new - 1:
                    break
                if bool(done.any()):  # finished rows leave the batch and the cache
                    keep = (~done).nonzero().squeeze(1)
                    cache = be.keep_rows(cache, keep)
                    active, tok, mask, last_pos = active[keep], tok[keep], mask[keep], last_pos[keep]
                last_pos = last_pos + 1
                mask = torch.cat([mask, torch.ones((mask.shape[0], 1), dtype=torch.bool, device=dev)], dim=1)
                logits, cache = be.step(tok.unsqueeze(1), last_pos.unsqueeze(1), mask, cache)
        out = []
        for i in range(len(prompts)):
            samples = []
            for r in range(i * n, (i + 1) * n):
                ids = outs_tok[r]
                body = ids[:-1] if finish[r] == 'stop' else ids
                samples.append({'text': be.decode(body), 'token_ids': ids, 'logprobs': outs_lp[r], 'finish_reason': finish[r]})
            out.append(samples)
        return out


def _fsync_dir(path: str):
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _rss_mb() -> float | None:
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError):
        return None
