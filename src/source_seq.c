/* source_seq.c - placeholder, being written. */
#include "relay.h"
