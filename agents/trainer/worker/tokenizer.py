"""Byte-level tokenizer with a few chat / tool-call specials, for the built-in tiny GPT.

Why bytes and not a vocabulary built from the corpus: LoopTool's data changes every
round (EDDE writes new tools, names, values), and a vocabulary frozen at round 0 would
fit later rounds worse and worse; bytes encode any tool name, date, number or non-ASCII
value with no unknown token, need no training pass, and keep checkpoints compatible
across rounds. The cost is longer sequences (attention is quadratic in them), which a
fixed vocabulary of structure softens: every marker of the prompt and of a Hermes call
is one token, and so is each piece of JSON that every tool spec and call repeats
({"name":", ","parameters":{"type":"object","properties":{, {"type":"string"}, ...).
A rendered tool spec shrinks about 3x, a tool call about 2x. The pieces are text like any
other: decode(ids) is exact, and any string still encodes (bytes cover the rest).
"""
from __future__ import annotations

import re

SPECIALS = [
    '<|pad|>',
    '<|endoftext|>',
    '<|im_start|>',
    '<|im_end|>',
    '<tool_call>',
    '</tool_call>',
    '<tools>',
    '</tools>',
    '<tool_response>',
    '</tool_response>',
    '<think>',
    '</think>',
]


def _json_structure() -> list[str]:
    """The JSON that every tool spec and every Hermes call repeats, one token per piece,
    in compact form (our renderer, formatHermes) and in Python's json.dumps default form."""
    out: list[str] = []
    for colon, comma in ((':', ','), (': ', ', ')):
        q = lambda *parts: ''.join(parts)  # noqa: E731
        out += [
            q('{"name"', colon, '"'),
            q('"', comma, '"arguments"', colon, '{'),
            q('"', comma, '"description"', colon, '"'),
            q('"', comma, '"parameters"', colon, '{"type"', colon, '"object"', comma, '"properties"', colon, '{'),
            q('{"type"', colon, '"function"', comma, '"function"', colon),
            q('}', comma, '"required"', colon, '['),
            q('"required"', colon, '['),
            q('"properties"', colon, '{'),
            q('"description"', colon, '"'),
            q('"enum"', colon, '['),
            q('"format"', colon, '"'),
            q('"default"', colon),
            q('"items"', colon),
        ]
        for t in ('string', 'integer', 'number', 'boolean', 'object', 'array'):
            out += [q('{"type"', colon, '"', t, '"}'), q('{"type"', colon, '"', t, '"', comma, '"description"', colon, '"'),
                    q('{"type"', colon, '"', t, '"', comma)]
    return out


class ByteTokenizer:
    kind = 'byte'

    def __init__(self) -> None:
        # Specials first (fixed ids 256..267), then the JSON structure pieces.
        self.specials = list(SPECIALS) + _json_structure()
        self.special_ids = {s: 256 + i for i, s in enumerate(self.specials)}
        self.id_to_special = {i: s for s, i in self.special_ids.items()}
        self.vocab_size = 256 + len(self.specials)
        self.pad_id = self.special_ids['<|pad|>']
        self.bos_id = self.special_ids['<|endoftext|>']
        # A chat turn ends with <|im_end|>: that is the token the policy emits to stop.
        self.eos_id = self.special_ids['<|im_end|>']
        self.stop_ids = {self.eos_id, self.bos_id}
        # Longest first so that no special is split by a shorter one that prefixes it.
        alternation = '|'.join(re.escape(s) for s in sorted(self.specials, key=len, reverse=True))
        self._split = re.compile(f'({alternation})')

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in self._split.split(text):
            if not piece:
                continue
            sid = self.special_ids.get(piece)
            if sid is not None:
                ids.append(sid)
            else:
                ids.extend(piece.encode('utf-8'))
        return ids

    def decode(self, ids, skip_special: bool = False) -> str:
        out: list[str] = []
        buf = bytearray()
        for i in ids:
            i = int(i)
            if i < 256:
                buf.append(i)
                continue
            if buf:
                out.append(buf.decode('utf-8', errors='replace'))
                buf = bytearray()
            if i in self.id_to_special and i != self.pad_id and (not skip_special or i >= 256 + len(SPECIALS)):
                out.append(self.id_to_special[i])
        if buf:
            out.append(buf.decode('utf-8', errors='replace'))
        return ''.join(out)

    def config(self) -> dict:
        return {'kind': self.kind, 'specials': list(self.specials)}

    @classmethod
    def from_config(cls, cfg: dict) -> 'ByteTokenizer':
        tok = cls()
        if cfg.get('specials') and list(cfg['specials']) != tok.specials:
            raise ValueError('checkpoint tokenizer has different special tokens than this worker')
        return tok
