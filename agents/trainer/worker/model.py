"""The policy: a transformers causal LM and its tokenizer, loaded from a checkpoint directory.

One model path for every policy (DESIGN.md §2.3): the nano model built here, SmolLM2
converted from its GGUF file, or any local checkpoint such as Qwen3-8B on a GPU. Full
fine-tuning or a LoRA adapter through peft. Nothing is ever downloaded
(`local_files_only`).

The engine drives generation token by token itself (engine.py says why); this module gives
it the few forward passes it needs and the KV cache operations transformers' own cache
offers (repeat rows for a group, drop finished rows).
"""
from __future__ import annotations

import copy
import json
import os
import sys

import torch

from .render import RenderError, normalize_tool, to_hf_messages

#: looptool's tools-aware chat template, used when a checkpoint has none or when asked for
TEMPLATE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'chat_template.jinja')

#: the files a checkpoint directory must hold (weights may be sharded or an adapter)
NEEDED = ('config.json', 'tokenizer.json')


class BadRequest(ValueError):
    """A request the worker cannot serve as given; the message names the field."""


class MissingPackage(BadRequest):
    pass


def require(module: str):
    """Imports a package of the Python stack or fails naming it and the set-up command."""
    try:
        return __import__(module)
    except ImportError as e:
        raise MissingPackage(
            f'the Python package "{module}" cannot be imported by {sys.executable} ({e}); '
            f'run `npm run setup` (scripts/setup.sh) to install the pinned stack, or point LOOPTOOL_PYTHON at an interpreter that has it'
        ) from None


def read_template() -> str:
    with open(TEMPLATE_PATH, encoding='utf-8') as f:
        return f.read()


def pick_device(requested: str | None) -> str:
    if requested in (None, '', 'auto'):
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if requested.startswith('cuda') and not torch.cuda.is_available():
        raise BadRequest(f'model.device: {requested!r} asked for, but torch {torch.__version__} sees no CUDA device')
    return requested


def check_checkpoint_dir(path, field: str = 'model.path') -> str:
    if not isinstance(path, str) or not path:
        raise BadRequest(f'{field}: expected a checkpoint directory path')
    if not os.path.isdir(path):
        raise BadRequest(f'{field}: {path} is not a directory')
    missing = [n for n in NEEDED if not os.path.isfile(os.path.join(path, n))]
    weights = [n for n in os.listdir(path) if n.endswith('.safetensors') or n.endswith('.bin')]
    if missing or not weights:
        what = ', '.join(missing + ([] if weights else ['*.safetensors weights']))
        raise BadRequest(f'{field}: {path} is not a Hugging Face checkpoint directory (missing {what})')
    try:
        with open(os.path.join(path, 'config.json')) as f:
            cfg = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise BadRequest(f'{field}: {path}/config.json is not readable JSON ({e})') from None
    if not isinstance(cfg, dict) or 'model_type' not in cfg:
        raise BadRequest(f'{field}: {path}/config.json has no "model_type"')
    return path


class Policy:
    """A causal LM, its tokenizer and the forward passes the engine needs."""

    kind = 'hf'

    def __init__(self, spec: dict, device: str, weights_dir: str | None = None, adapter_dir: str | None = None):
        transformers = require('transformers')
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = check_checkpoint_dir(spec.get('path'))
        self.spec = spec
        self.device = device
        want = spec.get('dtype', 'auto')
        if want == 'auto':
            self.dtype = torch.bfloat16 if device.startswith('cuda') else torch.float32
        else:
            self.dtype = {'bfloat16': torch.bfloat16, 'float16': torch.float16, 'float32': torch.float32}[want]
        trust = bool(spec.get('trust_remote_code', False))
        try:
            self.tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust, local_files_only=True)
        except Exception as e:  # noqa: BLE001 - transformers raises many kinds here
            raise BadRequest(f'model.path: the tokenizer in {path} does not load ({type(e).__name__}: {e})') from None
        kwargs = {'dtype': self.dtype, 'trust_remote_code': trust, 'local_files_only': True}
        if spec.get('attn_implementation'):
            kwargs['attn_implementation'] = spec['attn_implementation']
        # The tokenizer always comes from the base directory; a full fine-tune's weights from
        # the checkpoint's model/ folder.
        try:
            model = AutoModelForCausalLM.from_pretrained(weights_dir or path, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise BadRequest(f'model.path: the model in {weights_dir or path} does not load ({type(e).__name__}: {e})') from None
        if spec.get('gradient_checkpointing'):
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()
        self.lora = spec.get('lora')
        if self.lora or adapter_dir:
            require('peft')
            from peft import LoraConfig, PeftModel, get_peft_model

            if adapter_dir:
                model = PeftModel.from_pretrained(model, adapter_dir, is_trainable=True)
            else:
                lc = LoraConfig(
                    r=int(self.lora.get('r', 16)),
                    lora_alpha=int(self.lora.get('alpha', 32)),
                    lora_dropout=float(self.lora.get('dropout', 0.0)),
                    target_modules=self.lora.get('target_modules') or 'all-linear',
                    task_type='CAUSAL_LM',
                )
                model = get_peft_model(model, lc)
        self.model = model.to(device)
        self.base = model.get_base_model() if hasattr(model, 'get_base_model') else model
        self.decoder = self.base.get_decoder()
        self.lm_head = self.base.get_output_embeddings()
        self.vocab_size = int(self.lm_head.weight.shape[0])
        vocab = self.tok.get_vocab()
        im_end = vocab.get('<|im_end|>')
        self.eos_id = im_end if im_end is not None else self.tok.eos_token_id
        self.stop_ids = {i for i in (im_end, self.tok.eos_token_id) if i is not None}
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.eos_id
        mode = spec.get('chat_template', 'auto')
        own = getattr(self.tok, 'chat_template', None)
        self.template = own if (mode == 'auto' and own) else read_template()
        self.transformers_version = transformers.__version__

    # --- text -------------------------------------------------------------------------
    def render(self, prompt, where: str) -> list[int]:
        """A prompt is {"text"}, {"ids"} or {"tools", "messages"}."""
        if not isinstance(prompt, dict):
            raise BadRequest(f'{where}: expected an object with "text", "ids" or "messages"')
        if 'ids' in prompt:
            ids = prompt['ids']
            if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and 0 <= i < self.vocab_size for i in ids):
                raise BadRequest(f'{where}.ids: expected a non-empty array of token ids below {self.vocab_size}')
            return list(ids)
        if 'text' in prompt:
            if not isinstance(prompt['text'], str) or not prompt['text']:
                raise BadRequest(f'{where}.text: expected a non-empty string')
            return self.encode(prompt['text'])
        if 'messages' in prompt:
            try:
                return self.encode(self.render_text(prompt.get('tools') or [], prompt['messages']))
            except RenderError as e:
                raise BadRequest(f'{where}.{e}') from None
        raise BadRequest(f'{where}: expected "text", "ids" or "messages"')

    def render_text(self, tools, messages) -> str:
        if not isinstance(messages, list) or not messages:
            raise RenderError('messages: expected a non-empty array')
        oa_tools = [{'type': 'function', 'function': normalize_tool(t, f'tools.{i}')} for i, t in enumerate(tools)]
        extra = {}
        if 'enable_thinking' in self.spec:
            extra['enable_thinking'] = bool(self.spec['enable_thinking'])
        try:
            return self.tok.apply_chat_template(
                to_hf_messages(messages), tools=oa_tools or None, chat_template=self.template,
                add_generation_prompt=True, tokenize=False, **extra,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise RenderError(f'messages: the chat template cannot render them ({e})') from None

    def completion_ids(self, item: dict, where: str, add_eos: bool) -> list[int]:
        if 'completion_ids' in item:
            ids = item['completion_ids']
            if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and 0 <= i < self.vocab_size for i in ids):
                raise BadRequest(f'{where}.completion_ids: expected a non-empty array of token ids below {self.vocab_size}')
            return list(ids)
        text = item.get('completion')
        if not isinstance(text, str):
            raise BadRequest(f'{where}.completion: expected a string (or completion_ids)')
        ids = self.encode(text)
        if add_eos:
            ids.append(self.eos_id)
        if not ids:
            raise BadRequest(f'{where}.completion: empty completion and add_eos is false')
        return ids

    def encode(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)['input_ids']

    def decode(self, ids) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)

    # --- forward passes ----------------------------------------------------------------
    def hidden(self, idx, pos, key_mask):
        """Last hidden states [B, T, d] with gradients (training and scoring): the LM head is
        applied only where a completion token is predicted, which keeps a 50k-token vocabulary
        from costing B x T x V floats."""
        out = self.decoder(input_ids=idx, attention_mask=key_mask.long(), position_ids=pos, use_cache=False)
        return out.last_hidden_state

    def out_logits(self, h):
        return self.lm_head(h)

    def step(self, idx, pos, key_mask, cache):
        """Runs new tokens against a cache -> (logits of the last position [B, V], cache)."""
        out = self.model(input_ids=idx, attention_mask=key_mask.long(), position_ids=pos, past_key_values=cache,
                         use_cache=True, logits_to_keep=1)
        return out.logits[:, -1].float(), out.past_key_values

    @staticmethod
    def repeat_rows(cache, n: int):
        cache.batch_repeat_interleave(n)
        return cache

    @staticmethod
    def keep_rows(cache, rows):
        cache.batch_select_indices(rows)
        return cache

    def max_len(self) -> int | None:
        return getattr(self.base.config, 'max_position_embeddings', None)

    def trainable_parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    def info(self) -> dict:
        total = sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        return {
            'kind': 'hf',
            'path': self.spec.get('path'),
            'preset': self.spec.get('preset'),
            'params': total,
            'trainable_params': trainable,
            'dtype': str(self.dtype).replace('torch.', ''),
            'lora': self.lora or None,
            'model_type': getattr(self.base.config, 'model_type', None),
            'vocab_size': self.vocab_size,
            'context': self.max_len(),
            'transformers': self.transformers_version,
        }

    def save_model(self, directory: str) -> None:
        # LoRA: only the adapter is written; the base checkpoint path is in the spec.
        self.model.save_pretrained(os.path.join(directory, 'model'))

    def export(self, directory: str) -> None:
        """A plain checkpoint directory (adapter merged) that any transformers user can load."""
        model = self.model
        if self.lora:  # merge a copy: the live model keeps training its adapter
            model = copy.deepcopy(model).merge_and_unload()
        model.save_pretrained(directory)
        self.tok.chat_template = self.template
        self.tok.save_pretrained(directory)


def build_policy(spec, device_req: str | None, ckpt_dir: str | None = None) -> Policy:
    if not isinstance(spec, dict):
        raise BadRequest('model: expected an object with "path"')
    kind = spec.get('kind', 'hf')
    if kind != 'hf':
        raise BadRequest(f'model.kind: expected "hf" (every policy is a Hugging Face causal LM), got {json.dumps(kind)}')
    device = pick_device(spec.get('device', device_req))
    if ckpt_dir:
        model_dir = os.path.join(ckpt_dir, 'model')
        if spec.get('lora'):
            return Policy(spec, device, adapter_dir=model_dir)
        return Policy(spec, device, weights_dir=model_dir)
    return Policy(spec, device)
