"""looptool's policy worker: a PyTorch process driven by the TypeScript trainer agent.

Protocol: one JSON request per line on stdin, one JSON response per line on stdout
(see server.py). The package runs on Debian's torch 1.13 (CPU) and on PyTorch 2.x
with CUDA; compat.py holds every version guard.
"""
