/* README: a catalog counter through the C ABI, rendered as the classic text format.
 * Every call's result is checked; the program fails on the first error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* docs:start readme */
#include "footmetrics.h"           /* link libfootmetrics.a -lpthread -ldl -lm */
#include "footmetrics_catalog.h"
/* CHECK(call) below stops the program unless the call returns FM_OK. */
/* docs:end readme */

#define CHECK(call)                                                                   \
    do {                                                                              \
        fm_result rc_ = (call);                                                       \
        if (rc_ != FM_OK) {                                                           \
            fprintf(stderr, "%s: %s\n", #call, fm_result_message(rc_));              \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

int main(void) {
    /* docs:start readme */
    fm_registry *reg; fm_family *fam; fm_child *ok; fm_buffer *out;
    CHECK(fm_registry_new(&reg));
    CHECK(fm_catalog_family_new(FM_CATALOG_VIDEO_PROCESSING_BATCHES_TOTAL, &fam));
    CHECK(fm_registry_register(reg, fam));
    fm_str values[] = {{"success", 7}, {"32", 2}};      /* status, batch_size */
    CHECK(fm_family_child(fam, values, 2, &ok));        /* resolve once, keep the handle */
    CHECK(fm_child_inc(ok));                            /* hot path: one atomic add */
    CHECK(fm_registry_render_buffer(reg, FM_FORMAT_TEXT, &out));
    /* docs:end readme */

    const uint8_t *data;
    size_t len;
    CHECK(fm_buffer_data(out, &data, &len));
    const char *want = "video_processing_batches_total{status=\"success\",batch_size=\"32\"} 1\n";
    char *text = malloc(len + 1);
    memcpy(text, data, len);
    text[len] = '\0';
    if (strstr(text, want) == NULL) {
        fprintf(stderr, "the exposition lacks %s:\n%s", want, text);
        return 1;
    }
    /* Bad input is an error code, and nothing recorded is lost. */
    fm_str one[] = {{"success", 7}};
    fm_child *bad = NULL;
    if (fm_family_child(fam, one, 1, &bad) == FM_OK || bad != NULL) {
        fprintf(stderr, "a wrong label count was accepted\n");
        return 1;
    }
    free(text);
    /* docs:start readme */
    fm_buffer_free(out); fm_child_free(ok); fm_family_free(fam); fm_registry_free(reg);
    /* docs:end readme */
    return 0;
}
