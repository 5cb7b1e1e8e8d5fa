/* client_install_prog.c - a program written against the INSTALLED client library only (test_client_install.sh
 * compiles it with `pkg-config relay-client`, shared and static): sends one event to an Avro source.
 *
 *   client_install_prog HOST:PORT BODY      exit 0 when the server committed the event */
#include <relay-client.h>

#include <stdio.h>

int
main(int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf(stderr, "usage: client_install_prog HOST:PORT BODY\n");
      return 2;
    }
  const char *const props[] = { "hosts", "h1", "hosts.h1", argv[1], "request-timeout", "5000", NULL };
  GError *error = NULL;
  RelayClient *client = relay_client_new(props, &error);
  if (!client)
    {
      fprintf(stderr, "relay_client_new: %s\n", error->message);
      g_error_free(error);
      return 1;
    }
  RelayEvent *event = relay_event_new_simple(argv[2], "origin", "installed-lib", NULL);
  char *detail = NULL;
  RelayClientStatus status = relay_client_append(client, event, &detail);
  /* append borrowed the event: the reference is still ours to drop */
  printf("status=%s header=%s detail=%s\n", relay_client_status_name(status),
         relay_event_get_header(event, "origin"), detail ? detail : "-");
  relay_event_unref(event);
  g_free(detail);
  relay_client_free(client);
  return status == RELAY_CLIENT_OK ? 0 : 1;
}
