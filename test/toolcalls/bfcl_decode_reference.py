"""Reference for the decoder differential test (test/toolcalls/python-decoder.test.ts).

BFCL v3's prompting-mode decoding as shared/bfcl/v3/README.md section 2 describes it, run on
CPython's own parser: reads one JSON string per line on stdin, writes one JSON string per
line: repr() of the decoded [{name: {arg: value}}] list, or "ERR" when decoding fails.
"""
import ast
import json
import sys
import warnings

warnings.filterwarnings("ignore")


def value(node):
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp):
        # any unary operator negates the operand's constant (so +5 -> -5); others raise
        return -node.operand.value
    if isinstance(node, ast.List):
        return [value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {value(k): value(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp):
        return eval(ast.unparse(node), {"__builtins__": {}})
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return call(node) if node.keywords else ast.unparse(node)
    if isinstance(node, ast.Tuple):
        return tuple(value(e) for e in node.elts)
    if isinstance(node, ast.Subscript):
        return ast.unparse(node.value) + "[" + ast.unparse(node.slice) + "]"
    raise ValueError("unsupported: " + type(node).__name__)


def call(node):
    parts = []
    f = node.func
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    return {".".join(reversed(parts)): {kw.arg: value(kw.value) for kw in node.keywords}}


def decode(text):
    text = text.strip("`\n ")
    if not text.startswith("["):
        text = "[" + text
    if not text.endswith("]"):
        text = text + "]"
    body = ast.parse(text.strip("[]'"), mode="eval").body
    if isinstance(body, ast.Call):
        return [call(body)]
    out = []
    for elt in body.elts:
        if not isinstance(elt, ast.Call):
            raise ValueError("not a call")
        out.append(call(elt))
    return out


for line in sys.stdin:
    try:
        result = repr(decode(json.loads(line)))
    except Exception:
        result = "ERR"
    print(json.dumps(result))
