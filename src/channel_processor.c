/* channel_processor.c - placeholder, being written. */
#include "relay.h"
