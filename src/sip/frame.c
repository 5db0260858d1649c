/* SPDX-License-Identifier: BSD-2-Clause */
/* Message framing on stream transports (RFC 3261 §18.3, RFC 5626 §3.5.1). */
#include "sip/sipmsg.h"

#include "sip/hdr.h"
#include "sip/parse_int.h"

#include <string.h>

static int frame_fail(struct sip_err *err, size_t offset, const char *reason)
{
    if (err) {
        err->reason = reason;
        err->offset = offset;
    }
    return SIP_PARSE_BAD;
}

/* Offset just past the empty line ending the header section of p[0..len),
 * or 0 when it has not arrived. CRLF and bare LF line ends both count. */
static size_t find_head_end(const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    while (nl) {
        size_t i = (size_t)(nl - p) + 1;
        if (i < len && p[i] == '\n')
            return i + 1;
        if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
            return i + 2;
        if (i >= len)
            return 0;
        nl = memchr(p + i, '\n', len - i);
    }
    return 0;
}

int sip_frame(const char *buf, size_t len, size_t max, size_t *skip, size_t *msg_len,
              struct sip_err *err)
{
    size_t s = 0;
    /* Keep-alives between messages: RFC 5626 §3.5.1 CRLFCRLF pings and
     * CRLF pongs, RFC 3261 §7.5 CRLFs before a start line. */
    while (s < len && (buf[s] == '\r' || buf[s] == '\n'))
        s++;
    *skip = s;
    const char *p = buf + s;
    size_t n = len - s;
    if (n == 0)
        return SIP_PARSE_INCOMPLETE;
    size_t head = find_head_end(p, n);
    if (head == 0) {
        if (n > max)
            return frame_fail(err, s, "Message too large");
        return SIP_PARSE_INCOMPLETE;
    }
    /* Content-Length is mandatory on streams; find it among the field
     * lines (first line is the start line, folded lines never start a
     * field). */
    long cl = -1;
    size_t i = 0;
    while (i < head) {
        const char *nl = memchr(p + i, '\n', head - i);
        size_t end = nl ? (size_t)(nl - p) : head;
        if (i > 0 && end > i) {
            size_t k = sw_span(p + i, end - i, CC_TOKEN, false);
            size_t c = i + k;
            while (c < end && (p[c] == ' ' || p[c] == '\t'))
                c++;
            if (k && c < end && p[c] == ':' && hdr_id_lookup(p + i, k) == HDR_CONTENT_LENGTH) {
                /* the value may continue on folded lines */
                size_t vend = end;
                while (vend + 1 < head && (p[vend + 1] == ' ' || p[vend + 1] == '\t')) {
                    const char *nl2 = memchr(p + vend + 1, '\n', head - vend - 1);
                    vend = nl2 ? (size_t)(nl2 - p) : head;
                }
                uint64_t v;
                if (!sw_parse_uint(slice_make(p + c + 1, vend - c - 1), 0x7fffffff, &v))
                    return frame_fail(err, s + i, "Bad Content-Length");
                if (cl >= 0 && (uint64_t)cl != v)
                    return frame_fail(err, s + i, "Duplicate Content-Length");
                cl = (long)v;
            }
        }
        i = end + 1;
    }
    if (cl < 0)
        return frame_fail(err, s, "Missing Content-Length");
    if (head > max || (size_t)cl > max - head)
        return frame_fail(err, s, "Message too large");
    if (n < head + (size_t)cl)
        return SIP_PARSE_INCOMPLETE;
    *msg_len = head + (size_t)cl;
    return SIP_PARSE_OK;
}
