/* main.c - placeholder, being written. */
#include "relay.h"
int main (void) { return 0; }
