/* The C API without a mesh: versions, codes and errors, the log sink and
 * event handles. */

#include "check.h"

static void versions_match_the_header(void) {
  CHECK_STR(em_version(), EVENTMESH_VERSION_STRING);
  CHECK(em_version_number() == EVENTMESH_VERSION_NUMBER);
  CHECK_OK(EM_CHECK_VERSION());
  CHECK_RC(em_check_version(EVENTMESH_VERSION_MAJOR + 1, 0),
           EM_EFAILED_PRECONDITION);
  CHECK(strstr(em_last_error(), em_version()) != NULL);
  /* While the major is 0, a different minor is incompatible. */
  CHECK_RC(em_check_version(0, EVENTMESH_VERSION_MINOR + 1),
           EM_EFAILED_PRECONDITION);
}

static void every_code_has_a_distinct_name(void) {
  for (int i = 0; i < EM_ECODE_COUNT; ++i) {
    CHECK(strcmp(em_strerror(i), "unknown code") != 0);
    for (int j = 0; j < i; ++j) {
      CHECK(strcmp(em_strerror(i), em_strerror(j)) != 0);
    }
  }
  CHECK_STR(em_strerror(EM_OK), "ok");
  CHECK_STR(em_strerror(EM_EINVAL), "invalid argument");
  CHECK_STR(em_strerror(EM_ETIMEDOUT), "timeout");
  CHECK_STR(em_strerror(-1), "unknown code");
  CHECK_STR(em_strerror(EM_ECODE_COUNT), "unknown code");
}

static void* fail_on_other_thread(void* arg) {
  (void)arg;
  em_event_set(NULL, "id", "x");
  return NULL;
}

static void last_error_is_per_thread(void) {
  em_event* e = em_event_new();
  CHECK_RC(em_event_set(e, "Bad-Name", "x"), EM_EINVAL);
  CHECK(strstr(em_last_error(), "Bad-Name") != NULL);
  pthread_t t;
  pthread_create(&t, NULL, fail_on_other_thread, NULL);
  pthread_join(t, NULL);
  /* The other thread's failure did not replace this thread's message. */
  CHECK(strstr(em_last_error(), "Bad-Name") != NULL);
  em_event_free(e);
}

static void closing_null_is_harmless(void) {
  em_event_free(NULL);
  em_mesh_close(NULL);
  em_subscription_close(NULL);
  em_delivery_release(NULL);
  em_free(NULL);
  CHECK(em_event_clone(NULL) == NULL);
  CHECK(em_delivery_retain(NULL) == NULL);
}

static void event_attributes_round_trip(void) {
  em_event* e = em_event_new();
  CHECK_STR(em_event_get(e, "specversion"), "1.0");
  CHECK(em_event_get(e, "id") == NULL);
  CHECK_OK(em_event_set_id(e, "id-1"));
  CHECK_OK(em_event_set_source(e, "/src"));
  CHECK_OK(em_event_set_type(e, "com.example.t"));
  CHECK_OK(em_event_set_subject(e, "subj"));
  CHECK_OK(em_event_set(e, "time", "2026-12-03T13:00:00Z"));
  CHECK_OK(em_event_set(e, "datacontenttype", "text/plain"));
  CHECK_OK(em_event_set(e, "dataschema", "https://example.com/s"));
  CHECK_STR(em_event_get(e, "id"), "id-1");
  CHECK_STR(em_event_get(e, "source"), "/src");
  CHECK_STR(em_event_get(e, "type"), "com.example.t");
  CHECK_STR(em_event_get(e, "subject"), "subj");
  CHECK_STR(em_event_get(e, "time"), "2026-12-03T13:00:00Z");
  CHECK_STR(em_event_get(e, "datacontenttype"), "text/plain");
  CHECK_STR(em_event_get(e, "dataschema"), "https://example.com/s");
  /* An empty value removes an optional attribute. */
  CHECK_OK(em_event_set_subject(e, NULL));
  CHECK(em_event_get(e, "subject") == NULL);
  CHECK_OK(em_event_validate(e));
  /* Before publishing, the mesh fields are empty. */
  CHECK_STR(em_event_topic(e), "");
  CHECK(em_event_sequence(e) == 0);
  CHECK(em_event_stored_at(e) == 0);
  em_event_free(e);
}

static void extensions_keep_their_order(void) {
  em_event* e = make_event("t", NULL);
  CHECK_OK(em_event_set(e, "zeta", "1"));
  CHECK_OK(em_event_set(e, "alpha", "2"));
  CHECK_OK(em_event_set(e, "zeta", "3"));
  CHECK(em_event_extension_count(e) == 2);
  const char *name = NULL, *value = NULL;
  CHECK_OK(em_event_extension_at(e, 0, &name, &value));
  CHECK_STR(name, "zeta");
  CHECK_STR(value, "3");
  CHECK_OK(em_event_extension_at(e, 1, &name, &value));
  CHECK_STR(name, "alpha");
  CHECK_STR(value, "2");
  CHECK_STR(em_event_get(e, "alpha"), "2");
  CHECK_RC(em_event_extension_at(e, 2, &name, &value), EM_EINVAL);
  CHECK_RC(em_event_extension_at(e, 0, NULL, &value), EM_EINVAL);
  CHECK_OK(em_event_set(e, "zeta", ""));
  CHECK(em_event_extension_count(e) == 1);
  CHECK_RC(em_event_set(e, "UPPER", "x"), EM_EINVAL);
  CHECK_RC(em_event_set(e, "waytoolongforanextension", "x"), EM_EINVAL);
  CHECK_RC(em_event_set(e, "", "x"), EM_EINVAL);
  CHECK_RC(em_event_set(e, NULL, "x"), EM_EINVAL);
  CHECK(em_event_extension_count(NULL) == 0);
  em_event_free(e);
}

static void data_is_copied_bytes(void) {
  em_event* e = em_event_new();
  char buf[4] = {'a', '\0', 'b', 'c'};
  CHECK_OK(em_event_set_data(e, buf, sizeof buf));
  buf[0] = 'z'; /* the event kept its own copy */
  size_t size = 0;
  const char* data = em_event_data(e, &size);
  CHECK(size == 4);
  CHECK(memcmp(data, "a\0bc", 4) == 0);
  CHECK_RC(em_event_set_data(e, NULL, 3), EM_EINVAL);
  CHECK_OK(em_event_set_data(e, NULL, 0));
  em_event_data(e, &size);
  CHECK(size == 0);
  CHECK(em_event_data(NULL, &size) == NULL && size == 0);
  em_event_free(e);
}

static void clone_is_independent(void) {
  em_event* e = make_event("t", "one");
  em_event* c = em_event_clone(e);
  CHECK_OK(em_event_set_data(e, "two", 3));
  size_t size = 0;
  const char* data = em_event_data(c, &size);
  CHECK(size == 3 && memcmp(data, "one", 3) == 0);
  CHECK_STR(em_event_get(c, "type"), "t");
  em_event_free(e);
  em_event_free(c);
}

static void validate_names_the_broken_rule(void) {
  em_event* e = em_event_new();
  CHECK_OK(em_event_set_id(e, "1"));
  CHECK_OK(em_event_set_type(e, "t"));
  CHECK_RC(em_event_validate(e), EM_EINVAL);
  CHECK(strstr(em_last_error(), "source") != NULL);
  CHECK_RC(em_event_validate(NULL), EM_EINVAL);
  em_event_free(e);
}

static void json_round_trip(void) {
  em_event* e = make_event("com.example.json", "hello");
  em_event_set_id(e, "j-1");
  em_event_set(e, "datacontenttype", "text/plain");
  em_event_set(e, "traceid", "abc");
  char* json = NULL;
  CHECK_OK(em_event_to_json(e, 0, &json));
  CHECK(json != NULL && strstr(json, "\"j-1\"") != NULL);
  em_event* back = NULL;
  CHECK_OK(em_event_from_json(json, strlen(json), &back));
  CHECK_STR(em_event_get(back, "traceid"), "abc");
  size_t size = 0;
  const char* data = em_event_data(back, &size);
  CHECK(size == 5 && memcmp(data, "hello", 5) == 0);
  em_free(json);
  em_event_free(back);
  back = NULL;
  CHECK_RC(em_event_from_json("{\"id\": 1", 8, &back), EM_EINVAL);
  CHECK(back == NULL);
  CHECK_RC(em_event_from_json(NULL, 0, &back), EM_EINVAL);
  CHECK_RC(em_event_to_json(e, 0, NULL), EM_EINVAL);
  em_event_free(e);
}

static void log_sink_levels(void) {
  CHECK_RC(em_set_log_sink(NULL, EM_LOG_OFF + 1, NULL), EM_EINVAL);
  CHECK_RC(em_set_log_sink(NULL, -1, NULL), EM_EINVAL);
  CHECK_OK(em_set_log_sink(NULL, EM_LOG_INFO, NULL));
}

int main(void) {
  RUN(versions_match_the_header);
  RUN(every_code_has_a_distinct_name);
  RUN(last_error_is_per_thread);
  RUN(closing_null_is_harmless);
  RUN(event_attributes_round_trip);
  RUN(extensions_keep_their_order);
  RUN(data_is_copied_bytes);
  RUN(clone_is_independent);
  RUN(validate_names_the_broken_rule);
  RUN(json_round_trip);
  RUN(log_sink_levels);
  return check_report();
}
