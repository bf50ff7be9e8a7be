"""The transport: JSON lines over stdio.

Request  (one line on stdin):  {"id": "r1", "verb": "generate", "args": {...}}
Response (one line on stdout): {"id": "r1", "ok": true, "result": {...}}
                           or: {"id": "r1", "ok": false, "error": {"type": "...", "message": "..."}}
Events (no request of their own): {"event": "ready", ...} once at start, and
{"event": "started", "id": "r1", "verb": "..."} when the worker begins a request, so
the supervisor knows a long step is under way.

Error types: bad_json, bad_request, unknown_verb, not_loaded, out_of_memory, runtime_error.
The worker never dies on bad input; it exits when its stdin closes (its owner is gone)
and, on Linux, is killed with its parent (PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
import traceback


def _die_with_parent() -> None:
    """Asks the kernel to SIGKILL us when the process that spawned us exits, so that a
    parent killed with SIGKILL leaves no orphaned worker behind."""
    if not sys.platform.startswith('linux'):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception as e:  # pragma: no cover - best effort; stdin EOF still ends us
        print(f'[worker] PR_SET_PDEATHSIG unavailable: {e}', file=sys.stderr)


def _leave_interrupts_to_parent() -> None:
    """A terminal's Ctrl-C reaches the whole process group, this worker included. The parent
    decides what an interrupt means (stop cleanly, kill us, or close our stdin); dying of
    KeyboardInterrupt here would only make it replace a worker it is about to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _finite(obj):
    """JSON has no NaN/Infinity: replace them by null so every line stays parseable."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class Server:
    VERBS = ('load', 'generate', 'score', 'sft_step', 'grpo_step', 'save', 'restore', 'export', 'init_nano', 'stats', 'ping', 'shutdown')

    def __init__(self, out, engine):
        self.out = out
        self.engine = engine

    def send(self, obj) -> None:
        self.out.write(json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False) + '\n')
        self.out.flush()

    def handle_line(self, line: bytes | str) -> bool:
        """Serves one request line; returns False when the worker should exit."""
        from .model import BadRequest
        from .engine import NotLoaded

        if isinstance(line, bytes):
            line = line.decode('utf-8', errors='replace')
        if not line.strip():
            return True
        try:
            req = json.loads(line)
        except json.JSONDecodeError as e:
            self.send({'id': None, 'ok': False, 'error': {'type': 'bad_json', 'message': f'request is not JSON: {e}'}})
            return True
        rid = req.get('id') if isinstance(req, dict) else None
        if not isinstance(req, dict) or not isinstance(rid, (str, int)) or isinstance(rid, bool):
            self.send({'id': rid if isinstance(rid, (str, int)) else None, 'ok': False,
                       'error': {'type': 'bad_request', 'message': 'request must be an object with a string "id", a "verb" and "args"'}})
            return True
        verb = req.get('verb')
        args = req.get('args', {})
        if verb not in self.VERBS:
            self.send({'id': rid, 'ok': False, 'error': {'type': 'unknown_verb', 'message': f'unknown verb {verb!r}; expected one of {", ".join(self.VERBS)}'}})
            return True
        if not isinstance(args, dict):
            self.send({'id': rid, 'ok': False, 'error': {'type': 'bad_request', 'message': 'args: expected an object'}})
            return True
        self.send({'event': 'started', 'id': rid, 'verb': verb})
        t0 = time.time()
        try:
            if verb == 'ping':
                result = {'pong': True, 'pid': os.getpid()}
            elif verb == 'shutdown':
                self.send({'id': rid, 'ok': True, 'result': {'bye': True}})
                return False
            else:
                result = getattr(self.engine, verb)(args)
            self.send({'id': rid, 'ok': True, 'result': result, 'ms': (time.time() - t0) * 1000})
        except BadRequest as e:
            self.send({'id': rid, 'ok': False, 'error': {'type': 'bad_request', 'message': str(e)}})
        except NotLoaded as e:
            self.send({'id': rid, 'ok': False, 'error': {'type': 'not_loaded', 'message': str(e)}})
        except MemoryError as e:
            self.send({'id': rid, 'ok': False, 'error': {'type': 'out_of_memory', 'message': f'out of memory in {verb}: {e}'}})
        except Exception as e:  # noqa: BLE001 - any failure becomes a structured reply
            kind = 'out_of_memory' if 'out of memory' in str(e).lower() else 'runtime_error'
            tb = traceback.format_exc()
            print(tb, file=sys.stderr)
            self.send({'id': rid, 'ok': False, 'error': {'type': kind, 'message': f'{type(e).__name__}: {e}', 'traceback': tb[-4000:]}})
            if kind == 'out_of_memory':
                _free_cuda()
        return True


def _free_cuda():
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # pragma: no cover
        pass


def main(argv=None) -> int:
    _die_with_parent()
    _leave_interrupts_to_parent()
    # Keep fd 1 for the protocol alone: anything else that prints (a library, a C
    # extension writing to fd 1) goes to stderr instead of corrupting a response line.
    proto = os.fdopen(os.dup(1), 'w', encoding='utf-8', buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    t0 = time.time()
    try:
        import torch

        from .engine import Engine
    except Exception as e:  # torch missing or broken: say so on the protocol, then exit
        proto.write(json.dumps({'event': 'fatal', 'error': {'type': 'import_error', 'message': f'{type(e).__name__}: {e}', 'executable': sys.executable}}) + '\n')
        proto.flush()
        return 3
    threads = os.environ.get('LOOPTOOL_TORCH_THREADS')
    engine = Engine(threads=int(threads) if threads and threads.isdigit() else None)
    server = Server(proto, engine)
    server.send({'event': 'ready', 'pid': os.getpid(), 'python': sys.version.split()[0], 'executable': sys.executable,
                 'torch': torch.__version__, 'cuda': torch.cuda.is_available(), 'threads': engine.threads, 'startup_ms': (time.time() - t0) * 1000})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:  # EOF: the owner closed our stdin or died
            return 0
        if not server.handle_line(line):
            return 0
