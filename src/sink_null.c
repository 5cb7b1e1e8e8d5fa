/* sink_null.c - placeholder, being written. */
#include "relay.h"
