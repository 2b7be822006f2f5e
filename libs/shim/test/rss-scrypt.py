#!/usr/bin/env python3
# Test helper: runs $QDD_RSS_CMD with our arguments (inheriting the tty and
# stdio), then writes the child's peak resident set size in KiB to
# $QDD_RSS_OUT and exits with the child's status.
import os, resource, subprocess, sys

rc = subprocess.call([os.environ["QDD_RSS_CMD"]] + sys.argv[1:])
with open(os.environ["QDD_RSS_OUT"], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc if rc >= 0 else 128 - rc)
