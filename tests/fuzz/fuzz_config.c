/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the configuration loader: conf_load_buf() on
 * arbitrary YAML, through every option table and the listen URI parser.
 * No state crosses inputs: each input is loaded and freed. */
#include "conf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * LeakSanitizer hook (the reserved name is the sanitizer's, not ours).
 * Debian's libfyaml 0.7.12 leaks its text buffer when fy_node_get_scalar()
 * unescapes a single-quoted scalar made of many '' pairs (an atom iterator
 * leak fixed upstream, cf. pantoniou/libfyaml#337): at most one buffer per
 * scalar, once per config load. Our own leaks still show: nothing we
 * allocate is under libfyaml, and test_cfg runs without this suppression.
 */
const char *__lsan_default_suppressions(void)
{
    return "leak:libfyaml.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf c;
    char err[256];
    char *copy;

    if (size > 65536)
        return 0;
    /* A private copy with no spare bytes after it, so a read past the end
     * is caught (malloc(0) may return NULL; give it one byte then). */
    copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    if (conf_load_buf(&c, copy, size, "fuzz.yaml", NULL, err, sizeof(err)) == 0) {
        /* Every loaded value must be usable. */
        for (size_t i = 0; i < c.listen.count; i++)
            if (c.listen.items[i].uri == NULL || c.listen.items[i].addrlen == 0)
                abort();
        if (c.server.name == NULL || c.log.file == NULL || c.store == NULL)
            abort();
        conf_free(&c);
    } else if (memchr(err, '\n', strnlen(err, sizeof(err))) != NULL || err[0] == '\0') {
        abort(); /* an error is always exactly one non-empty line */
    }
    free(copy);
    return 0;
}
