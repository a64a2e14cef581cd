#define _POSIX_C_SOURCE 199309L
/* Increment through a child handle (fm_child_inc) against a raw relaxed atomic add, in the
 * same run: alternating rounds, median ratio. `make bench-c`. Goal: ratio <= 1.5. */
#include "footmetrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 20000000L
#define ROUNDS 9

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Not inlined, so the raw side also pays one call per increment, as C callers of a library
 * function do; the difference is what footmetrics adds. Both variants are reported. */
__attribute__((noinline)) static void raw_add(_Atomic uint64_t *cell) {
  atomic_fetch_add_explicit(cell, 1, memory_order_relaxed);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(void) {
  fm_opts o;
  memset(&o, 0, sizeof o);
  o.kind = FM_KIND_COUNTER;
  o.name.ptr = "bench_total";
  o.name.len = strlen(o.name.ptr);
  fm_family *f = NULL;
  fm_child *c = NULL;
  if (fm_family_new(&o, &f) != FM_OK || fm_family_child(f, NULL, 0, &c) != FM_OK) return 1;
  static _Atomic uint64_t cell;
  double inlined[ROUNDS], called[ROUNDS], handle[ROUNDS], r_inl[ROUNDS], r_call[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_ns();
    for (long i = 0; i < N; i++) atomic_fetch_add_explicit(&cell, 1, memory_order_relaxed);
    double t1 = now_ns();
    for (long i = 0; i < N; i++) raw_add(&cell);
    double t2 = now_ns();
    for (long i = 0; i < N; i++) fm_child_inc(c);
    double t3 = now_ns();
    inlined[r] = (t1 - t0) / N;
    called[r] = (t2 - t1) / N;
    handle[r] = (t3 - t2) / N;
    r_inl[r] = handle[r] / inlined[r];
    r_call[r] = handle[r] / called[r];
  }
  double v = 0;
  fm_child_value(c, &v, NULL);
  if (v != (double)N * ROUNDS) {
    fprintf(stderr, "lost increments: %.0f\n", v);
    return 1;
  }
  qsort(inlined, ROUNDS, sizeof(double), cmp);
  qsort(called, ROUNDS, sizeof(double), cmp);
  qsort(handle, ROUNDS, sizeof(double), cmp);
  qsort(r_inl, ROUNDS, sizeof(double), cmp);
  qsort(r_call, ROUNDS, sizeof(double), cmp);
  int m = ROUNDS / 2;
  printf("C: raw atomic add (inlined)      %6.2f ns\n", inlined[m]);
  printf("C: raw atomic add (one call)     %6.2f ns\n", called[m]);
  printf("C: fm_child_inc(handle)          %6.2f ns\n", handle[m]);
  printf("C: ratio handle / inlined atomic %6.2f  (goal <= 1.5)\n", r_inl[m]);
  printf("C: ratio handle / called atomic  %6.2f\n", r_call[m]);
  fm_child_free(c);
  fm_family_free(f);
  return 0;
}
