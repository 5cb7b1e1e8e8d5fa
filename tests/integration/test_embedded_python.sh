#!/usr/bin/env bash
# test_embedded_python.sh - the Python part of test_embedded.sh (issue 17): 8 Python threads put numbered
# events through relayd_embedded (ctypes) into a failover group over two collectors, one killed halfway. A
# test of its own so that each stays short; the steps are in test_embedded.sh.
EMBEDDED_PART=python
. "$(dirname "$0")/test_embedded.sh"
