/* sink_file_roll.c - placeholder, being written. */
#include "relay.h"
