/* Tests of the C ABI, built by `make test-c` with the system compiler under AddressSanitizer
 * and UndefinedBehaviorSanitizer (leaks included): every function, and its error paths. */
#define _GNU_SOURCE /* nanosleep, memmem */
#include "footmetrics.h"
#include "footmetrics_catalog.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    checks++;                                                                       \
    if (!(cond)) {                                                                  \
      failures++;                                                                   \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
    }                                                                               \
  } while (0)

#define CHECK_RC(expr, want)                                                        \
  do {                                                                              \
    fm_result got_ = (expr);                                                        \
    checks++;                                                                       \
    if (got_ != (want)) {                                                           \
      char msg_[256];                                                               \
      fm_last_error(msg_, sizeof msg_, NULL);                                       \
      failures++;                                                                   \
      fprintf(stderr, "%s:%d: %s returned %d, want %d (%s)\n", __FILE__, __LINE__, \
              #expr, (int)got_, (int)(want), msg_);                                 \
    }                                                                               \
  } while (0)

#define OK(expr) CHECK_RC(expr, FM_OK)

static fm_str S(const char *s) {
  fm_str r = {s, strlen(s)};
  return r;
}

/* The last error message, for checks on its wording. */
static const char *last_error(void) {
  static char buf[512];
  fm_last_error(buf, sizeof buf, NULL);
  return buf;
}

/* Renders `reg` into a malloc'd NUL-terminated string through the caller-buffer API. */
static char *render(const fm_registry *reg, uint32_t format) {
  size_t need = 0;
  CHECK_RC(fm_registry_render(reg, format, NULL, 0, &need), FM_ERR_BUFFER_TOO_SMALL);
  char *buf = malloc(need + 1);
  size_t len = 0;
  OK(fm_registry_render(reg, format, (uint8_t *)buf, need, &len));
  CHECK(len == need);
  buf[len] = 0;
  return buf;
}

static fm_family *family(uint32_t kind, const char *name, const char **labels, size_t n) {
  fm_str names[8];
  for (size_t i = 0; i < n; i++) names[i] = S(labels[i]);
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = kind;
  o.name = S(name);
  o.help = S("help text");
  o.label_names = names;
  o.label_count = n;
  fm_family *f = NULL;
  OK(fm_family_new(&o, &f));
  return f;
}

static void test_counter_and_render(void) {
  fm_registry *reg = NULL;
  OK(fm_registry_new(&reg));
  const char *labels[] = {"status", "batch_size"};
  fm_family *f = family(FM_KIND_COUNTER, "video_processing_batches_total", labels, 2);
  OK(fm_registry_register(reg, f));

  fm_str values[] = {S("success"), S("32")};
  fm_child *c = NULL;
  OK(fm_family_child(f, values, 2, &c));
  OK(fm_child_inc(c));
  OK(fm_child_add(c, 2.5));
  double v = 0;
  uint64_t count = 99;
  OK(fm_child_value(c, &v, &count));
  CHECK(v == 3.5);
  CHECK(count == 0);

  /* The same label values resolve to the same series. */
  fm_child *again = NULL;
  OK(fm_family_child(f, values, 2, &again));
  OK(fm_child_inc(again));
  OK(fm_child_value(c, &v, NULL));
  CHECK(v == 4.5);
  fm_child_free(again);

  /* Counters refuse to go down or take NaN; the value is unchanged. */
  CHECK_RC(fm_child_add(c, -1), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_child_add(c, NAN), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_child_set(c, 1), FM_ERR_WRONG_KIND);
  CHECK(strstr(last_error(), "counter") != NULL);
  CHECK_RC(fm_child_observe(c, 1), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_child_dec(c), FM_ERR_WRONG_KIND);
  OK(fm_child_value(c, &v, NULL));
  CHECK(v == 4.5);

  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "# TYPE video_processing_batches_total counter\n") != NULL);
  CHECK(strstr(text, "video_processing_batches_total{status=\"success\",batch_size=\"32\"} 4.5\n") != NULL);
  free(text);
  char *om = render(reg, FM_FORMAT_OPENMETRICS);
  CHECK(strstr(om, "# TYPE video_processing_batches counter\n") != NULL);
  CHECK(strlen(om) >= 6 && strcmp(om + strlen(om) - 6, "# EOF\n") == 0);
  free(om);

  /* A library-owned buffer holds the same bytes. */
  fm_buffer *buf = NULL;
  OK(fm_registry_render_buffer(reg, FM_FORMAT_TEXT, &buf));
  const uint8_t *data = NULL;
  size_t len = 0;
  OK(fm_buffer_data(buf, &data, &len));
  char *again_text = render(reg, FM_FORMAT_TEXT);
  CHECK(len == strlen(again_text) && memcmp(data, again_text, len) == 0);
  free(again_text);
  fm_buffer_free(buf);

  /* A buffer one byte short is refused without writing past it. */
  size_t need = 0;
  fm_registry_render(reg, FM_FORMAT_TEXT, NULL, 0, &need);
  uint8_t *small = malloc(need - 1);
  CHECK_RC(fm_registry_render(reg, FM_FORMAT_TEXT, small, need - 1, &len), FM_ERR_BUFFER_TOO_SMALL);
  CHECK(len == need);
  free(small);

  /* Remove: the series leaves the exposition; the held child still works. */
  uint8_t removed = 0;
  OK(fm_family_remove(f, values, 2, &removed));
  CHECK(removed == 1);
  OK(fm_family_remove(f, values, 2, &removed));
  CHECK(removed == 0);
  OK(fm_child_inc(c));
  text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "success") == NULL);
  free(text);

  /* Registering the same name twice fails; unregistering twice fails the second time. */
  fm_family *dup = family(FM_KIND_COUNTER, "video_processing_batches_total", labels, 2);
  CHECK_RC(fm_registry_register(reg, dup), FM_ERR_ALREADY_REGISTERED);
  OK(fm_registry_unregister(reg, f));
  CHECK_RC(fm_registry_unregister(reg, f), FM_ERR_NOT_REGISTERED);
  OK(fm_registry_register(reg, dup));
  fm_family_free(dup);

  fm_child_free(c);
  fm_family_free(f);
  fm_registry_free(reg);
}

static void test_gauge_histogram_summary(void) {
  fm_registry *reg = NULL;
  fm_str rn[] = {S("service")}, rv[] = {S("exporter")};
  OK(fm_registry_new_with_labels(rn, rv, 1, &reg));

  const char *gl[] = {"queue_type", "priority"};
  fm_family *g = family(FM_KIND_GAUGE, "video_processing_queue_length", gl, 2);
  OK(fm_registry_register(reg, g));
  fm_str gv[] = {S("ingest"), S("high")};
  fm_child *gc = NULL;
  OK(fm_family_child(g, gv, 2, &gc));
  OK(fm_child_set(gc, 10));
  OK(fm_child_inc(gc));
  OK(fm_child_dec(gc));
  OK(fm_child_dec(gc));
  OK(fm_child_add(gc, -2.5));
  CHECK_RC(fm_child_set(gc, NAN), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_child_add(gc, NAN), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_child_observe(gc, 1), FM_ERR_WRONG_KIND);
  double v = 0;
  OK(fm_child_value(gc, &v, NULL));
  CHECK(v == 6.5);

  /* Histogram with custom buckets. */
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_HISTOGRAM;
  o.name = S("ml_inference_duration_seconds");
  o.help = S("ML model inference duration");
  o.unit = S("seconds");
  fm_str hl[] = {S("device")};
  o.label_names = hl;
  o.label_count = 1;
  double bounds[] = {0.1, 1, 2};
  o.buckets = bounds;
  o.bucket_count = 3;
  fm_family *h = NULL;
  OK(fm_family_new(&o, &h));
  OK(fm_registry_register(reg, h));
  fm_str hv[] = {S("gpu")};
  fm_child *hc = NULL;
  OK(fm_family_child(h, hv, 1, &hc));
  OK(fm_child_observe(hc, 0.05));
  OK(fm_child_observe(hc, 1.5));
  OK(fm_child_observe(hc, 1)); /* a bound is inclusive: le="1" */
  OK(fm_child_observe(hc, 99));
  CHECK_RC(fm_child_observe(hc, NAN), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_child_inc(hc), FM_ERR_WRONG_KIND);
  uint64_t count = 0;
  OK(fm_child_value(hc, &v, &count));
  CHECK(count == 4);
  CHECK(fabs(v - 101.55) < 1e-9);

  double got[8];
  size_t nb = 0;
  CHECK_RC(fm_family_buckets(h, got, 2, &nb), FM_ERR_BUFFER_TOO_SMALL);
  CHECK(nb == 3);
  OK(fm_family_buckets(h, got, 8, &nb));
  CHECK(nb == 3 && got[0] == 0.1 && got[1] == 1 && got[2] == 2);
  CHECK_RC(fm_family_buckets(g, got, 8, &nb), FM_ERR_WRONG_KIND);

  /* An exemplar rides on its bucket in OpenMetrics; bad labels record nothing. */
  fm_str en[] = {S("trace_id"), S("span_id")};
  fm_str ev[] = {S("4bf92f3577b34da6a3ce929d0e0e4736"), S("00f067aa0ba902b7")};
  CHECK_RC(fm_child_observe_with_exemplar(hc, 0.5, NULL, ev, 2), FM_ERR_NULL_ARGUMENT);
  fm_str bad[] = {S("bad-name")};
  CHECK_RC(fm_child_observe_with_exemplar(hc, 0.5, bad, ev, 1), FM_ERR_INVALID_LABEL);
  CHECK_RC(fm_child_observe_with_exemplar(gc, 0.5, en, ev, 2), FM_ERR_WRONG_KIND);
  OK(fm_child_observe_with_exemplar(hc, 0.5, en, ev, 2));
  char *om_text = render(reg, FM_FORMAT_OPENMETRICS);
  CHECK(strstr(om_text, "le=\"1.0\"} 3 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\","
                        "span_id=\"00f067aa0ba902b7\"} 0.5 ") != NULL);
  free(om_text);
  OK(fm_child_value(hc, &v, &count));
  CHECK(count == 5);

  /* The cells as documented: per-bucket counts, +Inf, then the sum. */
  fm_cells cells;
  OK(fm_child_cells(hc, &cells));
  CHECK(cells.kind == FM_KIND_HISTOGRAM && cells.bucket_count == 3 && cells.overflow == 0);
  CHECK(cells.cells[0] == 1 && cells.cells[1] == 2 && cells.cells[2] == 1 && cells.cells[3] == 1);
  double sum;
  memcpy(&sum, &cells.cells[4], sizeof sum);
  CHECK(fabs(sum - 102.05) < 1e-9);

  fm_family *s = family(FM_KIND_SUMMARY, "analytics_generation_duration_seconds", NULL, 0);
  OK(fm_registry_register(reg, s));
  fm_child *sc = NULL;
  OK(fm_family_child(s, NULL, 0, &sc));
  OK(fm_child_observe(sc, 2));
  OK(fm_child_observe(sc, 3));
  OK(fm_child_value(sc, &v, &count));
  CHECK(v == 5 && count == 2);

  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "video_processing_queue_length{service=\"exporter\",queue_type=\"ingest\",priority=\"high\"} 6.5\n") != NULL);
  CHECK(strstr(text, "ml_inference_duration_seconds_bucket{service=\"exporter\",device=\"gpu\",le=\"1\"} 3\n") != NULL);
  CHECK(strstr(text, "ml_inference_duration_seconds_bucket{service=\"exporter\",device=\"gpu\",le=\"+Inf\"} 5\n") != NULL);
  CHECK(strstr(text, "ml_inference_duration_seconds_count{service=\"exporter\",device=\"gpu\"} 5\n") != NULL);
  CHECK(strstr(text, "analytics_generation_duration_seconds_sum{service=\"exporter\"} 5\n") != NULL);
  free(text);

  uint32_t kind = 99;
  OK(fm_family_kind(s, &kind));
  CHECK(kind == FM_KIND_SUMMARY);
  OK(fm_family_clear(g));
  size_t series = 9;
  OK(fm_family_stats(g, &series, NULL));
  CHECK(series == 0);

  fm_child_free(gc);
  fm_child_free(hc);
  fm_child_free(sc);
  fm_family_free(g);
  fm_family_free(h);
  fm_family_free(s);
  fm_registry_free(reg);
}

static void test_bad_input(void) {
  fm_registry *reg = NULL;
  fm_family *f = NULL;
  fm_child *c = NULL;
  fm_opts o;

  /* NULL everywhere. */
  CHECK_RC(fm_registry_new(NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_family_new(NULL, &f), FM_ERR_NULL_ARGUMENT);
  CHECK(strstr(last_error(), "opts is NULL") != NULL);
  CHECK_RC(fm_child_inc(NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_add(NULL, 1), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_set(NULL, 1), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_observe(NULL, 1), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_value(NULL, NULL, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_cells(NULL, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_registry_register(NULL, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_registry_render(NULL, 0, NULL, 0, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_registry_render_buffer(NULL, 0, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_buffer_data(NULL, NULL, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_family_clear(NULL), FM_ERR_NULL_ARGUMENT);
  fm_child_free(NULL);
  fm_family_free(NULL);
  fm_registry_free(NULL);
  fm_buffer_free(NULL);

  /* Names, kinds and options. */
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_COUNTER;
  o.name = S("bad name");
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_NAME);
  o.name = S("ok_total");
  o.kind = 42;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_OUT_OF_RANGE);
  o.kind = FM_KIND_COUNTER;
  fm_str bad_labels[] = {S("le"), S("le")};
  o.label_names = bad_labels;
  o.label_count = 2;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_LABEL);
  fm_str reserved[] = {S("__name")};
  o.label_names = reserved;
  o.label_count = 1;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_LABEL);
  o.label_names = NULL;
  o.label_count = 3; /* NULL array with a length */
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_NULL_ARGUMENT);
  o.label_count = 0;
  double buckets[] = {1, 0.5};
  o.buckets = buckets;
  o.bucket_count = 2;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_OPTION); /* buckets on a counter */
  o.kind = FM_KIND_HISTOGRAM;
  o.name = S("latency_seconds");
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_BUCKETS);
  double nan_bucket[] = {NAN};
  o.buckets = nan_bucket;
  o.bucket_count = 1;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_BUCKETS);
  o.buckets = NULL;
  o.bucket_count = 0;
  o.unit = S("bytes");
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_OPTION);
  CHECK(strstr(last_error(), "unit") != NULL);
  o.unit = S("");
  o.name.ptr = "\xff\xfe";
  o.name.len = 2;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_UTF8);
  CHECK(f == NULL); /* outputs untouched on failure */

  /* Label values: count, NULL, UTF-8. */
  const char *labels[] = {"a", "b"};
  f = family(FM_KIND_COUNTER, "requests_total", labels, 2);
  fm_str one[] = {S("x")};
  CHECK_RC(fm_family_child(f, one, 1, &c), FM_ERR_LABEL_COUNT);
  CHECK(strstr(last_error(), "expected 2") != NULL);
  CHECK_RC(fm_family_child(f, NULL, 2, &c), FM_ERR_NULL_ARGUMENT);
  fm_str invalid[] = {S("x"), {"\xc3\x28", 2}};
  CHECK_RC(fm_family_child(f, invalid, 2, &c), FM_ERR_INVALID_UTF8);
  fm_str null_value[] = {S("x"), {NULL, 5}};
  CHECK_RC(fm_family_child(f, null_value, 2, &c), FM_ERR_NULL_ARGUMENT);
  fm_str empty_ok[] = {S("x"), {NULL, 0}};
  OK(fm_family_child(f, empty_ok, 2, &c));
  CHECK_RC(fm_family_child(f, one, 2, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_family_remove(f, one, 1, NULL), FM_ERR_LABEL_COUNT);
  /* Label values with quotes, backslashes and newlines are escaped, not rejected. */
  fm_str tricky[] = {S("a\"b\\c\nd"), S("é")};
  fm_child *tc = NULL;
  OK(fm_family_child(f, tricky, 2, &tc));
  OK(fm_child_inc(tc));
  OK(fm_registry_new(&reg));
  OK(fm_registry_register(reg, f));
  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "requests_total{a=\"a\\\"b\\\\c\\nd\",b=\"é\"} 1\n") != NULL);
  free(text);

  /* Formats out of range. */
  size_t len;
  CHECK_RC(fm_registry_render(reg, 7, NULL, 0, &len), FM_ERR_OUT_OF_RANGE);
  fm_buffer *b = NULL;
  CHECK_RC(fm_registry_render_buffer(reg, 7, &b), FM_ERR_OUT_OF_RANGE);
  fm_str ct;
  CHECK_RC(fm_format_content_type(9, &ct), FM_ERR_OUT_OF_RANGE);
  OK(fm_format_content_type(FM_FORMAT_OPENMETRICS, &ct));
  CHECK(ct.len > 0 && strncmp(ct.ptr, "application/openmetrics-text", 28) == 0);
  uint32_t fmt = 9;
  OK(fm_format_negotiate(S("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"), &fmt));
  CHECK(fmt == FM_FORMAT_OPENMETRICS);
  OK(fm_format_negotiate(S(""), &fmt));
  CHECK(fmt == FM_FORMAT_TEXT);

  /* Messages: every code has one; the last error can be sized, then read, truncated. */
  for (int code = 0; code <= 15; code++) CHECK(fm_result_message(code) != NULL);
  CHECK(strcmp(fm_result_message(-3), "unknown result code") == 0);
  CHECK_RC(fm_family_child(f, one, 1, &c), FM_ERR_LABEL_COUNT);
  size_t need = 0;
  CHECK_RC(fm_last_error(NULL, 0, &need), FM_ERR_BUFFER_TOO_SMALL);
  CHECK(need > 10);
  char tiny[8];
  CHECK_RC(fm_last_error(tiny, sizeof tiny, NULL), FM_ERR_BUFFER_TOO_SMALL);
  CHECK(strlen(tiny) == 7);
  CHECK(fm_version() != NULL && strlen(fm_version()) > 0);

  fm_child_free(c);
  fm_child_free(tc);
  fm_family_free(f);
  fm_registry_free(reg);
}

static void test_cardinality_overflow(void) {
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_COUNTER;
  o.name = S("uploads_total");
  fm_str ln[] = {S("id")};
  o.label_names = ln;
  o.label_count = 1;
  o.cardinality_limit = 2;
  fm_family *f = NULL;
  OK(fm_family_new(&o, &f));
  const char *ids[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; i++) {
    fm_str v[] = {S(ids[i])};
    fm_child *c = NULL;
    OK(fm_family_child(f, v, 1, &c));
    fm_cells cells;
    OK(fm_child_cells(c, &cells));
    CHECK(cells.overflow == (i >= 2));
    OK(fm_child_inc(c));
    fm_child_free(c);
  }
  size_t series = 0;
  uint64_t overflowed = 0;
  OK(fm_family_stats(f, &series, &overflowed));
  CHECK(series == 3); /* a, b and the overflow series */
  CHECK(overflowed == 2);
  fm_family_free(f);
}

static void test_catalog(void) {
  CHECK(fm_catalog_count() == FM_CATALOG_COUNT);
  fm_catalog_spec spec;
  OK(fm_catalog_get(FM_CATALOG_VIDEO_PROCESSING_BATCHES_TOTAL, &spec));
  CHECK(spec.name.len == strlen(FM_CATALOG_VIDEO_PROCESSING_BATCHES_TOTAL_NAME));
  CHECK(memcmp(spec.name.ptr, FM_CATALOG_VIDEO_PROCESSING_BATCHES_TOTAL_NAME, spec.name.len) == 0);
  CHECK(spec.kind == FM_KIND_COUNTER);
  CHECK(spec.label_count == FM_CATALOG_VIDEO_PROCESSING_BATCHES_TOTAL_LABEL_COUNT);
  CHECK(spec.label_count == 2 && memcmp(spec.label_names[0].ptr, "status", 6) == 0);
  OK(fm_catalog_get(FM_CATALOG_ML_INFERENCE_DURATION_SECONDS, &spec));
  CHECK(spec.kind == FM_KIND_HISTOGRAM && spec.bucket_count > 0 && spec.unit.len == 7);
  CHECK_RC(fm_catalog_get(FM_CATALOG_COUNT, &spec), FM_ERR_OUT_OF_RANGE);
  CHECK_RC(fm_catalog_get((size_t)-1, &spec), FM_ERR_OUT_OF_RANGE);
  CHECK_RC(fm_catalog_get(0, NULL), FM_ERR_NULL_ARGUMENT);

  /* Every catalog metric builds, and resolves its declared number of labels. */
  fm_registry *reg = NULL;
  OK(fm_registry_new(&reg));
  for (size_t i = 0; i < fm_catalog_count(); i++) {
    fm_family *f = NULL;
    OK(fm_catalog_family_new(i, &f));
    OK(fm_registry_register(reg, f));
    OK(fm_catalog_get(i, &spec));
    fm_str values[8];
    for (size_t j = 0; j < spec.label_count; j++) values[j] = S("v");
    fm_child *c = NULL;
    OK(fm_family_child(f, values, spec.label_count, &c));
    fm_child_free(c);
    fm_family_free(f);
  }
  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "# TYPE " FM_CATALOG_HTTP_REQUEST_DURATION_SECONDS_NAME " histogram") != NULL);
  free(text);
  fm_family *f = NULL;
  CHECK_RC(fm_catalog_family_new(FM_CATALOG_COUNT, &f), FM_ERR_OUT_OF_RANGE);
  fm_registry_free(reg);
}

/* Four threads update one child; nothing is lost. */
#define THREADS 4
#define PER_THREAD 100000
static void *hammer(void *arg) {
  const fm_child *c = arg;
  for (int i = 0; i < PER_THREAD; i++) fm_child_inc(c);
  return NULL;
}

static void test_threads(void) {
  fm_family *f = family(FM_KIND_COUNTER, "events_total", NULL, 0);
  fm_child *c = NULL;
  OK(fm_family_child(f, NULL, 0, &c));
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, hammer, c);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  double v = 0;
  OK(fm_child_value(c, &v, NULL));
  CHECK(v == (double)THREADS * PER_THREAD);
  fm_child_free(c);
  fm_family_free(f);
}

/* Counters never wrap around: large amounts read as the incumbents' float counters read them,
 * exactly below 2^53, and no reading is below the one before it, also under threads. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void) { /* xorshift64 */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static double child_value(const fm_child *c) {
  double v = -1;
  OK(fm_child_value(c, &v, NULL));
  return v;
}

/* A random amount, a multiple of 1/1024: whole numbers near 2^32, 2^53, 2^62, 2^63, 2^64,
 * large and small whole numbers, fractions. */
static double random_amount(void) {
  static const double edges[] = {0x1p32, 0x1p53, 0x1p62, 0x1p63, 0x1p64};
  switch (next_rand() % 6) {
  case 0: return 1;
  case 1: return (double)(next_rand() % 10000);
  case 2: return fmax(0, edges[next_rand() % 5] + ((double)(next_rand() % 8193) - 4096));
  case 3: return floor((double)(next_rand() >> 11) * 0x1p-53 * 4 * 0x1p64);
  case 4: return (double)(next_rand() % 1000000) / 1024;
  default: return (double)(next_rand() % 4096);
  }
}

#define WRAP_WRITERS 4
#define WRAP_PER 20000
static volatile int wrap_stop = 0;
static void *wrap_writer(void *arg) {
  const fm_child *c = arg;
  for (int i = 0; i < WRAP_PER; i++) {
    switch (i % 5) {
    case 0: fm_child_inc(c); break;
    case 1: fm_child_add(c, 0x1p31 + i); break;
    case 2: fm_child_add(c, 0.25); break;
    case 3: fm_child_add(c, 0x1p53 + 2); break;
    default: fm_child_add(c, 0x1p64); break;
    }
  }
  return NULL;
}
static void *wrap_reader(void *arg) {
  const fm_child *c = arg;
  double prev = 0;
  long down = 0;
  while (!__atomic_load_n(&wrap_stop, __ATOMIC_RELAXED)) {
    double v = 0;
    fm_child_value(c, &v, NULL);
    if (v < prev) down++;
    prev = v;
  }
  return (void *)down;
}

static void test_counter_no_wrap(void) {
  fm_registry *reg = NULL;
  OK(fm_registry_new(&reg));
  fm_family *f = family(FM_KIND_COUNTER, "big_total", (const char *[]){"k"}, 1);
  OK(fm_registry_register(reg, f));
  fm_str a[] = {S("a")}, b[] = {S("b")}, e[] = {S("c")};
  fm_child *ca = NULL, *cb = NULL, *cc = NULL;
  OK(fm_family_child(f, a, 1, &ca));
  OK(fm_family_child(f, b, 1, &cb));
  OK(fm_family_child(f, e, 1, &cc));

  /* The cases. */
  OK(fm_child_add(ca, 1e19));
  OK(fm_child_add(ca, 1e19));
  CHECK(child_value(ca) == 2e19);
  OK(fm_child_add(cb, 0x1p64));
  OK(fm_child_inc(cb));
  CHECK(child_value(cb) == 1.8446744073709552e19);
  OK(fm_child_add(cc, 0x1p53));
  OK(fm_child_inc(cc));
  OK(fm_child_add(cc, 1));
  CHECK(child_value(cc) == 0x1p53 + 2); /* exact below 2^53 + 3 */
  /* Rendered as client_golang renders the float (Go's %g). */
  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "big_total{k=\"a\"} 2e+19\n") != NULL);
  CHECK(strstr(text, "big_total{k=\"b\"} 1.8446744073709552e+19\n") != NULL);
  free(text);
  char *om = render(reg, FM_FORMAT_OPENMETRICS);
  CHECK(strstr(om, "big_total{k=\"a\"} 2e+19\n") != NULL);
  free(om);

  /* Extreme amounts: no UB, and the value only grows. */
  double before = child_value(ca);
  OK(fm_child_add(ca, 0x1p-1074));
  OK(fm_child_add(ca, -0.0));
  CHECK(child_value(ca) == before);
  OK(fm_child_add(ca, 1.7976931348623157e308));
  OK(fm_child_add(ca, 1.7976931348623157e308));
  CHECK(child_value(ca) == INFINITY);
  OK(fm_child_inc(ca));
  CHECK(child_value(ca) == INFINITY);
  fm_child_free(ca);
  fm_child_free(cb);
  fm_child_free(cc);

  /* Once every integer word reads 2^62, whole amounts go to the float words: the integer words
   * stop growing, so they cannot wrap (the rule fm_cells documents for foreign writers). */
  fm_child *full = NULL;
  fm_str d[] = {S("d")};
  OK(fm_family_child(f, d, 1, &full));
  fm_cells cells;
  OK(fm_child_cells(full, &cells));
  CHECK(cells.kind == FM_KIND_COUNTER && cells.shard_stride % 8 == 0);
  for (size_t i = 0; i < cells.shard_count; i++)
    __atomic_store_n(cells.cells + i * cells.shard_stride / 8, (uint64_t)1 << 62, __ATOMIC_RELAXED);
  double start = child_value(full);
  for (int i = 0; i < 1000; i++) {
    OK(fm_child_add(full, 0x1p31));
    OK(fm_child_add(full, 3));
  }
  for (size_t i = 0; i < cells.shard_count; i++)
    CHECK(__atomic_load_n(cells.cells + i * cells.shard_stride / 8, __ATOMIC_RELAXED) == (uint64_t)1 << 62);
  CHECK(child_value(full) == start + 1000 * (0x1p31 + 3));
  fm_child_free(full);

  /* Random sequences around the edges: never down; equal to the exact sum (in 1/1024ths) while
   * whole amounts stay below 2^53, within float rounding beyond. */
  for (int run = 0; run < 300; run++) {
    fm_family *rf = family(FM_KIND_COUNTER, "edge_total", NULL, 0);
    fm_child *c = NULL;
    OK(fm_family_child(rf, NULL, 0, &c));
    unsigned __int128 exact = 0;
    int all_whole = 1;
    double prev = 0;
    int n = 1 + (int)(next_rand() % 40);
    for (int i = 0; i < n; i++) {
      double v = random_amount();
      if (v == 1 && next_rand() % 2) OK(fm_child_inc(c));
      else OK(fm_child_add(c, v));
      exact += (unsigned __int128)(v * 1024);
      all_whole = all_whole && v == floor(v);
      double got = child_value(c);
      CHECK(got >= prev);
      prev = got;
      double want = (double)exact / 1024;
      if (all_whole && exact < ((unsigned __int128)1 << 63)) CHECK(got == want);
      else CHECK(fabs(got - want) <= want * (i + 5) * 0x1p-52);
    }
    fm_child_free(c);
    fm_family_free(rf);
  }

  /* Threads add amounts of every size while two read: no reading goes down. */
  fm_child *tc = NULL;
  fm_str t[] = {S("t")};
  OK(fm_family_child(f, t, 1, &tc));
  pthread_t w[WRAP_WRITERS], r[2];
  wrap_stop = 0;
  for (int i = 0; i < 2; i++) pthread_create(&r[i], NULL, wrap_reader, tc);
  for (int i = 0; i < WRAP_WRITERS; i++) pthread_create(&w[i], NULL, wrap_writer, tc);
  for (int i = 0; i < WRAP_WRITERS; i++) pthread_join(w[i], NULL);
  __atomic_store_n(&wrap_stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 2; i++) {
    void *down = NULL;
    pthread_join(r[i], &down);
    CHECK(down == NULL);
  }
  double each = WRAP_WRITERS * WRAP_PER / 5;
  double want = each * (1 + 0x1p31 + 0.25 + 0x1p53 + 2 + 0x1p64);
  CHECK(fabs(child_value(tc) - want) <= want * 1e-9);
  fm_child_free(tc);
  fm_family_free(f);
  fm_registry_free(reg);
}

/* OTLP export: bad options are typed errors; an absent collector is not an error, only a failed
 * (and counted) export. The exporter's own threads run under the sanitizers too. */
static void test_otlp(void) {
  fm_registry *r = NULL;
  OK(fm_registry_new(&r));
  fm_otlp_options o;
  memset(&o, 0, sizeof o);
  o.endpoint = S("http://127.0.0.1:1");
  o.timeout_seconds = 0.2;
  fm_otlp_exporter *e = NULL;
  CHECK_RC(fm_otlp_exporter_start(NULL, &o, &e), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_otlp_exporter_start(r, NULL, &e), FM_ERR_NULL_ARGUMENT);
  o.protocol = 7;
  CHECK_RC(fm_otlp_exporter_start(r, &o, &e), FM_ERR_OUT_OF_RANGE);
  o.protocol = FM_OTLP_GRPC;
  o.interval_seconds = NAN;
  CHECK_RC(fm_otlp_exporter_start(r, &o, &e), FM_ERR_OUT_OF_RANGE);
  o.interval_seconds = 0;
  /* https:// with a client certificate but no key (fields appended at the struct's end). */
  o.endpoint = S("https://collector:4317");
  o.tls_client_cert_file = S("client.pem");
  CHECK_RC(fm_otlp_exporter_start(r, &o, &e), FM_ERR_INVALID_OPTION);
  char msg[256];
  fm_last_error(msg, sizeof msg, NULL);
  CHECK(strstr(msg, "client certificate") != NULL);
  /* A CA file that does not exist: gRPC reads it at start. */
  o.tls_client_cert_file = S("");
  o.tls_ca_file = S("/nonexistent/ca.pem");
  CHECK_RC(fm_otlp_exporter_start(r, &o, &e), FM_ERR_INVALID_OPTION);
  fm_last_error(msg, sizeof msg, NULL);
  CHECK(strstr(msg, "/nonexistent/ca.pem") != NULL);
  o.tls_ca_file = S("");
  o.endpoint = S("http://127.0.0.1:1");
  o.header_count = 1; /* names and values NULL with a count */
  CHECK_RC(fm_otlp_exporter_start(r, &o, &e), FM_ERR_NULL_ARGUMENT);
  o.header_count = 0;
  CHECK(e == NULL);

  o.service_name = S("c-test");
  OK(fm_otlp_exporter_start(r, &o, &e));
  uint8_t delivered = 1;
  OK(fm_otlp_exporter_force_flush(e, 0.3, &delivered));
  CHECK(delivered == 0);
  CHECK_RC(fm_otlp_exporter_force_flush(e, -1, &delivered), FM_ERR_OUT_OF_RANGE);
  fm_otlp_stats st;
  OK(fm_otlp_exporter_stats(e, &st));
  CHECK(st.exported_points == 0 && st.failed_requests >= 1);
  size_t len = 0;
  char small[4];
  CHECK_RC(fm_otlp_exporter_last_error(e, small, sizeof small, &len), FM_ERR_BUFFER_TOO_SMALL);
  CHECK(len > 3 && strlen(small) == 3);
  OK(fm_otlp_exporter_shutdown(e, 0.2, &delivered));
  CHECK(delivered == 0);
  /* A second exporter on the registry after shutdown is fine (self-metrics released). */
  fm_otlp_exporter *e2 = NULL;
  OK(fm_otlp_exporter_start(r, &o, &e2));
  fm_otlp_exporter *e3 = NULL;
  CHECK_RC(fm_otlp_exporter_start(r, &o, &e3), FM_ERR_ALREADY_REGISTERED);
  fm_otlp_exporter_free(e2);
  fm_otlp_exporter_free(e);
  fm_otlp_exporter_free(NULL);
  fm_registry_free(r);
}

/* The UTF-8 name rule is process-wide and off by default; it lets families take names
   outside the legacy character sets, and switching it off again refuses them. */
static void test_utf8_names(void) {
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_GAUGE;
  o.name = S("temp.celsius");
  fm_family *f = NULL;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_NAME);
  CHECK(f == NULL);
  OK(fm_set_utf8_names(1));
  fm_str ln[] = {S("room name")};
  o.label_names = ln;
  o.label_count = 1;
  OK(fm_family_new(&o, &f));
  fm_family_free(f);
  f = NULL;
  o.name = S("");
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_NAME);
  OK(fm_set_utf8_names(0));
  o.name = S("temp.celsius");
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_NAME);
}

/* A summary family with quantile objectives (client_golang's semantics). */
static fm_family *summary_with_objectives(const char *name, const double *qs, const double *errs,
                                          size_t n, uint32_t buf_cap) {
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_SUMMARY;
  o.name = S(name);
  o.help = S("help text");
  o.objective_quantiles = qs;
  o.objective_errors = errs;
  o.objective_count = n;
  o.buf_cap = buf_cap;
  fm_family *f = NULL;
  OK(fm_family_new(&o, &f));
  return f;
}

static void test_summary_quantiles(void) {
  /* Given out of order: read back sorted. */
  const double qs[] = {0.99, 0.5, 0.9};
  const double errs[] = {0.001, 0.05, 0.01};
  fm_registry *reg = NULL;
  OK(fm_registry_new(&reg));
  fm_family *f = summary_with_objectives("rpc_duration_seconds", qs, errs, 3, 0);
  OK(fm_registry_register(reg, f));
  fm_child *c = NULL;
  OK(fm_family_child(f, NULL, 0, &c));

  double q[3] = {0}, v[3] = {0};
  size_t n = 0;
  OK(fm_summary_quantiles(c, q, v, 3, &n));
  CHECK(n == 3 && q[0] == 0.5 && q[1] == 0.9 && q[2] == 0.99);
  CHECK(isnan(v[0]) && isnan(v[1]) && isnan(v[2])); /* empty window */

  /* fm_child_observe: count, sum and the window. */
  OK(fm_child_observe(c, 10));
  OK(fm_child_observe(c, 20));
  OK(fm_summary_quantiles(c, q, v, 3, &n));
  CHECK(v[0] == 10 && v[1] == 20 && v[2] == 20);
  double sum = 0;
  uint64_t count = 0;
  OK(fm_child_value(c, &sum, &count));
  CHECK(count == 2 && sum == 30);
  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "rpc_duration_seconds{quantile=\"0.5\"} 10\n"
                     "rpc_duration_seconds{quantile=\"0.9\"} 20\n"
                     "rpc_duration_seconds{quantile=\"0.99\"} 20\n"
                     "rpc_duration_seconds_count 2\n") != NULL);
  free(text);

  /* The estimator-only batch: count and sum unchanged. 1..1000 in one call. */
  double batch[1000];
  for (int i = 0; i < 1000; i++) batch[i] = i + 1;
  OK(fm_summary_observe_many(c, batch, 1000));
  OK(fm_child_value(c, &sum, &count));
  CHECK(count == 2 && sum == 30);
  OK(fm_summary_quantiles(c, q, v, 3, &n));
  CHECK(fabs(v[0] - 500) <= 0.05 * 1002 + 1);
  CHECK(fabs(v[1] - 900) <= 0.01 * 1002 + 1);
  CHECK(fabs(v[2] - 990) <= 0.001 * 1002 + 1);
  OK(fm_summary_observe_many(c, NULL, 0)); /* an empty batch is fine */
  OK(fm_summary_observe_one(c, 1e9));
  OK(fm_summary_quantiles(c, q, v, 3, &n));
  CHECK(v[2] >= 980 && v[2] <= 1e9);
  OK(fm_child_value(c, &sum, &count));
  CHECK(count == 2 && sum == 30);
  CHECK_RC(fm_summary_observe_one(NULL, 1), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_summary_observe_one(c, NAN), FM_ERR_INVALID_VALUE);

  /* Error paths. */
  CHECK_RC(fm_summary_observe_many(NULL, batch, 1), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_summary_observe_many(c, NULL, 2), FM_ERR_NULL_ARGUMENT);
  double with_nan[] = {1, NAN};
  CHECK_RC(fm_summary_observe_many(c, with_nan, 2), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_summary_quantiles(NULL, q, v, 3, &n), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_summary_quantiles(c, q, v, 3, NULL), FM_ERR_NULL_ARGUMENT);
  n = 0;
  CHECK_RC(fm_summary_quantiles(c, q, v, 2, &n), FM_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 3);
  n = 0;
  CHECK_RC(fm_summary_quantiles(c, NULL, NULL, 0, &n), FM_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 3);
  CHECK_RC(fm_summary_quantiles(c, q, NULL, 3, &n), FM_ERR_BUFFER_TOO_SMALL);

  /* A summary without objectives: no quantiles to read, and no window to feed. */
  fm_family *plain = family(FM_KIND_SUMMARY, "plain_seconds", NULL, 0);
  fm_child *pc = NULL;
  OK(fm_family_child(plain, NULL, 0, &pc));
  n = 9;
  OK(fm_summary_quantiles(pc, NULL, NULL, 0, &n));
  CHECK(n == 0);
  CHECK_RC(fm_summary_observe_many(pc, batch, 1), FM_ERR_WRONG_KIND);
  CHECK(strstr(last_error(), "objectives") != NULL);
  /* Another kind. */
  fm_family *g = family(FM_KIND_GAUGE, "some_gauge", NULL, 0);
  fm_child *gc = NULL;
  OK(fm_family_child(g, NULL, 0, &gc));
  CHECK_RC(fm_summary_observe_many(gc, batch, 1), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_summary_observe_one(gc, 1), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_summary_observe_one(pc, 1), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_summary_quantiles(gc, q, v, 3, &n), FM_ERR_WRONG_KIND);

  /* Bad objectives and options. */
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_SUMMARY;
  o.name = S("bad_summary");
  fm_family *bad = NULL;
  const double one[] = {1.0}, zero[] = {0.0}, half[] = {0.5}, halves[] = {0.5, 0.5};
  const double small[] = {0.01, 0.01}, too_big[] = {1.0}, negative[] = {-0.1}, nan[] = {NAN};
  const double *bad_qs[] = {one, zero, nan, half, half, half, halves};
  const double *bad_errs[] = {small, small, small, too_big, negative, nan, small};
  size_t bad_n[] = {1, 1, 1, 1, 1, 1, 2};
  for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++) {
    o.objective_quantiles = bad_qs[i];
    o.objective_errors = bad_errs[i];
    o.objective_count = bad_n[i];
    CHECK_RC(fm_family_new(&o, &bad), FM_ERR_INVALID_OPTION);
    CHECK(bad == NULL);
  }
  o.objective_quantiles = half;
  o.objective_errors = NULL;
  o.objective_count = 1;
  CHECK_RC(fm_family_new(&o, &bad), FM_ERR_NULL_ARGUMENT);
  o.objective_errors = small;
  o.max_age_ns = 3; /* shorter than 5 age buckets of one nanosecond */
  CHECK_RC(fm_family_new(&o, &bad), FM_ERR_INVALID_OPTION);
  o.max_age_ns = 0;
  o.kind = FM_KIND_HISTOGRAM;
  CHECK_RC(fm_family_new(&o, &bad), FM_ERR_INVALID_OPTION);
  CHECK(strstr(last_error(), "only for summaries") != NULL);
  CHECK(bad == NULL);

  /* A small window: 100 ms in 2 streams; old observations leave the head. */
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_SUMMARY;
  o.name = S("windowed_seconds");
  o.objective_quantiles = half;
  o.objective_errors = small;
  o.objective_count = 1;
  o.max_age_ns = 100000000;
  o.age_buckets = 2;
  o.buf_cap = 4;
  fm_family *w = NULL;
  OK(fm_family_new(&o, &w));
  fm_child *wc = NULL;
  OK(fm_family_child(w, NULL, 0, &wc));
  OK(fm_child_observe(wc, 7));
  OK(fm_summary_quantiles(wc, q, v, 1, &n));
  CHECK(n == 1 && v[0] == 7);
  struct timespec ts = {0, 160000000};
  nanosleep(&ts, NULL);
  OK(fm_summary_quantiles(wc, q, v, 1, &n));
  CHECK(isnan(v[0]));

  fm_child_free(c);
  fm_child_free(pc);
  fm_child_free(gc);
  fm_child_free(wc);
  fm_family_free(f);
  fm_family_free(plain);
  fm_family_free(g);
  fm_family_free(w);
  fm_registry_free(reg);
}

/* exact_name: a counter named without _total keeps its name (as client_golang writes it);
 * fm_child_add_with_exemplar adds and shows the exemplar in OpenMetrics. */
static void test_exact_name_and_counter_exemplar(void) {
  fm_registry *reg = NULL;
  OK(fm_registry_new(&reg));
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_COUNTER;
  o.name = S("requests");
  o.help = S("help text");
  o.exact_name = 1;
  fm_family *f = NULL;
  OK(fm_family_new(&o, &f));
  OK(fm_registry_register(reg, f));
  fm_child *c = NULL;
  OK(fm_family_child(f, NULL, 0, &c));
  OK(fm_child_add(c, 2));
  fm_str en[] = {S("trace_id")};
  fm_str ev[] = {S("abc")};
  fm_str bad[] = {S("bad-name")};
  CHECK_RC(fm_child_add_with_exemplar(c, 1, bad, ev, 1), FM_ERR_INVALID_LABEL);
  CHECK_RC(fm_child_add_with_exemplar(c, -1, en, ev, 1), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_child_add_with_exemplar(NULL, 1, en, ev, 1), FM_ERR_NULL_ARGUMENT);
  OK(fm_child_add_with_exemplar(c, 3, en, ev, 1));
  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "# TYPE requests counter\nrequests 5\n") != NULL);
  free(text);
  char *om = render(reg, FM_FORMAT_OPENMETRICS);
  CHECK(strstr(om, "# TYPE requests unknown\nrequests 5 # {trace_id=\"abc\"} 3 ") != NULL);
  free(om);
  fm_family *g = family(FM_KIND_GAUGE, "g", NULL, 0);
  fm_child *gc = NULL;
  OK(fm_family_child(g, NULL, 0, &gc));
  CHECK_RC(fm_child_add_with_exemplar(gc, 1, en, ev, 1), FM_ERR_WRONG_KIND);
  fm_child_free(gc);
  fm_family_free(g);
  fm_child_free(c);
  fm_family_free(f);
  fm_registry_free(reg);
}

/* The native bucket key of v > 0 at schema 0 (factor 2), by Prometheus' definition: bucket k
 * holds (2^(k-1), 2^k]. */
static int key_schema0(double v) {
  int exp;
  double frac = frexp(v, &exp);
  return frac == 0.5 ? exp - 1 : exp;
}

/* Expands spans and deltas back into absolute counts per key, into counts[key + 64]. */
static void expand(const fm_native_span *spans, size_t ns, const int64_t *deltas, size_t nd,
                   uint64_t *counts) {
  int key = 0;
  int64_t c = 0;
  size_t d = 0;
  for (size_t i = 0; i < ns; i++) {
    key += spans[i].offset;
    for (uint32_t j = 0; j < spans[i].length; j++, key++) {
      CHECK(d < nd);
      if (d >= nd) return;
      c += deltas[d++];
      CHECK(key >= -64 && key < 64);
      if (key >= -64 && key < 64) counts[key + 64] += (uint64_t)c;
    }
  }
  CHECK(d == nd);
}

static fm_family *native_family(const char *name, double factor, const double *buckets, size_t n) {
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_HISTOGRAM;
  o.name = S(name);
  o.help = S("native");
  o.native_bucket_factor = factor;
  o.buckets = buckets;
  o.bucket_count = n;
  fm_family *f = NULL;
  OK(fm_family_new(&o, &f));
  return f;
}

static void test_native_histogram(void) {
  fm_family *f = native_family("native_seconds", 2.0, NULL, 0);
  fm_child *c = NULL;
  OK(fm_family_child(f, NULL, 0, &c));
  fm_cells cells;
  OK(fm_child_cells(c, &cells));
  CHECK(cells.native == 1);
  CHECK(cells.cells == NULL); /* nothing for a binding to write */
  CHECK(cells.bucket_count == 0);

  /* Values on and between the boundaries, both signs, zero. */
  const double values[] = {1, 2, 3, 4, 4, 0, -3, -0.5, 1000, 0.25, 0.3, 1024, 1e-300, 7};
  const size_t nv = sizeof values / sizeof values[0];
  uint64_t want_pos[128] = {0}, want_neg[128] = {0};
  uint64_t want_zero = 0;
  double want_sum = 0;
  for (size_t i = 0; i < nv; i++) {
    OK(fm_child_observe(c, values[i]));
    want_sum += values[i];
    double a = fabs(values[i]);
    if (a <= 2.938735877055719e-39) want_zero++; /* the default threshold, 2^-128 */
    else if (values[i] > 0) want_pos[key_schema0(a) + 64]++;
    else want_neg[key_schema0(a) + 64]++;
  }
  CHECK_RC(fm_child_observe(c, NAN), FM_ERR_INVALID_VALUE);

  fm_histogram_reading *r = NULL;
  OK(fm_child_histogram_read(c, &r));
  fm_histogram_data d;
  OK(fm_histogram_reading_data(r, &d));
  CHECK(d.native == 1);
  CHECK(d.schema == 0);
  CHECK(d.count == nv);
  CHECK(d.sum == want_sum);
  CHECK(d.zero_threshold == 2.938735877055719e-39);
  CHECK(d.zero_count == want_zero);
  CHECK(d.cumulative_count == 1 && d.cumulative[0] == nv); /* only +Inf */
  uint64_t pos[128] = {0}, neg[128] = {0};
  expand(d.positive_spans, d.positive_span_count, d.positive_deltas, d.positive_delta_count, pos);
  expand(d.negative_spans, d.negative_span_count, d.negative_deltas, d.negative_delta_count, neg);
  CHECK(memcmp(pos, want_pos, sizeof pos) == 0);
  CHECK(memcmp(neg, want_neg, sizeof neg) == 0);
  fm_histogram_reading_free(r);
  fm_histogram_reading_free(NULL);

  /* Protobuf through both render functions: binary, carried by its length. */
  fm_registry *reg = NULL;
  OK(fm_registry_new(&reg));
  OK(fm_registry_register(reg, f));
  size_t need = 0, len = 0;
  CHECK_RC(fm_registry_render(reg, FM_FORMAT_PROTOBUF, NULL, 0, &need), FM_ERR_BUFFER_TOO_SMALL);
  uint8_t *pb = malloc(need);
  OK(fm_registry_render(reg, FM_FORMAT_PROTOBUF, pb, need, &len));
  CHECK(len == need && len > 0);
  /* One delimited MetricFamily: a varint length, then exactly that many bytes. */
  size_t body = 0, shift = 0, i = 0;
  while (i < len && (pb[i] & 0x80)) body |= (size_t)(pb[i++] & 0x7f) << shift, shift += 7;
  body |= (size_t)pb[i++] << shift;
  CHECK(i + body == len);
  CHECK(memchr(pb, 0, len) != NULL); /* binary: a strlen would cut it short */
  CHECK(memmem(pb, len, "native_seconds", 14) != NULL);
  fm_buffer *b = NULL;
  OK(fm_registry_render_buffer(reg, FM_FORMAT_PROTOBUF, &b));
  const uint8_t *data = NULL;
  size_t blen = 0;
  OK(fm_buffer_data(b, &data, &blen));
  CHECK(blen == len && memcmp(data, pb, len) == 0);
  fm_buffer_free(b);
  free(pb);
  uint32_t fmt = 99;
  OK(fm_format_negotiate(S("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                           "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3"),
                         &fmt));
  CHECK(fmt == FM_FORMAT_PROTOBUF);
  fm_str ct;
  OK(fm_format_content_type(FM_FORMAT_PROTOBUF, &ct));
  CHECK(ct.len > 0 && memmem(ct.ptr, ct.len, "encoding=delimited", 18) != NULL);
  /* The text format keeps the classic view: just +Inf. */
  char *text = render(reg, FM_FORMAT_TEXT);
  CHECK(strstr(text, "native_seconds_bucket{le=\"+Inf\"} 14\n") != NULL);
  CHECK(strstr(text, "le=\"1\"") == NULL);
  free(text);
  fm_registry_free(reg);
  /* A registry's constant labels are in the protobuf too. */
  fm_str rn[1] = {S("region")}, rv[1] = {S("eu-west")};
  OK(fm_registry_new_with_labels(rn, rv, 1, &reg));
  OK(fm_registry_register(reg, f));
  OK(fm_registry_render_buffer(reg, FM_FORMAT_PROTOBUF, &b));
  OK(fm_buffer_data(b, &data, &blen));
  CHECK(memmem(data, blen, "region", 6) != NULL && memmem(data, blen, "eu-west", 7) != NULL);
  CHECK(blen > len); /* the same family, with a label more */
  fm_buffer_free(b);
  fm_registry_free(reg);
  fm_child_free(c);
  fm_family_free(f);

  /* With classic buckets too: both from one reading. */
  const double bounds[] = {1, 10};
  f = native_family("both_seconds", 1.1, bounds, 2);
  OK(fm_family_child(f, NULL, 0, &c));
  OK(fm_child_observe(c, 0.5));
  OK(fm_child_observe(c, 5));
  OK(fm_child_observe(c, 50));
  OK(fm_child_histogram_read(c, &r));
  OK(fm_histogram_reading_data(r, &d));
  CHECK(d.native == 1 && d.schema == 3 && d.count == 3);
  CHECK(d.cumulative_count == 3);
  CHECK(d.cumulative[0] == 1 && d.cumulative[1] == 2 && d.cumulative[2] == 3);
  CHECK(d.positive_delta_count >= 3);
  fm_histogram_reading_free(r);
  fm_child_free(c);
  fm_family_free(f);

  /* A classic histogram reads through the same function, without native buckets. */
  f = family(FM_KIND_HISTOGRAM, "classic_seconds", NULL, 0);
  OK(fm_family_child(f, NULL, 0, &c));
  OK(fm_child_cells(c, &cells));
  CHECK(cells.native == 0 && cells.cells != NULL);
  OK(fm_child_observe(c, 0.3));
  OK(fm_child_histogram_read(c, &r));
  OK(fm_histogram_reading_data(r, &d));
  CHECK(d.native == 0 && d.count == 1 && d.sum == 0.3 && d.positive_span_count == 0);
  fm_histogram_reading_free(r);
  fm_child_free(c);
  fm_family_free(f);

  /* Zero threshold sentinels (client_golang's): negative is a threshold of 0. */
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_HISTOGRAM;
  o.name = S("zt_seconds");
  o.help = S("h");
  o.native_bucket_factor = 1.1;
  o.native_zero_threshold = -1;
  OK(fm_family_new(&o, &f));
  OK(fm_family_child(f, NULL, 0, &c));
  OK(fm_child_observe(c, 1e-300));
  OK(fm_child_histogram_read(c, &r));
  OK(fm_histogram_reading_data(r, &d));
  CHECK(d.zero_threshold == 0 && d.zero_count == 0 && d.positive_delta_count == 1);
  fm_histogram_reading_free(r);
  fm_child_free(c);
  fm_family_free(f);

  /* Bad options: a typed code and a message naming the option; nothing is created. */
  const double bad_factors[] = {0.5, 1.0, -2.0, NAN, INFINITY};
  for (size_t k = 0; k < sizeof bad_factors / sizeof bad_factors[0]; k++) {
    o.native_zero_threshold = 0;
    o.native_bucket_factor = bad_factors[k];
    f = NULL;
    CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_OPTION);
    CHECK(f == NULL);
    CHECK(strstr(last_error(), "bucket factor") != NULL);
  }
  o.native_bucket_factor = 1.1;
  o.native_zero_threshold = NAN;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_OPTION);
  CHECK(strstr(last_error(), "zero threshold") != NULL);
  o.native_zero_threshold = 0;
  o.native_max_zero_threshold = -1;
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_OPTION);
  CHECK(strstr(last_error(), "zero threshold") != NULL);
  o.native_max_zero_threshold = 0;
  o.kind = FM_KIND_COUNTER;
  o.name = S("zt_total");
  CHECK_RC(fm_family_new(&o, &f), FM_ERR_INVALID_OPTION);
  CHECK(strstr(last_error(), "only for histograms") != NULL);
  /* Reading a counter as a histogram is the wrong kind. */
  f = family(FM_KIND_COUNTER, "reads_total", NULL, 0);
  OK(fm_family_child(f, NULL, 0, &c));
  CHECK_RC(fm_child_histogram_read(c, &r), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_child_histogram_read(NULL, &r), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_histogram_read(c, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_histogram_reading_data(NULL, &d), FM_ERR_NULL_ARGUMENT);
  fm_child_free(c);
  fm_family_free(f);
}

/* The native observe protocol of fm_native_view, followed in C as a binding does (the Go
 * package follows it in Go). */
static void raw_observe(fm_child *c, double v) {
  if (v != v) return;
  fm_native_view view;
  OK(fm_child_native_view(c, &view));
  /* 1. Start; the value before the add names the buffer. */
  uint64_t n = __atomic_fetch_add(view.hot_and_started, 1, __ATOMIC_ACQ_REL);
  const fm_native_buffer *b = &view.buffers[n >> 63];
  const fm_native_layout l = *b->layout;
  int zero = !(v > l.zero_threshold || v < -l.zero_threshold);
  int32_t key = 0;
  uint32_t i = 0, len = 0;
  uint64_t *counts = NULL, *present = NULL;
  if (!zero) {
    /* 3. The key: the tables for a positive schema, else the core's function. */
    if (l.schema > 0) {
      double a = isinf(v) ? 1.7976931348623157e308 : fabs(v);
      uint64_t bits;
      memcpy(&bits, &a, 8);
      int32_t exp = (int32_t)((bits >> 52) & 0x7ff) - 1022;
      uint64_t mantissa = bits & ((UINT64_C(1) << 52) - 1);
      uint64_t fb = mantissa | (UINT64_C(1022) << 52);
      double frac;
      memcpy(&frac, &fb, 8);
      int32_t nb = 1 << l.schema;
      int32_t r = l.below[mantissa >> (51 - l.schema)];
      if (r < nb && l.bounds[r] < frac) r++;
      key = r + (exp - 1) * nb + (isinf(v) ? 1 : 0);
      int32_t core;
      OK(fm_native_bucket_key(v, l.schema, &core));
      CHECK(key == core);
    } else {
      OK(fm_native_bucket_key(v, l.schema, &key));
    }
    int32_t base = v > 0 ? l.pos_base : l.neg_base;
    len = v > 0 ? l.pos_len : l.neg_len;
    counts = v > 0 ? l.pos_counts : l.neg_counts;
    present = v > 0 ? l.pos_present : l.neg_present;
    i = (uint32_t)(key - base);
    if (i >= len) {
      __atomic_fetch_add(b->skipped, 1, __ATOMIC_RELEASE);
      OK(fm_child_native_observe_skipped(c, v));
      return;
    }
  }
  /* 2./4. Sum by CAS, the classic bucket. */
  uint64_t old = __atomic_load_n(b->sum, __ATOMIC_RELAXED), next;
  do {
    double s;
    memcpy(&s, &old, 8);
    s += v;
    memcpy(&next, &s, 8);
  } while (!__atomic_compare_exchange_n(b->sum, &old, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  if (b->classic != NULL) {
    const double bounds[] = {0.01, 0.1, 1.0};
    size_t k = 0;
    while (k < 3 && !(v <= bounds[k])) k++;
    CHECK(b->classic_len == 4);
    __atomic_fetch_add(&b->classic[k], 1, __ATOMIC_RELAXED);
  }
  if (zero) {
    __atomic_fetch_add(b->zero, 1, __ATOMIC_RELEASE);
    return;
  }
  uint64_t m = UINT64_C(1) << (i % 64);
  int created = (__atomic_load_n(&present[i / 64], __ATOMIC_RELAXED) & m) == 0 &&
                (__atomic_fetch_or(&present[i / 64], m, __ATOMIC_RELAXED) & m) == 0;
  uint32_t p = created ? __atomic_add_fetch(b->populated, 1, __ATOMIC_RELAXED) : 0;
  __atomic_fetch_add(&counts[i], 1, __ATOMIC_RELEASE);
  /* 5. The bucket limit. */
  if (created && view.max_buckets > 0 &&
      p + __atomic_load_n(view.spilled, __ATOMIC_RELAXED) > view.max_buckets) {
    OK(fm_child_native_bucket_created(c, p, v));
  }
}

/* Whether two children read the same: count, sum, classic and native buckets. */
static int same_reading(fm_child *a, fm_child *b) {
  fm_histogram_reading *ra = NULL, *rb = NULL;
  fm_histogram_data x, y;
  OK(fm_child_histogram_read(a, &ra));
  OK(fm_child_histogram_read(b, &rb));
  OK(fm_histogram_reading_data(ra, &x));
  OK(fm_histogram_reading_data(rb, &y));
  int same = x.count == y.count && x.sum == y.sum && x.schema == y.schema &&
             x.zero_threshold == y.zero_threshold && x.zero_count == y.zero_count &&
             x.cumulative_count == y.cumulative_count &&
             memcmp(x.cumulative, y.cumulative, x.cumulative_count * 8) == 0 &&
             x.positive_span_count == y.positive_span_count &&
             x.positive_delta_count == y.positive_delta_count &&
             x.negative_span_count == y.negative_span_count &&
             x.negative_delta_count == y.negative_delta_count;
  if (same) {
    same = (x.positive_span_count == 0 ||
            memcmp(x.positive_spans, y.positive_spans, x.positive_span_count * sizeof *x.positive_spans) == 0) &&
           (x.positive_delta_count == 0 ||
            memcmp(x.positive_deltas, y.positive_deltas, x.positive_delta_count * 8) == 0) &&
           (x.negative_span_count == 0 ||
            memcmp(x.negative_spans, y.negative_spans, x.negative_span_count * sizeof *x.negative_spans) == 0) &&
           (x.negative_delta_count == 0 ||
            memcmp(x.negative_deltas, y.negative_deltas, x.negative_delta_count * 8) == 0);
  }
  if (!same)
    fprintf(stderr, "readings differ: count %llu/%llu schema %d/%d zero %llu/%llu spans %zu/%zu\n",
            (unsigned long long)x.count, (unsigned long long)y.count, x.schema, y.schema,
            (unsigned long long)x.zero_count, (unsigned long long)y.zero_count,
            x.positive_span_count, y.positive_span_count);
  fm_histogram_reading_free(ra);
  fm_histogram_reading_free(rb);
  return same;
}

static void test_native_raw_protocol(void) {
  const double bounds[] = {0.01, 0.1, 1.0};
  /* factor, max buckets, zero threshold (client_golang's sentinels: 0 default, < 0 zero),
   * classic bounds or not. */
  const struct {
    double factor;
    uint32_t max_buckets;
    double zero_threshold;
    int classic;
  } cases[] = {{1.1, 0, 0, 1}, {1.0001, 30, 0, 1}, {4, 0, 0.001, 1}, {2, 8, -1, 0}, {1.01, 0, 0, 0}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    fm_opts o;
    memset(&o, 0, sizeof o);
    o.kind = FM_KIND_HISTOGRAM;
    o.name = S("raw_seconds");
    o.help = S("raw");
    o.native_bucket_factor = cases[k].factor;
    o.native_max_buckets = cases[k].max_buckets;
    o.native_zero_threshold = cases[k].zero_threshold;
    if (cases[k].classic) {
      o.buckets = bounds;
      o.bucket_count = 3;
    }
    fm_family *fa = NULL, *fb = NULL;
    OK(fm_family_new(&o, &fa));
    OK(fm_family_new(&o, &fb));
    fm_child *a = NULL, *b = NULL;
    OK(fm_family_child(fa, NULL, 0, &a));
    OK(fm_family_child(fb, NULL, 0, &b));
    fm_native_view view;
    OK(fm_child_native_view(b, &view));
    CHECK(view.max_buckets == cases[k].max_buckets);
    CHECK((view.buffers[0].classic != NULL) == cases[k].classic);
    CHECK(view.buffers[0].layout != view.buffers[1].layout);
    int schema = view.buffers[0].layout->schema;
    CHECK((view.buffers[0].layout->bounds != NULL) == (schema > 0));
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    for (int i = 0; i < 20000; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      double v;
      switch (i % 8) {
        case 0: v = 0; break;
        case 1: v = -(double)(x % 1000) / 7.0; break;
        case 2: v = (k % 2) ? INFINITY : -INFINITY; break; /* one sign: the sum stays a number */
        case 3: v = 1e30 * (double)(x % 5); break;
        case 4: v = 1e-310 * (double)(x % 7); break; /* subnormals */
        default: v = (double)(x % 100000) / 9973.0; break;
      }
      OK(fm_child_observe(a, v));
      raw_observe(b, v);
      if (i % 5000 == 0) CHECK(same_reading(a, b));
    }
    CHECK(same_reading(a, b));
    fm_child_free(a);
    fm_child_free(b);
    fm_family_free(fa);
    fm_family_free(fb);
  }

  /* Only a native histogram child has a view. */
  fm_native_view view;
  fm_family *f = family(FM_KIND_HISTOGRAM, "classic_raw_seconds", NULL, 0);
  fm_child *c = NULL;
  OK(fm_family_child(f, NULL, 0, &c));
  CHECK_RC(fm_child_native_view(c, &view), FM_ERR_WRONG_KIND);
  CHECK(strstr(last_error(), "native") != NULL);
  CHECK_RC(fm_child_native_observe_skipped(c, 1), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_child_native_bucket_created(c, 1, 1), FM_ERR_WRONG_KIND);
  fm_child_free(c);
  fm_family_free(f);
  f = family(FM_KIND_COUNTER, "raw_total", NULL, 0);
  OK(fm_family_child(f, NULL, 0, &c));
  CHECK_RC(fm_child_native_view(c, &view), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_child_native_observe_skipped(c, 1), FM_ERR_WRONG_KIND);
  CHECK_RC(fm_child_native_view(c, NULL), FM_ERR_WRONG_KIND);
  fm_child_free(c);
  fm_family_free(f);
  CHECK_RC(fm_child_native_view(NULL, &view), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_native_observe_skipped(NULL, 1), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_child_native_bucket_created(NULL, 1, 1), FM_ERR_NULL_ARGUMENT);
  f = native_family("raw_null_seconds", 2.0, NULL, 0);
  OK(fm_family_child(f, NULL, 0, &c));
  CHECK_RC(fm_child_native_view(c, NULL), FM_ERR_NULL_ARGUMENT);
  fm_child_free(c);
  fm_family_free(f);

  /* Keys and bounds: schema 0 as Prometheus defines it; every key's (normal) bound is in its
   * bucket, the next float up in the next. */
  int32_t key = 0;
  const double vs[] = {1, 2, 3, 4, 0.25, 0.3, 1000, 1024, -7};
  for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
    OK(fm_native_bucket_key(vs[i], 0, &key));
    CHECK(key == key_schema0(fabs(vs[i])));
  }
  for (int schema = -4; schema <= 8; schema++) {
    int32_t lowest = 0, max_key = 0;
    OK(fm_native_bucket_key(4.9406564584124654e-324, schema, &lowest));
    OK(fm_native_bucket_key(1.7976931348623157e308, schema, &max_key));
    for (int32_t k = lowest; k < max_key; k++) {
      double u = 0;
      OK(fm_native_upper_bound(k, schema, &u));
      if (u < 2.2250738585072014e-308) continue; /* subnormal bounds are rounded */
      OK(fm_native_bucket_key(u, schema, &key));
      CHECK(key == k);
      OK(fm_native_bucket_key(nextafter(u, INFINITY), schema, &key));
      CHECK(key == k + 1);
    }
    double u = 0;
    int32_t inf_key = 0;
    OK(fm_native_bucket_key(INFINITY, schema, &inf_key));
    CHECK(inf_key == max_key + 1);
    OK(fm_native_upper_bound(max_key, schema, &u));
    CHECK(u == 1.7976931348623157e308);
    CHECK_RC(fm_native_upper_bound(inf_key + 1, schema, &u), FM_ERR_OUT_OF_RANGE);
  }
  CHECK_RC(fm_native_bucket_key(NAN, 0, &key), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_native_bucket_key(0, 0, &key), FM_ERR_INVALID_VALUE);
  CHECK_RC(fm_native_bucket_key(1, 9, &key), FM_ERR_OUT_OF_RANGE);
  CHECK_RC(fm_native_bucket_key(1, -5, &key), FM_ERR_OUT_OF_RANGE);
  CHECK_RC(fm_native_bucket_key(1, 0, NULL), FM_ERR_NULL_ARGUMENT);
  double u = 0;
  CHECK_RC(fm_native_upper_bound(0, 9, &u), FM_ERR_OUT_OF_RANGE);
  CHECK_RC(fm_native_upper_bound(0, 0, NULL), FM_ERR_NULL_ARGUMENT);
  CHECK_RC(fm_native_upper_bound(INT32_MIN, 0, &u), FM_ERR_OUT_OF_RANGE);
}

int main(void) {
  test_counter_and_render();
  test_exact_name_and_counter_exemplar();
  test_gauge_histogram_summary();
  test_bad_input();
  test_summary_quantiles();
  test_cardinality_overflow();
  test_catalog();
  test_threads();
  test_counter_no_wrap();
  test_otlp();
  test_utf8_names();
  test_native_histogram();
  test_native_raw_protocol();
  printf("%d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
