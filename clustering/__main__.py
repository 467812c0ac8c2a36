"""``python -m clustering``: see :mod:`clustering.cli`."""
import os
import sys

# TensorFlow's C++ start-up chatter is not for the user of a command line tool.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from clustering.cli import main

if __name__ == "__main__":
    sys.exit(main())
