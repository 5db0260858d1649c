/* SPDX-License-Identifier: BSD-2-Clause */
/* AOR and contact canonical forms, q-values and the proxy's location lookup. */
#include "app/registrar/registrar.h"

#include "app/registrar/reg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(char *out, size_t cap, size_t *len, struct slice s, bool lower)
{
    if (*len + s.len + 1 > cap)
        return -EMSGSIZE;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        out[(*len)++] = lower && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[*len] = '\0';
    return 0;
}

/* RFC 3261 §10.3 step 5: "sip:user@domain". The user part stays case-
 * sensitive (§19.1.4); the host is not. The port and parameters are
 * dropped: a UA registering To: <sip:alice@example.com:5060> means the
 * same AOR. sips: maps to sip: so that both reach one set of bindings. */
int reg_aor_canonical(char *out, size_t cap, const struct uri *u)
{
    if ((u->scheme != URI_SIP && u->scheme != URI_SIPS) || !u->has_user || u->user.len == 0 ||
        u->host.len == 0)
        return -EINVAL;
    size_t len = 0;
    if (put(out, cap, &len, SLICE_LIT("sip:"), false) < 0 ||
        put(out, cap, &len, u->user, false) < 0 || put(out, cap, &len, SLICE_LIT("@"), false) < 0 ||
        put(out, cap, &len, u->host, true) < 0)
        return -EMSGSIZE;
    return (int)len;
}

/* §10.3 step 7 compares contacts with the URI rules of §19.1.4. An exact
 * comparison is not needed for a key: scheme, user, host (any case), port
 * and transport decide whether two contacts reach the same place; other
 * URI parameters never make a second binding of one device. An RFC 5626
 * +sip.instance (with reg-id) identifies the device itself and wins. */
int reg_match_key(char *out, size_t cap, const struct sip_nameaddr *na)
{
    const struct uri *u = &na->uri;
    struct slice inst;
    size_t len = 0;
    if (hdr_param_find(na->params, "+sip.instance", &inst) && inst.len > 0) {
        struct slice regid = SLICE_NULL;
        (void)hdr_param_find(na->params, "reg-id", &regid);
        if (put(out, cap, &len, SLICE_LIT("instance:"), false) < 0 ||
            put(out, cap, &len, inst, false) < 0 ||
            put(out, cap, &len, SLICE_LIT("/"), false) < 0 || put(out, cap, &len, regid, false) < 0)
            return -EMSGSIZE;
        return (int)len;
    }
    if (u->scheme == URI_OTHER || u->scheme == URI_TEL)
        return put(out, cap, &len, u->raw, false) < 0 ? -EMSGSIZE : (int)len;
    char port[8];
    snprintf(port, sizeof(port), "%u", u->has_port ? u->port : 0u);
    if (put(out, cap, &len, u->scheme_s, true) < 0 || put(out, cap, &len, SLICE_LIT(":"), false) ||
        put(out, cap, &len, u->user, false) < 0 || put(out, cap, &len, SLICE_LIT("@"), false) ||
        put(out, cap, &len, u->host, true) < 0 || put(out, cap, &len, SLICE_LIT(":"), false) ||
        put(out, cap, &len, slice_cstr(port), false) < 0 ||
        put(out, cap, &len, SLICE_LIT(";"), false) < 0 || put(out, cap, &len, u->transport, true))
        return -EMSGSIZE;
    return (int)len;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (§25.1). */
int reg_parse_q(uint16_t *out, struct slice s)
{
    if (s.len == 0 || s.len > 5 || (s.p[0] != '0' && s.p[0] != '1'))
        return -EINVAL;
    unsigned v = (unsigned)(s.p[0] - '0') * 1000, scale = 100;
    if (s.len > 1) {
        if (s.p[1] != '.')
            return -EINVAL;
        for (size_t i = 2; i < s.len; i++, scale /= 10) {
            if (s.p[i] < '0' || s.p[i] > '9')
                return -EINVAL;
            v += (unsigned)(s.p[i] - '0') * scale;
        }
    }
    if (v > STORE_Q_MAX)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

void reg_targets_free(struct reg_target *t, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(t[i].uri);
        free(t[i].path);
    }
    free(t);
}

int reg_lookup(struct registrar *r, const struct uri *ruri, struct reg_target **out)
{
    char aor[512];
    int alen = reg_aor_canonical(aor, sizeof(aor), ruri);
    *out = NULL;
    if (alen < 0)
        return -EINVAL;
    struct store_binding *b = NULL;
    int n = store_lookup(r->store, slice_make(aor, (size_t)alen), reg_now(r), &b);
    if (n <= 0)
        return n;
    struct reg_target *t = calloc((size_t)n, sizeof(*t));
    if (t == NULL) {
        store_bindings_free(b, (size_t)n);
        return -ENOMEM;
    }
    /* Insertion sort by q, highest first: stable, and n is at most
     * max_contacts. */
    for (int i = 0; i < n; i++) {
        struct reg_target x = {.q = b[i].q};
        x.uri = strdup(b[i].contact);
        x.path = b[i].path && b[i].path[0] ? strdup(b[i].path) : NULL;
        if (x.uri == NULL || (b[i].path && b[i].path[0] && x.path == NULL)) {
            free(x.uri);
            free(x.path);
            reg_targets_free(t, (size_t)i);
            store_bindings_free(b, (size_t)n);
            return -ENOMEM;
        }
        x.flow.proto = b[i].proto == TP_TCP ? TP_TCP : TP_UDP;
        x.flow.listener = b[i].listener;
        x.flow.conn_id = b[i].conn_id;
        x.has_flow = tp_addr_parse(&x.flow.remote, slice_cstr(b[i].received), 5060) == 0;
        int k = i;
        while (k > 0 && t[k - 1].q < x.q) {
            t[k] = t[k - 1];
            k--;
        }
        t[k] = x;
    }
    store_bindings_free(b, (size_t)n);
    *out = t;
    return n;
}
