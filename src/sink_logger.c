/* sink_logger.c - placeholder, being written. */
#include "relay.h"
