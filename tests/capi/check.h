/* A few checks for the C API tests, which are plain C99 programs. Each
 * test is a function; main() runs them in order and exits non-zero when
 * any check failed. */

#ifndef EVENTMESH_TESTS_CAPI_CHECK_H_
#define EVENTMESH_TESTS_CAPI_CHECK_H_

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eventmesh.h"

static int check_failures = 0;

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, em_last_error());                              \
      ++check_failures;                                                       \
    }                                                                         \
  } while (0)

/* Checks that `call` returns `code`; a failing call must also leave a
 * message in em_last_error(). */
#define CHECK_RC(call, code)                                                \
  do {                                                                      \
    int check_rc_ = (call);                                                 \
    if (check_rc_ != (code)) {                                              \
      fprintf(stderr, "%s:%d: %s returned %d (%s), want %d (%s): %s\n",     \
              __FILE__, __LINE__, #call, check_rc_, em_strerror(check_rc_), \
              (int)(code), em_strerror(code), em_last_error());             \
      ++check_failures;                                                     \
    } else if ((code) != EM_OK && em_last_error()[0] == '\0') {             \
      fprintf(stderr, "%s:%d: %s failed without a message\n", __FILE__,     \
              __LINE__, #call);                                             \
      ++check_failures;                                                     \
    }                                                                       \
  } while (0)

#define CHECK_OK(call) CHECK_RC(call, EM_OK)

#define CHECK_STR(actual, expected)                                         \
  do {                                                                      \
    const char* check_a_ = (actual);                                        \
    const char* check_e_ = (expected);                                      \
    if (check_a_ == NULL || strcmp(check_a_, check_e_) != 0) {              \
      fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__,       \
              __LINE__, #actual, check_a_ ? check_a_ : "(null)", check_e_); \
      ++check_failures;                                                     \
    }                                                                       \
  } while (0)

#define RUN(test)                            \
  do {                                       \
    fprintf(stderr, "[ RUN  ] %s\n", #test); \
    test();                                  \
  } while (0)

static inline int check_report(void) {
  if (check_failures) {
    fprintf(stderr, "%d check(s) failed\n", check_failures);
    return 1;
  }
  fprintf(stderr, "all checks passed\n");
  return 0;
}

/* A counter that callbacks on mesh threads bump and tests wait on. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int count;
} counter;

static inline void counter_init(counter* c) {
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  c->count = 0;
}

static inline void counter_destroy(counter* c) {
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
}

static inline void counter_add(counter* c) {
  pthread_mutex_lock(&c->mu);
  ++c->count;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* Waits until the count reaches `n`, for at most `ms`; returns the count. */
static inline int counter_wait(counter* c, int n, int ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&c->mu);
  while (c->count < n) {
    if (pthread_cond_timedwait(&c->cv, &c->mu, &deadline) != 0) break;
  }
  int got = c->count;
  pthread_mutex_unlock(&c->mu);
  return got;
}

static inline int counter_get(counter* c) {
  pthread_mutex_lock(&c->mu);
  int got = c->count;
  pthread_mutex_unlock(&c->mu);
  return got;
}

/* A new event with source, type and `data` set. */
static inline em_event* make_event(const char* type, const char* data) {
  em_event* e = em_event_new();
  if (e == NULL) abort();
  em_event_set_source(e, "/tests/capi");
  em_event_set_type(e, type);
  if (data) em_event_set_data(e, data, strlen(data));
  return e;
}

#endif /* EVENTMESH_TESTS_CAPI_CHECK_H_ */
