/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SDP session descriptions (RFC 4566), parsed in place: every slice points
 * into the body given to sdp_parse(), which must outlive the struct sdp.
 * The arrays (media sections, attributes, formats, bandwidths, times) come
 * from a caller's arena; their sizes are counted before allocation and
 * bounded by struct sdp_limits, so a hostile body cannot grow memory past
 * what the limits allow. Owner: the caller (usually on the stack, arrays in
 * the message or iteration arena); immutable after parsing; one thread.
 */
#ifndef SW_SIP_SDP_H
#define SW_SIP_SDP_H

#include "core/arena.h"
#include "core/util.h"
#include "sip/sip_err.h"

#include <stdbool.h>
#include <stdint.h>

/* Bounds for one session description; every field configurable. */
struct sdp_limits {
    size_t max_len;          /* bytes of the whole body */
    unsigned max_media;      /* m= sections */
    unsigned max_attrs;      /* a= lines, session and media levels together */
    unsigned max_formats;    /* formats on one m= line */
    unsigned max_bandwidths; /* b= lines, all levels together */
    unsigned max_times;      /* t= lines (r= lines are not stored one by one) */
};
#define SDP_LIMITS_DEFAULT ((struct sdp_limits){16384, 32, 512, 64, 32, 8})

enum sdp_addrtype { SDP_ADDR_NONE = 0, SDP_ADDR_IP4, SDP_ADDR_IP6, SDP_ADDR_OTHER };

/* Media direction (RFC 4566 §6; RFC 3264 §5.1). NONE: no attribute at
 * this level. */
enum sdp_dir {
    SDP_DIR_NONE = 0,
    SDP_DIR_SENDRECV,
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE
};

/* c= line (RFC 4566 §5.7). */
struct sdp_conn {
    bool present;
    struct slice nettype;    /* "IN" */
    struct slice addrtype_s; /* "IP4", "IP6" as written */
    enum sdp_addrtype addrtype;
    struct slice addr;   /* the address without /ttl and /count */
    bool is_name;        /* addr is a domain name, not a literal */
    unsigned ttl;        /* IP4 multicast only; 0 when absent */
    unsigned addr_count; /* "/<number of addresses>"; 1 when absent */
};

/* o= line (RFC 4566 §5.2). */
struct sdp_origin {
    struct slice username;
    struct slice sess_id;
    struct slice sess_version; /* kept as text: values exceed 64 bits in the wild */
    struct slice nettype;
    struct slice addrtype_s;
    enum sdp_addrtype addrtype;
    struct slice addr;
};

/* b=<bwtype>:<bandwidth> (RFC 4566 §5.8), kbit/s for CT and AS. */
struct sdp_bw {
    struct slice type;
    uint64_t value;
};

/* t= line (RFC 4566 §5.9) and the r= lines that follow it (§5.10). */
struct sdp_time {
    uint64_t start, stop; /* NTP seconds; 0 = unbounded */
    unsigned repeat_count;
    struct slice repeats; /* text of all r= lines, from the first "r=" to the end of the last */
};

/* a=<name>[:<value>] (RFC 4566 §5.13). */
struct sdp_attr {
    struct slice name;
    struct slice value; /* after the ':'; empty for a property attribute */
    bool has_value;
    size_t offset; /* of the "a=" in the body */
};

/* One format of an m= line, joined with its rtpmap and fmtp (RFC 4566 §6). */
struct sdp_fmt {
    struct slice fmt; /* as written on the m= line */
    int pt;           /* RTP payload type 0..127, or -1 when not numeric */
    bool has_rtpmap;
    struct slice encoding; /* "PCMU", "opus", "telephone-event" */
    uint32_t clock_rate;
    unsigned channels; /* encoding parameters for audio; 1 when absent */
    struct slice fmtp; /* format parameters; empty without a=fmtp */
};

/* One m= section with everything up to the next m= line. */
struct sdp_media {
    struct slice raw;   /* from "m=" to the end of the section (incl. its last line end) */
    size_t offset;      /* of the "m=" in the body */
    struct slice media; /* "audio", "video", "application", "image", ... */
    uint16_t port;
    unsigned port_count;  /* "/<number of ports>"; 1 when absent */
    struct slice proto;   /* "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", "udptl", ... */
    struct sdp_fmt *fmts; /* arena */
    unsigned fmt_count;
    struct slice info;    /* i= */
    struct sdp_conn conn; /* first c= of the section (more only for layered multicast) */
    unsigned conn_count;
    struct sdp_bw *bws; /* points into sdp.bw_all */
    unsigned bw_count;
    struct slice key;       /* k= (obsolete; kept so policy can strip it) */
    struct sdp_attr *attrs; /* points into sdp.attr_all */
    unsigned attr_count;
    enum sdp_dir dir; /* this section's own attribute */
    bool has_rtcp;    /* a=rtcp (RFC 3605) */
    uint16_t rtcp_port;
    struct sdp_conn rtcp_conn; /* optional address of a=rtcp; present=false if absent */
    unsigned ptime_ms;         /* a=ptime; 0 when absent */
    unsigned maxptime_ms;      /* a=maxptime; 0 when absent */
};

struct sdp {
    struct slice raw;
    unsigned version; /* v= is always 0 */
    struct sdp_origin origin;
    struct slice session_name; /* s= */
    struct slice info;         /* i= */
    struct slice uri;          /* u= */
    struct slice email;        /* first e= */
    struct slice phone;        /* first p= */
    struct sdp_conn conn;      /* session-level c= */
    struct sdp_bw *bws;        /* session-level, points into bw_all */
    unsigned bw_count;
    struct sdp_time *times; /* arena */
    unsigned time_count;
    struct slice zone;      /* z= */
    struct slice key;       /* k= */
    struct sdp_attr *attrs; /* session-level, points into attr_all */
    unsigned attr_count;
    enum sdp_dir dir;
    struct sdp_media *media; /* arena */
    unsigned media_count;
    /* private: one array each for all levels, in body order */
    struct sdp_attr *attr_all;
    struct sdp_bw *bw_all;
};

/*
 * Parses body[0..len) into *s. Arrays are allocated from a (borrowed; they
 * live until the arena is reset). lim NULL means SDP_LIMITS_DEFAULT.
 * Accepts CRLF and bare LF line ends (RFC 4566 §5 allows parsers to);
 * v=, o=, s= must come first in that order (RFC 4566 §5), unknown line
 * types reject the description (§5: "MUST completely ignore"), and
 * session-level-only lines inside a media section are errors.
 * Returns SIP_PARSE_OK or SIP_PARSE_BAD with err->reason (static) and
 * err->offset (into body); *s is then partially filled and must not be
 * used. An arena that runs out is reported as BAD "SDP too large".
 */
int sdp_parse(struct sdp *s, struct arena *a, const char *body, size_t len,
              const struct sdp_limits *lim, struct sip_err *err) warn_unused_result;

/* First attribute named name (ASCII case-insensitive, as the parser
 * itself matches names: peers differ in case) among attrs[0..n); NULL
 * when absent. */
const struct sdp_attr *sdp_attr_find(const struct sdp_attr *attrs, unsigned n, const char *name);

/* Media direction in effect for m: its own attribute, else the session's,
 * else sendrecv (RFC 4566 §6). */
enum sdp_dir sdp_media_dir(const struct sdp *s, const struct sdp_media *m);

/* Connection in effect for m: its own c=, else the session's; NULL if
 * neither exists (the description is then unusable for this media). */
const struct sdp_conn *sdp_media_conn(const struct sdp *s, const struct sdp_media *m);

/* Format with payload type pt in m, NULL if absent. */
const struct sdp_fmt *sdp_media_fmt_by_pt(const struct sdp_media *m, int pt);

const char *sdp_dir_name(enum sdp_dir d);

#endif
