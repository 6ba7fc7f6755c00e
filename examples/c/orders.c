/* orders.c: EventMesh from C. Publishes three orders, consumes them in a
 * durable group with explicit acks, then asks a service for a quote over
 * request/reply. Usage: orders_c [DATA_DIR] (default ./orders-data). */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "eventmesh.h"

/* Counts acked orders; the delivery callback runs on a mesh thread. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int acked = 0;

static void on_order(em_delivery* d, void* user) {
  (void)user;
  const em_event* e = em_delivery_event(d);
  size_t size = 0;
  const char* data = em_event_data(e, &size);
  printf("billing got %s #%llu: %.*s\n", em_event_topic(e),
         (unsigned long long)em_event_sequence(e), (int)size, data);
  if (em_delivery_ack(d) != EM_OK) {
    fprintf(stderr, "ack failed: %s\n", em_last_error());
    return;
  }
  pthread_mutex_lock(&mu);
  ++acked;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

/* The quote service answers every request with a fixed price. */
static void on_quote(em_delivery* d, void* user) {
  em_mesh* mesh = user;
  em_event* answer = em_event_new();
  em_event_set_source(answer, "/examples/c/quotes");
  em_event_set_type(answer, "com.example.quote");
  em_event_set_data(answer, "42.00", 5);
  if (em_reply(mesh, em_delivery_event(d), answer) != EM_OK) {
    fprintf(stderr, "reply failed: %s\n", em_last_error());
  }
  em_event_free(answer);
}

static int fail(const char* what) {
  fprintf(stderr, "%s: %s\n", what, em_last_error());
  return 1;
}

int main(int argc, char** argv) {
  if (EM_CHECK_VERSION() != EM_OK) return fail("version");
  const char* url = argc > 1 ? argv[1] : "./orders-data";
  em_mesh* mesh = NULL;
  if (em_mesh_open(url, NULL, &mesh) != EM_OK) return fail("open");

  /* A durable group: its position survives restarts; acks are explicit. */
  em_subscribe_options opts;
  em_subscribe_options_init(&opts);
  opts.durable = "billing";
  opts.manual_ack = 1;
  em_subscription* billing = NULL;
  if (em_subscribe(mesh, "orders.>", &opts, on_order, NULL, &billing) != EM_OK)
    return fail("subscribe");

  for (int i = 1; i <= 3; ++i) {
    char body[64];
    snprintf(body, sizeof body, "{\"order\": %d}", i);
    em_event* e = em_event_new();
    em_event_set_source(e, "/examples/c");
    em_event_set_type(e, "com.example.order.created");
    em_event_set(e, "datacontenttype", "application/json");
    em_event_set_data(e, body, strlen(body));
    uint64_t seq = 0;
    int rc = em_publish(mesh, "orders.created", e, EM_DURABILITY_DEFAULT, &seq);
    em_event_free(e);
    if (rc != EM_OK) return fail("publish");
    printf("published order %d as #%llu\n", i, (unsigned long long)seq);
  }
  pthread_mutex_lock(&mu);
  while (acked < 3) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  em_subscription_close(billing);

  /* Request/reply: a responder group and one request. */
  em_subscribe_options_init(&opts);
  opts.group = "quotes";
  em_subscription* quotes = NULL;
  if (em_subscribe(mesh, "svc.quote", &opts, on_quote, mesh, &quotes) != EM_OK)
    return fail("subscribe quotes");
  em_event* ask = em_event_new();
  em_event_set_source(ask, "/examples/c");
  em_event_set_type(ask, "com.example.quote.request");
  em_event* reply = NULL;
  int rc = em_request(mesh, "svc.quote", ask, 5000, &reply);
  em_event_free(ask);
  if (rc != EM_OK) return fail("request");
  size_t size = 0;
  const char* price = em_event_data(reply, &size);
  printf("quote: %.*s\n", (int)size, price);
  em_event_free(reply);

  em_subscription_close(quotes);
  em_mesh_close(mesh);
  return 0;
}
