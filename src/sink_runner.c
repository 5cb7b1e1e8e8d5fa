/* sink_runner.c - placeholder, being written. */
#include "relay.h"
