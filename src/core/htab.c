/* SPDX-License-Identifier: BSD-2-Clause */
/* SipHash-2-4 keyed hashing and an intrusive chained hash table. */
#include "core/htab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/util.h"

#define HTAB_MIN_BUCKETS 8

/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): four 64-bit state words initialised from the key and constants,
 * two SipRounds per 8-byte little-endian message word, a final word that
 * carries the length mod 256 in its top byte, then 0xff xored into v2 and
 * four finalisation rounds.
 */

/* Written once before any worker starts, read-only afterwards. */
static uint8_t process_key[16];

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint8_t fold(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/* Loads 8 bytes little-endian, ASCII-lowering each one (SWAR): a byte is
 * upper case when c + (0x80 - 'A') sets bit 7 and c + (0x80 - 'Z' - 1)
 * does not, for bytes below 0x80. */
static inline uint64_t load_le64_fold(const uint8_t *p)
{
    uint64_t v = load_le64(p);
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t low7 = v & (0x7f * ones);
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones;
    uint64_t is_upper = ge_a & ~gt_z & ~v & (0x80 * ones);
    return v | (is_upper >> 2);
}

#define SIPROUND(v0, v1, v2, v3)                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

static inline uint64_t siphash24(const uint8_t key[16], const uint8_t *in, size_t len,
                                 bool is_nocase)
{
    uint64_t k0 = load_le64(key);
    uint64_t k1 = load_le64(key + 8);
    /* "somepseudorandomlygeneratedbytes" */
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
    uint64_t v3 = k1 ^ 0x7465646279746573ull;

    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = is_nocase ? load_le64_fold(in + i) : load_le64(in + i);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }

    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++) {
        uint8_t c = in[whole + i];
        last |= (uint64_t)(is_nocase ? fold(c) : c) << (8 * i);
    }
    v3 ^= last;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= last;

    v2 ^= 0xff;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

static bool read_urandom(uint8_t *out, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, out + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got == len;
}

void htab_seed_random(void)
{
    uint8_t key[16];
    size_t got = 0;
    while (got < sizeof(key)) {
        ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    /* Running with a guessable key would silently give up the flooding
     * defence, so no entropy at all is fatal. */
    if (got < sizeof(key) && !read_urandom(key, sizeof(key)))
        sw_assert_fail("no random source for the hash key", __FILE__, __LINE__);
    memcpy(process_key, key, sizeof(key));
    explicit_bzero(key, sizeof(key));
}

void htab_seed_fixed(const uint8_t key[16])
{
    memcpy(process_key, key, sizeof(process_key));
}

uint64_t htab_hash(const void *data, size_t len)
{
    return siphash24(process_key, data, len, false);
}

uint64_t htab_hash_nocase(const void *data, size_t len)
{
    return siphash24(process_key, data, len, true);
}

uint64_t htab_siphash(const uint8_t key[16], const void *data, size_t len)
{
    return siphash24(key, data, len, false);
}

/* Owner: creator; single thread. Nodes are borrowed. */
struct htab {
    struct htab_node **buckets; /* owned array of chain heads */
    size_t mask;                /* bucket count - 1 (a power of two) */
    size_t count;
};

static struct htab_node **buckets_new(size_t n)
{
    return calloc(n, sizeof(struct htab_node *));
}

struct htab *htab_new(size_t initial_buckets)
{
    size_t n = HTAB_MIN_BUCKETS;
    while (n < initial_buckets && n < ((size_t)1 << 40))
        n <<= 1;
    struct htab *t = malloc(sizeof(*t));
    if (!t)
        return NULL;
    t->buckets = buckets_new(n);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = n - 1;
    t->count = 0;
    return t;
}

void htab_free(struct htab *t)
{
    if (!t)
        return;
    free(t->buckets);
    free(t);
}

/* Doubles the bucket array and rehashes every chain (stored hashes, so no
 * key is rehashed). */
static int grow(struct htab *t)
{
    size_t old_n = t->mask + 1;
    if (old_n > SIZE_MAX / 2 / sizeof(struct htab_node *))
        return -ENOMEM;
    size_t new_n = old_n * 2;
    struct htab_node **nb = buckets_new(new_n);
    if (!nb)
        return -ENOMEM;
    for (size_t i = 0; i < old_n; i++) {
        struct htab_node *n = t->buckets[i];
        while (n) {
            struct htab_node *next = n->next;
            size_t j = (size_t)n->hash & (new_n - 1);
            n->next = nb[j];
            nb[j] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->mask = new_n - 1;
    return 0;
}

int htab_insert(struct htab *t, struct htab_node *node, uint64_t hash)
{
    size_t i = (size_t)hash & t->mask;
    node->hash = hash;
    node->next = t->buckets[i];
    t->buckets[i] = node;
    t->count++;
    if (t->count > t->mask + 1)
        return grow(t);
    return 0;
}

struct htab_node *htab_find(const struct htab *t, uint64_t hash, htab_eq_fn *eq, const void *key)
{
    for (struct htab_node *n = t->buckets[(size_t)hash & t->mask]; n; n = n->next)
        if (n->hash == hash && eq(n, key))
            return n;
    return NULL;
}

bool htab_remove(struct htab *t, struct htab_node *node)
{
    struct htab_node **pp = &t->buckets[(size_t)node->hash & t->mask];
    for (; *pp; pp = &(*pp)->next) {
        if (*pp == node) {
            *pp = node->next;
            node->next = NULL;
            t->count--;
            return true;
        }
    }
    return false;
}

size_t htab_count(const struct htab *t)
{
    return t->count;
}

void htab_foreach(struct htab *t, void (*fn)(struct htab_node *node, void *arg), void *arg)
{
    for (size_t i = 0; i <= t->mask; i++) {
        struct htab_node *n = t->buckets[i];
        while (n) {
            /* Read the link first: fn may remove (and free) n. */
            struct htab_node *next = n->next;
            fn(n, arg);
            n = next;
        }
    }
}
