/* relay.h - project-wide includes, limits and forward declarations.
 *
 * Every source file of relayd includes this first. It names the core types so that headers can refer to
 * each other without include cycles, and it holds the error domain used on configuration and start-up
 * paths (data paths return enums, never GError). */
#ifndef RELAY_H_INCLUDED
#define RELAY_H_INCLUDED

#ifdef RELAY_INTERNAL
#include <relay-config.h> /* only inside the build; installed client headers do not need it */
#endif

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

typedef struct _RelayEvent RelayEvent;
typedef struct _RelayComponent RelayComponent;
typedef struct _RelayComponentClass RelayComponentClass;
typedef struct _RelayChannel RelayChannel;
typedef struct _RelayTxn RelayTxn;
typedef struct _RelaySource RelaySource;
typedef struct _RelaySink RelaySink;
typedef struct _RelaySinkProcessor RelaySinkProcessor;
typedef struct _RelaySinkRunner RelaySinkRunner;
typedef struct _RelayChannelProcessor RelayChannelProcessor;
typedef struct _RelayAgent RelayAgent;
typedef struct _RelayProps RelayProps;
typedef struct _RelayProp RelayProp;
typedef struct _RelayAgentConfig RelayAgentConfig;
typedef struct _RelayComponentConfig RelayComponentConfig;
typedef struct _RelayConfigReport RelayConfigReport;

/* Errors on configuration and start-up paths. */
#define RELAY_ERROR (relay_error_quark())
GQuark relay_error_quark(void);

typedef enum
{
  RELAY_ERROR_CONFIG, /* the configuration is invalid */
  RELAY_ERROR_IO,     /* a file or socket operation failed */
  RELAY_ERROR_STATE,  /* an operation was called in the wrong lifecycle state */
} RelayErrorCode;

#endif
