/* channel_memory.c - placeholder, being written. */
#include "relay.h"
