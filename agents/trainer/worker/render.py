"""Prompt rendering: tools + chat messages -> prompt text, and Hermes tool-call text.

The policy answers in Hermes blocks:
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>
The prompt is ChatML (<|im_start|>role ... <|im_end|>) with the tools in the system turn
inside <tools></tools>, which is the format Qwen-family checkpoints are trained on; a
Hugging Face checkpoint that ships its own chat template uses that instead (backends.py).
Two styles: 'full' (with an instruction paragraph, for pretrained models) and 'compact'
(tools and turns only, the tiny GPT's default: it learns the format from data, and every
byte of prose costs it sequence length).
"""
from __future__ import annotations

import json

_INSTRUCTIONS = (
    'You can call the functions described below. Their signatures are listed inside '
    '<tools></tools>. To call one or more of them, answer with one block per call, each '
    'a JSON object with the keys "name" and "arguments" between <tool_call> and '
    '</tool_call>. If no function fits the request, or a required value is missing, '
    'answer in plain text instead.'
)


class RenderError(ValueError):
    pass


def normalize_tool(tool, where: str) -> dict:
    """Accepts an OpenAI tools entry or a looptool ToolSpec; returns {name, description, parameters}."""
    if not isinstance(tool, dict):
        raise RenderError(f'{where}: expected an object')
    fn = tool.get('function') if tool.get('type') == 'function' else tool
    if not isinstance(fn, dict) or not isinstance(fn.get('name'), str) or not fn['name']:
        raise RenderError(f'{where}.name: expected a non-empty string')
    out = {'name': fn['name'], 'description': fn.get('description') or ''}
    params = fn.get('parameters')
    out['parameters'] = params if isinstance(params, dict) else {'type': 'object', 'properties': {}}
    return out


def hermes_call(name: str, arguments) -> str:
    return '<tool_call>\n' + json.dumps({'name': name, 'arguments': arguments}, ensure_ascii=False) + '\n</tool_call>'


def _assistant_text(msg: dict, where: str) -> str:
    parts = []
    content = msg.get('content') or ''
    if content:
        parts.append(content)
    for j, call in enumerate(msg.get('tool_calls') or []):
        if not isinstance(call, dict):
            raise RenderError(f'{where}.tool_calls.{j}: expected an object')
        fn = call.get('function') if isinstance(call.get('function'), dict) else call
        args = fn.get('arguments', {})
        if isinstance(args, str):  # OpenAI wire format carries arguments as a JSON string
            try:
                args = json.loads(args)
            except json.JSONDecodeError as e:
                raise RenderError(f'{where}.tool_calls.{j}.arguments: not JSON ({e})') from None
        if not isinstance(fn.get('name'), str):
            raise RenderError(f'{where}.tool_calls.{j}.name: expected a string')
        parts.append(hermes_call(fn['name'], args))
    return '\n'.join(parts)


def render_chatml(tools, messages, style: str = 'compact', add_generation_prompt: bool = True) -> str:
    if not isinstance(messages, list) or not messages:
        raise RenderError('messages: expected a non-empty array')
    tools = [normalize_tool(t, f'tools.{i}') for i, t in enumerate(tools or [])]
    out: list[str] = []
    system = ''
    rest = messages
    first = messages[0]
    if isinstance(first, dict) and first.get('role') == 'system':
        system = str(first.get('content') or '')
        rest = messages[1:]
    if tools:
        if style == 'compact':
            # The function objects alone, in compact JSON: what the tiny model needs, in
            # the fewest bytes (every byte is a token it must attend over).
            lines = '\n'.join(json.dumps(t, ensure_ascii=False, separators=(',', ':')) for t in tools)
        else:
            lines = '\n'.join(json.dumps({'type': 'function', 'function': t}, ensure_ascii=False) for t in tools)
        block = f'<tools>\n{lines}\n</tools>'
        if style != 'compact':
            block = _INSTRUCTIONS + '\n' + block
        system = f'{system}\n\n{block}' if system else block
    if system:
        out.append(f'<|im_start|>system\n{system}<|im_end|>\n')
    i = 0
    while i < len(rest):
        msg = rest[i]
        where = f'messages.{i + (len(messages) - len(rest))}'
        if not isinstance(msg, dict):
            raise RenderError(f'{where}: expected an object')
        role = msg.get('role')
        if role in ('user', 'system'):
            out.append(f'<|im_start|>{role}\n{msg.get("content") or ""}<|im_end|>\n')
        elif role == 'assistant':
            out.append(f'<|im_start|>assistant\n{_assistant_text(msg, where)}<|im_end|>\n')
        elif role == 'tool':
            # Consecutive tool results form one turn, each in its own <tool_response> block.
            blocks = []
            while i < len(rest) and isinstance(rest[i], dict) and rest[i].get('role') == 'tool':
                blocks.append(f'<tool_response>\n{rest[i].get("content") or ""}\n</tool_response>')
                i += 1
            out.append('<|im_start|>user\n' + '\n'.join(blocks) + '<|im_end|>\n')
            continue
        else:
            raise RenderError(f'{where}.role: expected system, user, assistant or tool, got {role!r}')
        i += 1
    if add_generation_prompt:
        out.append('<|im_start|>assistant\n')
    return ''.join(out)


def to_hf_messages(messages) -> list[dict]:
    """looptool / OpenAI messages -> the shape transformers' chat templates expect."""
    out = []
    for msg in messages:
        if msg.get('role') == 'assistant' and msg.get('tool_calls'):
            calls = []
            for call in msg['tool_calls']:
                fn = call.get('function') if isinstance(call.get('function'), dict) else call
                args = fn.get('arguments', {})
                if isinstance(args, str):
                    args = json.loads(args)
                calls.append({'type': 'function', 'function': {'name': fn['name'], 'arguments': args}})
            out.append({'role': 'assistant', 'content': msg.get('content') or '', 'tool_calls': calls})
        elif msg.get('role') == 'tool':
            out.append({'role': 'tool', 'name': msg.get('name', ''), 'content': msg.get('content') or ''})
        else:
            out.append({'role': msg['role'], 'content': msg.get('content') or ''})
    return out
