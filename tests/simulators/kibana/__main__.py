"""Entry point for ``python tests/simulators/kibana``: runs the folder as the package ``kibana``."""
import os
import sys

if __package__ in (None, ''):
    # Run as a directory: import this folder as a package so its modules can use relative imports,
    # and take the folder itself off sys.path so its module names never shadow anything.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != here]
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from kibana.server import main  # noqa: E402
else:
    from .server import main

if __name__ == '__main__':
    sys.exit(main())
