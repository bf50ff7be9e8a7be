"""The nano policy: a small Qwen3ForCausalLM with a BPE tokenizer trained on the simulated
world's text, written as an ordinary Hugging Face checkpoint directory.

Why its own tokenizer: a general tokenizer spends most of a 150k vocabulary on text the
simulated world never shows, and splits tool names and parameter keys into many pieces. A
few thousand merges learned from the world's own prompts and answers make the tools block
and the calls short; digits stay one token each, so copying a number is copying tokens one
for one. Why Qwen3: rotary positions make a pattern (an id to copy, a key to echo) look the
same wherever it sits in the prompt, which learned absolute positions do not.
"""
from __future__ import annotations

import json
import os

import torch

from .model import BadRequest, read_template, require
from .render import normalize_tool, to_hf_messages

#: tokens the chat template and the Hermes call format use; each must stay one token
SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<tool_call>', '</tool_call>',
                  '<tool_response>', '</tool_response>', '<tools>', '</tools>', '<think>', '</think>']

#: the default shape: measured on 2 CPU cores (docs/trainer.md, "The nano policy")
DEFAULT_SHAPE = {'hidden_size': 256, 'num_hidden_layers': 4, 'num_attention_heads': 4, 'num_key_value_heads': 2,
                 'intermediate_size': 768, 'max_position_embeddings': 2048}


def render_corpus(samples: list, template: str) -> list[str]:
    """Prompt + completion text of each sample, through the same template the policy reads."""
    from transformers.utils.chat_template_utils import render_jinja_template

    texts = []
    for i, s in enumerate(samples):
        if not isinstance(s, dict) or not isinstance(s.get('prompt'), dict):
            raise BadRequest(f'args.samples.{i}: expected {{"prompt": {{"tools", "messages"}}, "completion"}}')
        p = s['prompt']
        tools = [{'type': 'function', 'function': normalize_tool(t, f'args.samples.{i}.prompt.tools.{k}')} for k, t in enumerate(p.get('tools') or [])]
        rendered, _ = render_jinja_template(conversations=[to_hf_messages(p.get('messages') or [])], tools=tools or None,
                                            chat_template=template, add_generation_prompt=True)
        texts.append(rendered[0] + str(s.get('completion') or '') + '<|im_end|>')
    return texts


def train_tokenizer(texts: list[str], vocab_size: int):
    require('tokenizers')
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    # A space is a token of its own, never the start of a word's token: a value then has
    # one spelling in the request ("event EV-45904") and in the call ("\"EV-45904\""), and
    # copying it is matching equal tokens. With GPT-2's " EV" against "EV", a 4M-parameter
    # model trained on a few thousand samples never learnt to copy (docs/loop.md).
    # Digits are single tokens for the same reason: any number is copied digit by digit.
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(' ', behavior='isolated'),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(texts, trainer=trainer)
    return tk


def init_nano(args: dict) -> dict:
    """Builds the nano checkpoint in args.out from args.samples (the simulated world's text)."""
    require('transformers')
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    out = args.get('out')
    if not isinstance(out, str) or not out:
        raise BadRequest('args.out: expected a directory path')
    samples = args.get('samples')
    if not isinstance(samples, list) or not samples:
        raise BadRequest('args.samples: expected a non-empty array of {prompt, completion}')
    vocab_size = args.get('vocab_size', 4096)
    if not isinstance(vocab_size, int) or not 300 <= vocab_size <= 200_000:
        raise BadRequest('args.vocab_size: expected an integer in 300..200000')
    shape = dict(DEFAULT_SHAPE)
    for k, v in (args.get('shape') or {}).items():
        if k not in DEFAULT_SHAPE or not isinstance(v, int) or v < 1:
            raise BadRequest(f'args.shape.{k}: expected one of {", ".join(DEFAULT_SHAPE)} with a positive integer')
        shape[k] = v
    if shape['hidden_size'] % shape['num_attention_heads'] or shape['num_attention_heads'] % shape['num_key_value_heads']:
        raise BadRequest('args.shape: hidden_size must divide by num_attention_heads, and heads by num_key_value_heads')
    seed = args.get('seed', 0)
    template = read_template()
    texts = render_corpus(samples, template)
    tk = train_tokenizer(texts, vocab_size)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token='<|im_end|>', pad_token='<|endoftext|>',
                                  unk_token=None, bos_token=None, additional_special_tokens=SPECIAL_TOKENS[3:])
    tok.chat_template = template
    lengths = [len(tk.encode(t).ids) for t in texts]
    cfg = Qwen3Config(
        vocab_size=tk.get_vocab_size(),
        head_dim=shape['hidden_size'] // shape['num_attention_heads'],
        rope_theta=10000.0,
        tie_word_embeddings=True,
        eos_token_id=tk.token_to_id('<|im_end|>'),
        pad_token_id=tk.token_to_id('<|endoftext|>'),
        bos_token_id=None,
        **shape,
    )
    torch.manual_seed(int(seed))
    model = Qwen3ForCausalLM(cfg)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    with open(os.path.join(out, 'looptool-nano.json'), 'w') as f:
        json.dump({'shape': shape, 'vocab_size': tk.get_vocab_size(), 'seed': seed, 'corpus_samples': len(samples)}, f)
    return {
        'path': os.path.abspath(out),
        'params': sum(p.numel() for p in model.parameters()),
        'vocab_size': tk.get_vocab_size(),
        'tokens_per_sample': {'mean': sum(lengths) / len(lengths), 'max': max(lengths), 'min': min(lengths)},
        'config': {k: getattr(cfg, k) for k in ('hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'max_position_embeddings', 'head_dim')},
    }
