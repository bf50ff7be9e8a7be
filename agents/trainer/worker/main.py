"""Entry point: `python3 agents/trainer/worker/main.py` (or `python3 -m worker.main` with
agents/trainer on sys.path). See server.py for the protocol."""
import os
import sys

if __name__ == '__main__' and not __package__:
    # Run as a script: make the package importable so its relative imports work.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from worker.server import main  # type: ignore[import-not-found]
else:
    from .server import main

if __name__ == '__main__':
    code = main()
    # Every reply is written and every file the worker saved is closed by now. A normal exit
    # then tears down torch's and transformers' modules for about a second, which the owner
    # waits out at the end of every run and test: skip it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
