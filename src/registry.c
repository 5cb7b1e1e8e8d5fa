/* registry.c - placeholder, being written. */
#include "relay.h"
