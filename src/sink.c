/* sink.c - placeholder, being written. */
#include "relay.h"
