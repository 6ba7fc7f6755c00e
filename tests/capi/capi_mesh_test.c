/* The C API against real meshes: "mem:" and an LMDB directory. */

#include <stdint.h>
#include <unistd.h>

#include "check.h"

static char data_dir[] = "/tmp/eventmesh-capi-XXXXXX";

static em_mesh* open_mem(void) {
  em_mesh* mesh = NULL;
  CHECK_OK(em_mesh_open("mem:", NULL, &mesh));
  if (mesh == NULL) abort();
  return mesh;
}

static uint64_t publish_text(em_mesh* mesh, const char* topic,
                             const char* data) {
  em_event* e = make_event("com.example.text", data);
  uint64_t seq = 0;
  CHECK_OK(em_publish(mesh, topic, e, EM_DURABILITY_DEFAULT, &seq));
  em_event_free(e);
  return seq;
}

static void open_refuses_bad_arguments(void) {
  em_mesh* mesh = NULL;
  CHECK_RC(em_mesh_open(NULL, NULL, &mesh), EM_EINVAL);
  CHECK_RC(em_mesh_open("mem:", NULL, NULL), EM_EINVAL);
  CHECK_RC(em_mesh_open("bogus://x", NULL, &mesh), EM_EINVAL);
  CHECK(mesh == NULL);
  em_mesh_options options;
  em_mesh_options_init(&options);
  CHECK(options.callback_threads == 1);
  CHECK(options.durability == EM_DURABILITY_SYNC);
  CHECK(options.connect_timeout_ms == 5000);
  options.callback_threads = 0;
  CHECK_RC(em_mesh_open("mem:", &options, &mesh), EM_EINVAL);
  em_mesh_options_init(&options);
  options.durability = (em_durability)7;
  CHECK_RC(em_mesh_open("mem:", &options, &mesh), EM_EINVAL);
  /* Nothing listens on port 1 of the loopback. */
  em_mesh_options_init(&options);
  options.connect_timeout_ms = 500;
  int rc = em_mesh_open("tcp://127.0.0.1:1", &options, &mesh);
  CHECK(rc == EM_EUNAVAILABLE || rc == EM_EUNIMPLEMENTED);
  CHECK(mesh == NULL);
}

static void publish_assigns_sequences(void) {
  em_mesh* mesh = open_mem();
  CHECK(em_mesh_node_id(mesh)[0] != '\0');
  CHECK(publish_text(mesh, "orders.created", "a") == 1);
  CHECK(publish_text(mesh, "orders.created", "b") == 2);
  CHECK(publish_text(mesh, "orders.paid", "c") == 1);
  em_event* e = make_event("t", "x");
  uint64_t seq = 0;
  CHECK_RC(em_publish(mesh, "bad..topic", e, EM_DURABILITY_DEFAULT, &seq),
           EM_EINVAL);
  CHECK(strstr(em_last_error(), "bad..topic") != NULL);
  CHECK_RC(em_publish(mesh, "t", e, (em_durability)9, &seq), EM_EINVAL);
  CHECK_RC(em_publish(NULL, "t", e, EM_DURABILITY_DEFAULT, &seq), EM_EINVAL);
  CHECK_RC(em_publish(mesh, NULL, e, EM_DURABILITY_DEFAULT, &seq), EM_EINVAL);
  CHECK_OK(em_publish(mesh, "t", e, EM_DURABILITY_NONE, NULL));
  /* Without a source the event is refused and nothing is stored. */
  em_event* bad = em_event_new();
  em_event_set_type(bad, "t");
  CHECK_RC(em_publish(mesh, "t", bad, EM_DURABILITY_DEFAULT, &seq), EM_EINVAL);
  em_event_free(bad);
  /* Same source and id: the first sequence, nothing new stored. */
  em_event_set_id(e, "dup-1");
  uint64_t first = 0, second = 0;
  CHECK_OK(em_publish(mesh, "dups", e, EM_DURABILITY_DEFAULT, &first));
  CHECK_OK(em_publish(mesh, "dups", e, EM_DURABILITY_DEFAULT, &second));
  CHECK(first == 1 && second == 1);
  em_event_free(e);
  em_mesh_close(mesh);
}

typedef struct {
  counter done;
  int status;
  uint64_t sequence;
} async_result;

static void on_published(int status, uint64_t sequence, const char* error,
                         void* user) {
  async_result* r = user;
  CHECK(error != NULL);
  CHECK((status == EM_OK) == (error[0] == '\0'));
  r->status = status;
  r->sequence = sequence;
  counter_add(&r->done);
}

static void publish_async_calls_back(void) {
  em_mesh* mesh = open_mem();
  async_result r;
  counter_init(&r.done);
  em_event* e = make_event("t", "x");
  publish_text(mesh, "async", "first");
  CHECK_OK(em_publish_async(mesh, "async", e, EM_DURABILITY_DEFAULT,
                            on_published, &r));
  CHECK(counter_wait(&r.done, 1, 5000) == 1);
  CHECK(r.status == EM_OK && r.sequence == 2);
  /* Errors after the hand-off come through the callback. */
  CHECK_OK(em_publish_async(mesh, "bad topic", e, EM_DURABILITY_DEFAULT,
                            on_published, &r));
  CHECK(counter_wait(&r.done, 2, 5000) == 2);
  CHECK(r.status == EM_EINVAL);
  CHECK_RC(em_publish_async(mesh, NULL, e, EM_DURABILITY_DEFAULT, NULL, NULL),
           EM_EINVAL);
  CHECK_RC(em_publish_async(mesh, "async", e, (em_durability)5, NULL, NULL),
           EM_EINVAL);
  /* A NULL callback is allowed: fire and forget. */
  CHECK_OK(
      em_publish_async(mesh, "async", e, EM_DURABILITY_DEFAULT, NULL, NULL));
  em_event_free(e);
  em_mesh_close(mesh);
  counter_destroy(&r.done);
}

static void publish_batch_is_all_or_nothing(void) {
  em_mesh* mesh = open_mem();
  em_event *a = make_event("t", "a"), *b = make_event("t", "b");
  const em_event* events[3] = {a, b, a};
  const char* topics[3] = {"batch.x", "batch.y", "batch.x"};
  uint64_t seqs[3] = {0, 0, 0};
  CHECK_OK(
      em_publish_batch(mesh, topics, events, 3, EM_DURABILITY_DEFAULT, seqs));
  CHECK(seqs[0] == 1 && seqs[1] == 1 && seqs[2] == 2);
  const char* bad_topics[3] = {"batch.x", "bad..x", "batch.x"};
  CHECK_RC(em_publish_batch(mesh, bad_topics, events, 3, EM_DURABILITY_DEFAULT,
                            seqs),
           EM_EINVAL);
  const char* null_topics[2] = {"batch.x", NULL};
  CHECK_RC(em_publish_batch(mesh, null_topics, events, 2, EM_DURABILITY_DEFAULT,
                            seqs),
           EM_EINVAL);
  CHECK_RC(em_publish_batch(mesh, NULL, events, 1, EM_DURABILITY_DEFAULT, NULL),
           EM_EINVAL);
  /* Nothing of the refused batches was stored. */
  CHECK(publish_text(mesh, "batch.x", "c") == 3);
  em_event_free(a);
  em_event_free(b);
  em_mesh_close(mesh);
}

/* Collects deliveries: their data and topics, acking as told. */
typedef struct {
  counter got;
  pthread_mutex_t mu;
  char data[64][32];
  char topic[64][64];
  uint32_t attempt[64];
  int nack_first;    /* nack the first attempt of every event */
  em_delivery* kept; /* retained last delivery */
  int retain;
  em_mesh* reply_mesh; /* when set, reply to each request */
} sink;

static void sink_init(sink* s) {
  memset(s, 0, sizeof *s);
  counter_init(&s->got);
  pthread_mutex_init(&s->mu, NULL);
}

static void sink_destroy(sink* s) {
  em_delivery_release(s->kept);
  counter_destroy(&s->got);
  pthread_mutex_destroy(&s->mu);
}

static void on_delivery(em_delivery* d, void* user) {
  sink* s = user;
  const em_event* e = em_delivery_event(d);
  size_t size = 0;
  const char* data = em_event_data(e, &size);
  uint32_t attempt = em_delivery_attempt(d);
  if (s->nack_first && attempt == 1) {
    CHECK_OK(em_delivery_nack(d, 0));
    return;
  }
  /* A delivered event is read-only. */
  CHECK_RC(em_event_set_data((em_event*)e, "x", 1), EM_EINVAL);
  if (s->reply_mesh) {
    em_event* answer = make_event("com.example.reply", "pong");
    CHECK_OK(em_reply(s->reply_mesh, e, answer));
    em_event_free(answer);
  }
  pthread_mutex_lock(&s->mu);
  int i = counter_get(&s->got);
  if (i < 64) {
    snprintf(s->data[i], sizeof s->data[i], "%.*s", (int)size, data);
    snprintf(s->topic[i], sizeof s->topic[i], "%s", em_event_topic(e));
    s->attempt[i] = attempt;
  }
  if (s->retain) {
    em_delivery_release(s->kept);
    s->kept = em_delivery_retain(d);
  }
  pthread_mutex_unlock(&s->mu);
  counter_add(&s->got);
}

static void subscribe_delivers_matching_events(void) {
  em_mesh* mesh = open_mem();
  sink s;
  sink_init(&s);
  em_subscription* sub = NULL;
  CHECK_OK(em_subscribe(mesh, "orders.*", NULL, on_delivery, &s, &sub));
  publish_text(mesh, "orders.created", "1");
  publish_text(mesh, "payments.done", "skip");
  publish_text(mesh, "orders.paid", "2");
  CHECK(counter_wait(&s.got, 2, 5000) == 2);
  CHECK_STR(s.data[0], "1");
  CHECK_STR(s.topic[0], "orders.created");
  CHECK_STR(s.data[1], "2");
  CHECK(s.attempt[0] == 1);
  /* The count is updated once the callback has returned. */
  em_subscription_stats stats;
  for (int i = 0; i < 100; ++i) {
    CHECK_OK(em_subscription_stats_get(sub, &stats));
    if (stats.delivered == 2) break;
    usleep(10 * 1000);
  }
  CHECK(stats.delivered == 2);
  CHECK_RC(em_subscription_stats_get(sub, NULL), EM_EINVAL);

  /* After unsubscribing nothing more arrives; doing it twice is fine. */
  CHECK_OK(em_unsubscribe(sub));
  CHECK_OK(em_unsubscribe(sub));
  publish_text(mesh, "orders.created", "3");
  usleep(100 * 1000);
  CHECK(counter_get(&s.got) == 2);
  em_subscription_close(sub);

  em_subscription* bad = NULL;
  CHECK_RC(em_subscribe(mesh, "orders..*", NULL, on_delivery, &s, &bad),
           EM_EINVAL);
  CHECK_RC(em_subscribe(mesh, "orders", NULL, NULL, &s, &bad), EM_EINVAL);
  CHECK_RC(em_unsubscribe(NULL), EM_EINVAL);
  CHECK(bad == NULL);
  em_mesh_close(mesh);
  sink_destroy(&s);
}

static void subscribe_options_are_checked(void) {
  em_mesh* mesh = open_mem();
  sink s;
  sink_init(&s);
  em_subscription* sub = NULL;
  em_subscribe_options o;
  em_subscribe_options_init(&o);
  CHECK(o.start == EM_START_LATEST && o.max_deliver == 5);
  CHECK(o.ack_wait_ms == 30000 && o.max_in_flight == 1024);
  CHECK(o.max_pending == 65536 && o.overflow == EM_OVERFLOW_BLOCK);
  o.start = (em_start)42;
  CHECK_RC(em_subscribe(mesh, "a", &o, on_delivery, &s, &sub), EM_EINVAL);
  em_subscribe_options_init(&o);
  o.overflow = (em_overflow)3;
  CHECK_RC(em_subscribe(mesh, "a", &o, on_delivery, &s, &sub), EM_EINVAL);
  em_subscribe_options_init(&o);
  o.max_deliver = -1;
  CHECK_RC(em_subscribe(mesh, "a", &o, on_delivery, &s, &sub), EM_EINVAL);
  em_subscribe_options_init(&o);
  o.filter_json = "[{\"exact\": 3}]";
  CHECK_RC(em_subscribe(mesh, "a", &o, on_delivery, &s, &sub), EM_EINVAL);
  CHECK(strstr(em_last_error(), "filter") != NULL);
  em_subscribe_options_init(&o);
  o.group = "g1";
  o.durable = "g2";
  CHECK_RC(em_subscribe(mesh, "a", &o, on_delivery, &s, &sub), EM_EINVAL);
  CHECK(sub == NULL);
  em_mesh_close(mesh);
  sink_destroy(&s);
}

static void filter_and_start_positions(void) {
  em_mesh* mesh = open_mem();
  for (int i = 1; i <= 5; ++i) {
    em_event* e = make_event(i % 2 ? "order.odd" : "order.even", NULL);
    char text[8];
    snprintf(text, sizeof text, "%d", i);
    em_event_set_data(e, text, strlen(text));
    CHECK_OK(em_publish(mesh, "nums", e, EM_DURABILITY_DEFAULT, NULL));
    em_event_free(e);
  }
  /* Replay from the earliest, odd ones only. */
  sink s;
  sink_init(&s);
  em_subscribe_options o;
  em_subscribe_options_init(&o);
  o.start = EM_START_EARLIEST;
  o.filter_json = "[{\"exact\": {\"type\": \"order.odd\"}}]";
  em_subscription* sub = NULL;
  CHECK_OK(em_subscribe(mesh, "nums", &o, on_delivery, &s, &sub));
  CHECK(counter_wait(&s.got, 3, 5000) == 3);
  CHECK_STR(s.data[0], "1");
  CHECK_STR(s.data[2], "5");
  em_subscription_close(sub);

  /* From sequence 4. */
  sink t;
  sink_init(&t);
  em_subscribe_options_init(&o);
  o.start = EM_START_SEQUENCE;
  o.start_sequence = 4;
  CHECK_OK(em_subscribe(mesh, "nums", &o, on_delivery, &t, &sub));
  CHECK(counter_wait(&t.got, 2, 5000) == 2);
  CHECK_STR(t.data[0], "4");
  CHECK_STR(t.data[1], "5");
  em_subscription_close(sub);

  /* From a time before everything: all five. */
  sink u;
  sink_init(&u);
  em_subscribe_options_init(&o);
  o.start = EM_START_TIME;
  o.start_time_ns = 0;
  CHECK_OK(em_subscribe(mesh, "nums", &o, on_delivery, &u, &sub));
  CHECK(counter_wait(&u.got, 5, 5000) == 5);
  em_subscription_close(sub);
  em_mesh_close(mesh);
  sink_destroy(&s);
  sink_destroy(&t);
  sink_destroy(&u);
}

static void groups_share_events(void) {
  em_mesh* mesh = open_mem();
  sink a, b;
  sink_init(&a);
  sink_init(&b);
  em_subscribe_options o;
  em_subscribe_options_init(&o);
  o.group = "workers";
  em_subscription *sa = NULL, *sb = NULL;
  CHECK_OK(em_subscribe(mesh, "jobs.>", &o, on_delivery, &a, &sa));
  CHECK_OK(em_subscribe(mesh, "jobs.>", &o, on_delivery, &b, &sb));
  for (int i = 0; i < 20; ++i) publish_text(mesh, "jobs.x", "j");
  for (int i = 0; i < 200 && counter_get(&a.got) + counter_get(&b.got) < 20;
       ++i) {
    usleep(10 * 1000);
  }
  usleep(50 * 1000);
  CHECK(counter_get(&a.got) + counter_get(&b.got) == 20);
  em_group_info* groups = NULL;
  size_t count = 0;
  CHECK_OK(em_groups(mesh, &groups, &count));
  int found = 0;
  for (size_t i = 0; i < count; ++i) {
    if (strcmp(groups[i].name, "workers") == 0) {
      found = 1;
      CHECK_STR(groups[i].pattern, "jobs.>");
      CHECK(groups[i].members == 2);
      CHECK(groups[i].durable == 0);
    }
  }
  CHECK(found);
  em_free(groups);
  CHECK_RC(em_groups(mesh, NULL, &count), EM_EINVAL);
  em_subscription_close(sa);
  em_subscription_close(sb);
  em_mesh_close(mesh);
  sink_destroy(&a);
  sink_destroy(&b);
}

static void durable_manual_ack_and_redelivery(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/acks", data_dir);
  em_mesh* mesh = NULL;
  CHECK_OK(em_mesh_open(path, NULL, &mesh));
  if (mesh == NULL) return;
  publish_text(mesh, "work", "w1");

  /* Nacked on the first attempt, delivered again. */
  sink s;
  sink_init(&s);
  s.nack_first = 1;
  s.retain = 1;
  em_subscribe_options o;
  em_subscribe_options_init(&o);
  o.durable = "proc";
  o.start = EM_START_EARLIEST;
  o.manual_ack = 1;
  o.ack_wait_ms = 200;
  em_subscription* sub = NULL;
  CHECK_OK(em_subscribe(mesh, "work", &o, on_delivery, &s, &sub));
  CHECK(counter_wait(&s.got, 1, 5000) == 1);
  CHECK(s.attempt[0] == 2);
  /* Acked later, from this thread, through the retained handle. */
  CHECK(s.kept != NULL);
  CHECK_STR(em_event_topic(em_delivery_event(s.kept)), "work");
  CHECK_OK(em_delivery_ack(s.kept));
  em_subscription_close(sub);
  em_mesh_close(mesh);

  /* Reopened: the acked event is not delivered again; a new one is. */
  CHECK_OK(em_mesh_open(path, NULL, &mesh));
  sink t;
  sink_init(&t);
  CHECK_OK(em_subscribe(mesh, "work", &o, on_delivery, &t, &sub));
  publish_text(mesh, "work", "w2");
  CHECK(counter_wait(&t.got, 1, 5000) == 1);
  CHECK_STR(t.data[0], "w2");
  em_subscription_close(sub);

  /* Second process-like open of the same directory is refused while open. */
  em_mesh* again = NULL;
  int rc = em_mesh_open(path, NULL, &again);
  CHECK(rc != EM_OK);
  em_mesh_close(again);
  em_mesh_close(mesh);
  CHECK_RC(em_delivery_ack(NULL), EM_EINVAL);
  CHECK_RC(em_delivery_nack(NULL, 0), EM_EINVAL);
  CHECK(em_delivery_event(NULL) == NULL);
  CHECK(em_delivery_attempt(NULL) == 0);
  sink_destroy(&s);
  sink_destroy(&t);
}

static void max_deliver_moves_to_dead_letters(void) {
  em_mesh* mesh = open_mem();
  sink s, dead;
  sink_init(&s);
  sink_init(&dead);
  em_subscribe_options o;
  em_subscribe_options_init(&o);
  o.durable = "dl";
  o.manual_ack = 1;
  o.ack_wait_ms = 50;
  o.max_deliver = 2;
  o.max_in_flight = 1;
  em_subscription *sub = NULL, *dsub = NULL;
  CHECK_OK(em_subscribe(mesh, "$DLQ.>", NULL, on_delivery, &dead, &dsub));
  CHECK_OK(em_subscribe(mesh, "fragile", &o, on_delivery, &s, &sub));
  publish_text(mesh, "fragile", "never acked");
  CHECK(counter_wait(&dead.got, 1, 5000) == 1);
  CHECK_STR(dead.topic[0], "$DLQ.dl.fragile");
  CHECK(counter_get(&s.got) == 2);
  em_subscription_close(sub);
  em_subscription_close(dsub);
  em_mesh_close(mesh);
  sink_destroy(&s);
  sink_destroy(&dead);
}

static void request_and_reply(void) {
  em_mesh* mesh = open_mem();
  sink responder;
  sink_init(&responder);
  responder.reply_mesh = mesh;
  em_subscribe_options o;
  em_subscribe_options_init(&o);
  o.group = "pingers";
  em_subscription* sub = NULL;
  CHECK_OK(em_subscribe(mesh, "svc.ping", &o, on_delivery, &responder, &sub));
  em_event* req = make_event("com.example.ping", "ping");
  em_event* reply = NULL;
  CHECK_OK(em_request(mesh, "svc.ping", req, 5000, &reply));
  size_t size = 0;
  const char* data = em_event_data(reply, &size);
  CHECK(size == 4 && memcmp(data, "pong", 4) == 0);
  CHECK_STR(em_event_get(reply, "type"), "com.example.reply");
  em_event_free(reply);
  reply = NULL;
  /* Nobody answers on another topic. */
  CHECK_RC(em_request(mesh, "svc.nobody", req, 100, &reply), EM_ETIMEDOUT);
  CHECK(reply == NULL);
  CHECK_RC(em_request(mesh, "svc.ping", NULL, 100, &reply), EM_EINVAL);
  /* An event that asked for no reply cannot be answered. */
  CHECK_RC(em_reply(mesh, req, req), EM_EINVAL);
  CHECK_RC(em_reply(mesh, NULL, req), EM_EINVAL);
  em_event_free(req);
  em_subscription_close(sub);
  em_mesh_close(mesh);
  sink_destroy(&responder);
}

static void topics_and_stats(void) {
  em_mesh* mesh = open_mem();
  publish_text(mesh, "b.topic", "1");
  publish_text(mesh, "a.topic", "1");
  publish_text(mesh, "a.topic", "2");
  em_topic_info* topics = NULL;
  size_t count = 0;
  CHECK_OK(em_topics(mesh, &topics, &count));
  CHECK(count == 2);
  if (count == 2) {
    CHECK_STR(topics[0].topic, "a.topic");
    CHECK(topics[0].first_sequence == 1 && topics[0].last_sequence == 2);
    CHECK(topics[0].count == 2 && topics[0].bytes > 0);
    CHECK_STR(topics[1].topic, "b.topic");
  }
  em_free(topics);
  CHECK_RC(em_topics(mesh, NULL, &count), EM_EINVAL);
  em_mesh_stats stats;
  CHECK_OK(em_mesh_stats_get(mesh, &stats));
  CHECK(stats.published == 3);
  CHECK(stats.store_appended == 3);
  CHECK_RC(em_mesh_stats_get(mesh, NULL), EM_EINVAL);
  CHECK_RC(em_mesh_stats_get(NULL, &stats), EM_EINVAL);
  em_mesh_close(mesh);
}

static void delete_topic_and_seek_group(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/admin", data_dir);
  em_mesh* mesh = NULL;
  CHECK_OK(em_mesh_open(path, NULL, &mesh));
  if (mesh == NULL) return;
  publish_text(mesh, "adm.t", "1");
  publish_text(mesh, "adm.t", "2");

  /* A durable reads both, then is moved back to sequence 2. */
  sink s;
  sink_init(&s);
  em_subscribe_options o;
  em_subscribe_options_init(&o);
  o.durable = "adm";
  o.start = EM_START_EARLIEST;
  em_subscription* sub = NULL;
  CHECK_OK(em_subscribe(mesh, "adm.t", &o, on_delivery, &s, &sub));
  CHECK(counter_wait(&s.got, 2, 5000) == 2);
  CHECK_OK(em_seek_group(mesh, "adm", EM_START_SEQUENCE, 2, 0));
  CHECK(counter_wait(&s.got, 3, 5000) == 3);
  pthread_mutex_lock(&s.mu);
  CHECK_STR(s.data[2], "2");
  pthread_mutex_unlock(&s.mu);
  CHECK_OK(em_seek_group(mesh, "adm", EM_START_EARLIEST, 0, 0));
  CHECK(counter_wait(&s.got, 5, 5000) == 5);
  CHECK_OK(em_seek_group(mesh, "adm", EM_START_LATEST, 0, 0));
  CHECK_OK(em_seek_group(mesh, "adm", EM_START_TIME, 0, 0));
  CHECK(counter_wait(&s.got, 7, 5000) == 7);
  CHECK_RC(em_seek_group(mesh, "nobody", EM_START_LATEST, 0, 0), EM_ENOTFOUND);
  CHECK_RC(em_seek_group(mesh, "adm", EM_START_SEQUENCE, 99, 0), EM_EINVAL);
  CHECK_RC(em_seek_group(mesh, "adm", (em_start)9, 0, 0), EM_EINVAL);
  CHECK_RC(em_seek_group(mesh, NULL, EM_START_LATEST, 0, 0), EM_EINVAL);

  /* Deleting the topic keeps its numbering. */
  CHECK_OK(em_delete_topic(mesh, "adm.t"));
  CHECK(publish_text(mesh, "adm.t", "3") == 3);
  CHECK(counter_wait(&s.got, 8, 5000) == 8);
  CHECK_RC(em_delete_topic(mesh, "never.was"), EM_ENOTFOUND);
  CHECK(strstr(em_last_error(), "never.was") != NULL);
  CHECK_RC(em_delete_topic(mesh, "bad..topic"), EM_EINVAL);
  CHECK_RC(em_delete_topic(mesh, NULL), EM_EINVAL);
  CHECK_RC(em_delete_topic(NULL, "adm.t"), EM_EINVAL);
  em_subscription_close(sub);
  em_mesh_close(mesh);
  sink_destroy(&s);
}

static void subscription_outlives_closed_mesh(void) {
  em_mesh* mesh = open_mem();
  sink s;
  sink_init(&s);
  em_subscription* sub = NULL;
  CHECK_OK(em_subscribe(mesh, ">", NULL, on_delivery, &s, &sub));
  em_mesh_close(mesh);
  /* The handle is still valid for closing. */
  em_subscription_close(sub);
  sink_destroy(&s);
}

typedef struct {
  counter lines;
} log_lines;

static void on_log(int level, const char* module, const char* message,
                   void* user) {
  log_lines* l = user;
  CHECK(level >= EM_LOG_TRACE && level < EM_LOG_OFF);
  CHECK(module != NULL && message != NULL);
  counter_add(&l->lines);
}

static void log_sink_receives_messages(void) {
  log_lines l;
  counter_init(&l.lines);
  CHECK_OK(em_set_log_sink(on_log, EM_LOG_TRACE, &l));
  char path[128];
  snprintf(path, sizeof path, "%s/logged", data_dir);
  /* A store whose map cannot hold the event refuses it and says so in
   * the log. */
  em_mesh_options options;
  em_mesh_options_init(&options);
  options.max_map_bytes = 1u << 20;
  em_mesh* mesh = NULL;
  CHECK_OK(em_mesh_open(path, &options, &mesh));
  size_t big_size = 4u << 20;
  char* big = calloc(1, big_size);
  em_event* e = make_event("t", NULL);
  em_event_set_data(e, big, big_size);
  CHECK_RC(em_publish(mesh, "logged", e, EM_DURABILITY_DEFAULT, NULL),
           EM_EEXHAUSTED);
  em_event_free(e);
  free(big);
  em_mesh_close(mesh);
  CHECK_OK(em_set_log_sink(NULL, EM_LOG_OFF, NULL));
  CHECK(counter_get(&l.lines) > 0);
  int seen = counter_get(&l.lines);
  /* Removed: nothing more arrives. */
  CHECK_OK(em_mesh_open(path, &options, &mesh));
  e = make_event("t", NULL);
  big = calloc(1, big_size);
  em_event_set_data(e, big, big_size);
  CHECK(em_publish(mesh, "logged", e, EM_DURABILITY_DEFAULT, NULL) != EM_OK);
  em_event_free(e);
  free(big);
  em_mesh_close(mesh);
  CHECK(counter_get(&l.lines) == seen);
  counter_destroy(&l.lines);
}

int main(void) {
  if (mkdtemp(data_dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  RUN(open_refuses_bad_arguments);
  RUN(publish_assigns_sequences);
  RUN(publish_async_calls_back);
  RUN(publish_batch_is_all_or_nothing);
  RUN(subscribe_delivers_matching_events);
  RUN(subscribe_options_are_checked);
  RUN(filter_and_start_positions);
  RUN(groups_share_events);
  RUN(durable_manual_ack_and_redelivery);
  RUN(max_deliver_moves_to_dead_letters);
  RUN(request_and_reply);
  RUN(topics_and_stats);
  RUN(delete_topic_and_seek_group);
  RUN(subscription_outlives_closed_mesh);
  RUN(log_sink_receives_messages);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", data_dir);
  return check_report();
}
