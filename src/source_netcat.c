/* source_netcat.c - placeholder, being written. */
#include "relay.h"
