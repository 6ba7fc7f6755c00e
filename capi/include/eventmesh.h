/* eventmesh.h: the C API of EventMesh (C99).
 *
 * Conventions (they hold for every function below):
 *
 * - Names. Everything starts with em_ (functions, types) or EM_ (macros,
 *   constants). No other symbol is exported by libeventmesh_c.
 *
 * - Handles. em_mesh, em_event, em_subscription and em_delivery are opaque.
 *   Each is created by one function and released by its pair:
 *   em_mesh_open/em_mesh_close, em_event_new/em_event_free,
 *   em_subscribe/em_subscription_close, em_delivery_retain/
 *   em_delivery_release. Releasing NULL is harmless and does nothing.
 *
 * - Errors. Functions that can fail return an int status: EM_OK (0) or one
 *   of the EM_E* codes, which are the C++ eventmesh::StatusCode values one
 *   to one. em_strerror(code) names a code; em_last_error() gives the
 *   detailed message of the last failed call on the calling thread (what
 *   was wrong and what to do). Output arguments are written only on EM_OK.
 *   Passing NULL where a handle or an output is required gives EM_EINVAL.
 *
 * - Buffers. Every pointer argument says whether it is BORROWED (read during
 *   the call only; the caller keeps ownership) or COPIED (the library keeps
 *   its own copy, so the caller may free or reuse its buffer at once).
 *   Strings the library returns are BORROWED from a handle and valid until
 *   that handle changes or is released, unless a function says the caller
 *   must free them with em_free(). Strings are NUL-terminated UTF-8; event
 *   data is bytes with an explicit length.
 *
 * - Callbacks take `void *user` last, which the library passes through
 *   untouched. Each callback type says which thread calls it. Callbacks
 *   must be quick and must not close the mesh they are called from.
 *
 * - Threads. Every function is safe to call from any thread, except that a
 *   handle must not be released while another thread still uses it. An
 *   em_event is a value: concurrent reads are safe, writes need exclusive
 *   access.
 *
 * - Versions. EVENTMESH_VERSION_* give the version of this header;
 *   em_version() that of the library loaded at run time.
 *   EM_CHECK_VERSION() returns EM_OK when the two are compatible.
 */

#ifndef EVENTMESH_C_H_
#define EVENTMESH_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EVENTMESH_C_BUILDING) && defined(__GNUC__)
#define EM_EXPORT __attribute__((visibility("default")))
#else
#define EM_EXPORT
#endif

/* ------------------------------------------------------------------------
 * Versions
 * ---------------------------------------------------------------------- */

#define EVENTMESH_VERSION_MAJOR 0
#define EVENTMESH_VERSION_MINOR 1
#define EVENTMESH_VERSION_PATCH 0
#define EVENTMESH_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH. */
#define EVENTMESH_VERSION_NUMBER                                     \
  (EVENTMESH_VERSION_MAJOR * 10000 + EVENTMESH_VERSION_MINOR * 100 + \
   EVENTMESH_VERSION_PATCH)

/* The library's version text, e.g. "0.1.0". Static storage. */
EM_EXPORT const char* em_version(void);
/* The library's version as MAJOR * 10000 + MINOR * 100 + PATCH. */
EM_EXPORT int em_version_number(void);
/* EM_OK when a program compiled against header version major.minor can use
 * this library: same major, and a library minor at least as new (while the
 * major is 0, the minor must be equal). EM_EFAILED_PRECONDITION otherwise,
 * with both versions in em_last_error(). */
EM_EXPORT int em_check_version(int header_major, int header_minor);
#define EM_CHECK_VERSION() \
  em_check_version(EVENTMESH_VERSION_MAJOR, EVENTMESH_VERSION_MINOR)

/* ------------------------------------------------------------------------
 * Status codes and errors
 * ---------------------------------------------------------------------- */

enum {
  EM_OK = 0,
  EM_EINVAL = 1,               /* the caller passed something malformed */
  EM_ENOTFOUND = 2,            /* no such topic, group, subscription */
  EM_EEXISTS = 3,              /* the name is taken */
  EM_EPERM = 4,                /* authenticated, but not allowed */
  EM_EUNAUTHENTICATED = 5,     /* credentials missing or wrong */
  EM_EEXHAUSTED = 6,           /* a limit, a full queue, disk or map */
  EM_EFAILED_PRECONDITION = 7, /* not in a state for this call */
  EM_ETIMEDOUT = 8,            /* the deadline passed before an answer */
  EM_EUNAVAILABLE = 9,         /* the server cannot be reached now */
  EM_ECLOSED = 10,             /* the mesh or subscription is closed */
  EM_EDATALOSS = 11,           /* stored data is corrupt or foreign */
  EM_EUNIMPLEMENTED = 12,      /* not supported by this transport */
  EM_EINTERNAL = 13,           /* a bug: please report it */
  EM_ECODE_COUNT = 14          /* the number of codes, not a code */
};

/* A short lower-case name for `code` ("invalid argument"); "unknown code"
 * for a number outside the list. Static storage. */
EM_EXPORT const char* em_strerror(int code);
/* The detailed message of the last call that failed on this thread, or ""
 * when none did. Valid until the next failing call on this thread. */
EM_EXPORT const char* em_last_error(void);
/* Frees memory the library handed over with "free with em_free()". */
EM_EXPORT void em_free(void* p);

/* ------------------------------------------------------------------------
 * Logging
 * ---------------------------------------------------------------------- */

enum {
  EM_LOG_TRACE = 0,
  EM_LOG_DEBUG = 1,
  EM_LOG_INFO = 2,
  EM_LOG_WARN = 3,
  EM_LOG_ERROR = 4,
  EM_LOG_OFF = 5
};

/* Receives the library's log messages. Called from any of the library's
 * threads, possibly several at once; `module` and `message` are BORROWED
 * for the call. It must not call back into the library. */
typedef void (*em_log_fn)(int level, const char* module, const char* message,
                          void* user);

/* Installs `fn` for messages at `min_level` and above (EM_LOG_*); NULL turns
 * logging off (the default: the library prints nothing). Replaces the
 * previous sink. EM_EINVAL for a level outside EM_LOG_TRACE..EM_LOG_OFF. */
EM_EXPORT int em_set_log_sink(em_log_fn fn, int min_level, void* user);

/* ------------------------------------------------------------------------
 * Events
 * ---------------------------------------------------------------------- */

typedef struct em_event em_event;

/* A new empty event (specversion "1.0", nothing else set), or NULL when out
 * of memory. Free it with em_event_free(). */
EM_EXPORT em_event* em_event_new(void);
EM_EXPORT void em_event_free(em_event* event);
/* A deep copy of `event`, or NULL when `event` is NULL or memory ran out. */
EM_EXPORT em_event* em_event_clone(const em_event* event);

/* Sets attribute `name` to `value` (both COPIED). `name` is a CloudEvents
 * context attribute ("id", "source", "type", "specversion", "subject",
 * "time", "datacontenttype", "dataschema") or an extension name; a NULL or
 * empty value removes an optional attribute or extension. EM_EINVAL for an
 * invalid extension name. Full validation happens at publish. */
EM_EXPORT int em_event_set(em_event* event, const char* name,
                           const char* value);
/* The value of attribute `name` (a context attribute or an extension), or
 * NULL when absent. BORROWED from `event`. */
EM_EXPORT const char* em_event_get(const em_event* event, const char* name);

/* Shorthands for em_event_set(). */
EM_EXPORT int em_event_set_id(em_event* event, const char* id);
EM_EXPORT int em_event_set_source(em_event* event, const char* source);
EM_EXPORT int em_event_set_type(em_event* event, const char* type);
EM_EXPORT int em_event_set_subject(em_event* event, const char* subject);

/* Sets the data: `size` bytes from `data` (COPIED; NULL with 0 clears). */
EM_EXPORT int em_event_set_data(em_event* event, const void* data, size_t size);
/* The data, BORROWED from `event`; its size in `*size`. Never NULL for a
 * valid event (an empty event gives a pointer to zero bytes). */
EM_EXPORT const void* em_event_data(const em_event* event, size_t* size);

/* Extensions, in the order they were set. `index` from 0 to count - 1;
 * `*name` and `*value` are BORROWED. EM_EINVAL for an index out of range. */
EM_EXPORT size_t em_event_extension_count(const em_event* event);
EM_EXPORT int em_event_extension_at(const em_event* event, size_t index,
                                    const char** name, const char** value);

/* Set by the mesh when it accepts the event: its topic (BORROWED; "" before
 * acceptance), sequence (0 before) and store time in Unix nanoseconds. */
EM_EXPORT const char* em_event_topic(const em_event* event);
EM_EXPORT uint64_t em_event_sequence(const em_event* event);
EM_EXPORT int64_t em_event_stored_at(const em_event* event);

/* EM_OK when the event follows CloudEvents 1.0 (as given, before the mesh
 * fills in id and time); EM_EINVAL naming the broken rule otherwise. */
EM_EXPORT int em_event_validate(const em_event* event);

/* The CloudEvents JSON form of `event` (mesh fields included when
 * `mesh_fields` is non-zero) in `*json`; free it with em_free(). */
EM_EXPORT int em_event_to_json(const em_event* event, int mesh_fields,
                               char** json);
/* A new event from a CloudEvents JSON object (`json`, `size` bytes,
 * BORROWED) in `*event`; free it with em_event_free(). */
EM_EXPORT int em_event_from_json(const char* json, size_t size,
                                 em_event** event);

/* ------------------------------------------------------------------------
 * Opening a mesh
 * ---------------------------------------------------------------------- */

typedef struct em_mesh em_mesh;

typedef enum {
  EM_DURABILITY_DEFAULT = -1, /* publish: the mesh's default */
  EM_DURABILITY_SYNC = 0,     /* flushed to disk before the ack */
  EM_DURABILITY_BATCH = 1,    /* acked, then flushed within a window */
  EM_DURABILITY_NONE = 2      /* never flushed explicitly */
} em_durability;

/* Options of em_mesh_open(). Call em_mesh_options_init() first, then set
 * what you need. String fields are BORROWED for the em_mesh_open() call. */
typedef struct em_mesh_options {
  em_durability durability; /* default publish durability (SYNC) */
  int callback_threads;     /* threads running subscription callbacks (1) */
  const char* node_id;      /* NULL or "": random */
  const char* token;        /* tcp://: a token, or user and password */
  const char* user;
  const char* password;
  uint32_t connect_timeout_ms; /* tcp://: connecting (5000) */
  uint32_t call_timeout_ms;    /* tcp://: each call (30000) */
  uint32_t batch_window_ms;    /* embedded, BATCH durability window (10) */
  uint32_t dedup_window_ms;    /* embedded, dedup of source+id (120000) */
  uint64_t max_map_bytes;      /* embedded LMDB map limit (1 TiB) */
} em_mesh_options;

/* Fills `options` with the defaults given beside each field. */
EM_EXPORT void em_mesh_options_init(em_mesh_options* options);

/* Opens the mesh at `url` (BORROWED): a directory path or file:// URL
 * (embedded, stored in LMDB), "mem:" (embedded, in memory) or
 * tcp://host:port (a server). `options` may be NULL for the defaults.
 * On EM_OK `*mesh` is the new handle. EM_EINVAL for a malformed URL,
 * EM_EUNAVAILABLE when a server cannot be reached, the store's codes for a
 * data directory (EM_EFAILED_PRECONDITION when another process has it). */
EM_EXPORT int em_mesh_open(const char* url, const em_mesh_options* options,
                           em_mesh** mesh);

/* Stops every subscription of `mesh` (no callback of theirs runs after this
 * returns), finishes or fails in-flight publishes, releases the store or
 * connection and frees the handle. Subscription handles stay valid for
 * em_subscription_close() only. Must not be called from a callback. */
EM_EXPORT void em_mesh_close(em_mesh* mesh);

/* This node's id, BORROWED from `mesh`. */
EM_EXPORT const char* em_mesh_node_id(const em_mesh* mesh);

/* ------------------------------------------------------------------------
 * Publishing
 * ---------------------------------------------------------------------- */

/* Stores a copy of `event` (COPIED) under `topic` (BORROWED) and, on EM_OK,
 * its sequence in `*sequence` (which may be NULL). An empty id gets a fresh
 * one and an empty time gets now; source and type are required. Returns
 * once stored at `durability`. A duplicate (same source and id within the
 * dedup window) returns the first event's sequence and stores nothing. */
EM_EXPORT int em_publish(em_mesh* mesh, const char* topic,
                         const em_event* event, em_durability durability,
                         uint64_t* sequence);

/* Called once per em_publish_async() with the outcome: EM_OK and the
 * sequence, or a code, 0 and a message (BORROWED for the call). Runs on a
 * mesh thread; it must be quick and must not block. */
typedef void (*em_publish_fn)(int status, uint64_t sequence, const char* error,
                              void* user);

/* Like em_publish() but returns at once; `done` (may be NULL) runs later
 * with the result. Returns EM_EINVAL without calling `done` when an
 * argument is NULL or `durability` is not an em_durability; every other
 * failure (a bad topic or event included) is reported through `done`. */
EM_EXPORT int em_publish_async(em_mesh* mesh, const char* topic,
                               const em_event* event, em_durability durability,
                               em_publish_fn done, void* user);

/* Publishes `count` events, event i (COPIED) to topics[i] (BORROWED), in
 * one hand-off. Either all are stored, with their sequences written to
 * sequences[i] (may be NULL), or none is and the error names the first
 * bad event. */
EM_EXPORT int em_publish_batch(em_mesh* mesh, const char* const* topics,
                               const em_event* const* events, size_t count,
                               em_durability durability, uint64_t* sequences);

/* ------------------------------------------------------------------------
 * Subscribing
 * ---------------------------------------------------------------------- */

typedef struct em_subscription em_subscription;
typedef struct em_delivery em_delivery;

typedef enum {
  EM_START_LATEST = 0,   /* events published from now on */
  EM_START_EARLIEST = 1, /* everything stored */
  EM_START_SEQUENCE = 2, /* per topic, from start_sequence */
  EM_START_TIME = 3      /* events stored at or after start_time_ns */
} em_start;

typedef enum {
  EM_OVERFLOW_BLOCK = 0, /* the publisher waits up to block_timeout_ms */
  EM_OVERFLOW_DROP = 1   /* the event is dropped for this subscription */
} em_overflow;

/* Options of em_subscribe(). Call em_subscribe_options_init() first. String
 * fields are BORROWED for the em_subscribe() call. */
typedef struct em_subscribe_options {
  const char* group;   /* members share events, each to one member */
  const char* durable; /* position and acks kept in the store */
  em_start start;      /* LATEST */
  uint64_t start_sequence;
  int64_t start_time_ns;     /* Unix nanoseconds */
  int manual_ack;            /* durable: ack with em_delivery_ack() (0) */
  uint32_t ack_wait_ms;      /* durable: redelivery after this (30000) */
  int max_deliver;           /* durable: then to $DLQ (5; 0: never) */
  size_t max_in_flight;      /* durable: unacked per member (1024) */
  size_t max_pending;        /* non-durable: queued at most (65536) */
  em_overflow overflow;      /* non-durable: beyond max_pending (BLOCK) */
  uint32_t block_timeout_ms; /* with EM_OVERFLOW_BLOCK (1000) */
  /* A CloudEvents Subscriptions API filter array as JSON, e.g.
   * "[{\"prefix\": {\"type\": \"order.\"}}]"; NULL: every event. */
  const char* filter_json;
} em_subscribe_options;

/* Fills `options` with the defaults given beside each field. */
EM_EXPORT void em_subscribe_options_init(em_subscribe_options* options);

/* Receives one delivery. Runs on the mesh's callback pool, never on the
 * publisher's thread; one subscription's callback never runs on two
 * threads at once and sees each topic's events in sequence order.
 * `delivery` is BORROWED for the call: to ack after returning, keep
 * em_delivery_retain(delivery). It may publish, ack and unsubscribe (but
 * not close the mesh). */
typedef void (*em_delivery_fn)(em_delivery* delivery, void* user);

/* Delivers events whose topic matches `pattern` (BORROWED) to `fn`.
 * `options` may be NULL for the defaults. On EM_OK `*subscription` is the
 * new handle. EM_EINVAL for a bad pattern, filter or option. */
EM_EXPORT int em_subscribe(em_mesh* mesh, const char* pattern,
                           const em_subscribe_options* options,
                           em_delivery_fn fn, void* user,
                           em_subscription** subscription);

/* Stops delivery: no callback of this subscription runs after it returns
 * (called from the callback itself: after that callback returns). Safe to
 * call again. The handle stays valid until em_subscription_close(). */
EM_EXPORT int em_unsubscribe(em_subscription* subscription);

/* Unsubscribes (when still subscribed) and frees the handle. */
EM_EXPORT void em_subscription_close(em_subscription* subscription);

typedef struct em_subscription_stats {
  uint64_t delivered; /* handed to the callback */
  uint64_t dropped;   /* lost to overflow (non-durable) */
  uint64_t pending;   /* queued, not yet handed over */
  uint64_t in_flight; /* delivered, not yet acked (durable) */
  uint64_t acked;
  uint64_t redelivered;
  uint64_t dead_lettered;
} em_subscription_stats;

EM_EXPORT int em_subscription_stats_get(const em_subscription* subscription,
                                        em_subscription_stats* stats);

/* The delivered event, BORROWED from `delivery`; read-only. */
EM_EXPORT const em_event* em_delivery_event(const em_delivery* delivery);
/* 1 on the first delivery, 2 on the first redelivery, ... */
EM_EXPORT uint32_t em_delivery_attempt(const em_delivery* delivery);
/* Acknowledges a durable delivery: EM_OK once the ack is stored. No effect
 * (EM_OK) for a non-durable one. */
EM_EXPORT int em_delivery_ack(const em_delivery* delivery);
/* Asks for redelivery after `delay_ms` (0: at once). */
EM_EXPORT int em_delivery_nack(const em_delivery* delivery, uint32_t delay_ms);
/* A handle to the same delivery that stays valid after the callback
 * returns, to ack or nack later from any thread; free it with
 * em_delivery_release(). NULL when out of memory. */
EM_EXPORT em_delivery* em_delivery_retain(const em_delivery* delivery);
EM_EXPORT void em_delivery_release(em_delivery* delivery);

/* ------------------------------------------------------------------------
 * Request and reply
 * ---------------------------------------------------------------------- */

/* Publishes `request` (COPIED) to `topic` (BORROWED) with a reply topic and
 * a correlation id, and waits up to `timeout_ms` for the first reply,
 * returned in `*reply` (free it with em_event_free()). EM_ETIMEDOUT when
 * none came in time. */
EM_EXPORT int em_request(em_mesh* mesh, const char* topic,
                         const em_event* request, uint32_t timeout_ms,
                         em_event** reply);

/* Publishes `reply` (COPIED) as the answer to `request` (a delivered
 * event, BORROWED). EM_EINVAL when `request` asked for no reply. */
EM_EXPORT int em_reply(em_mesh* mesh, const em_event* request,
                       const em_event* reply);

/* ------------------------------------------------------------------------
 * Inspecting a mesh
 * ---------------------------------------------------------------------- */

typedef struct em_topic_info {
  const char* topic;
  uint64_t first_sequence; /* 0 when empty */
  uint64_t last_sequence;
  uint64_t count;
  uint64_t bytes;
} em_topic_info;

/* The stored topics, sorted by name: `*count` entries in `*topics`, which
 * (strings included) is freed by one em_free(*topics). */
EM_EXPORT int em_topics(em_mesh* mesh, em_topic_info** topics, size_t* count);

typedef struct em_group_info {
  const char* name; /* the group or durable name */
  const char* pattern;
  int durable;
  uint64_t members;
  uint64_t ack_floor;
  uint64_t in_flight;
  uint64_t lag;
  uint64_t delivered;
  uint64_t redelivered;
  uint64_t dead_lettered;
} em_group_info;

/* The groups and durable subscriptions: `*count` entries in `*groups`,
 * freed (strings included) by one em_free(*groups). */
EM_EXPORT int em_groups(em_mesh* mesh, em_group_info** groups, size_t* count);

typedef struct em_mesh_stats {
  uint64_t published;
  uint64_t duplicates;
  uint64_t delivered;
  uint64_t dropped;
  uint64_t acked;
  uint64_t redelivered;
  uint64_t dead_lettered;
  uint64_t subscriptions;
  /* The store's counters. */
  uint64_t store_appended;
  uint64_t store_commits;
  uint64_t store_syncs;
  uint64_t store_bytes_used;
  uint64_t store_map_bytes;
} em_mesh_stats;

EM_EXPORT int em_mesh_stats_get(em_mesh* mesh, em_mesh_stats* stats);

/* ------------------------------------------------------------------------
 * Administration
 * ---------------------------------------------------------------------- */

/* Removes every stored event of `topic` (BORROWED; "$DLQ." topics too,
 * which is how a dead-letter queue is cleared). The topic keeps its
 * numbering: its next event gets the sequence after the last one removed.
 * Durable groups reading it forget the removed events; live subscriptions
 * are not affected. EM_ENOTFOUND when the topic has no stored events,
 * EM_EINVAL for an invalid name. */
EM_EXPORT int em_delete_topic(em_mesh* mesh, const char* topic);

/* Moves durable group `durable` (BORROWED) to read from `start` next:
 * EM_START_EARLIEST, EM_START_LATEST, EM_START_TIME (events stored at or
 * after `time_ns`, Unix nanoseconds) or EM_START_SEQUENCE (`sequence` of
 * the group's topic; only for a group whose pattern is one topic). The
 * group's unacknowledged events are forgotten; its members stay and go on
 * from there. The unused one of `sequence` and `time_ns` is ignored.
 * EM_ENOTFOUND for an unknown durable, EM_EINVAL for a bad position. */
EM_EXPORT int em_seek_group(em_mesh* mesh, const char* durable, em_start start,
                            uint64_t sequence, int64_t time_ns);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EVENTMESH_C_H_ */
