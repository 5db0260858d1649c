/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Keyed hashing and an intrusive chained hash table.
 * Keys that come from the network (Call-ID, branch, AOR, IP) must be
 * hashed with htab_hash(), a SipHash-2-4 keyed with a random key chosen at
 * start, so a peer cannot pick colliding keys (hash flooding).
 */
#ifndef SW_CORE_HTAB_H
#define SW_CORE_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Picks a random key from getrandom(); call once before any worker. */
void htab_seed_random(void);
/* Fixed key, for reproducible tests only. */
void htab_seed_fixed(const uint8_t key[16]);
uint64_t htab_hash(const void *data, size_t len);
/* Same, ASCII case-folded (host names, header names, tokens). */
uint64_t htab_hash_nocase(const void *data, size_t len);
/* SipHash-2-4 with an explicit key. */
uint64_t htab_siphash(const uint8_t key[16], const void *data, size_t len);

/* Embedded in the stored object. */
struct htab_node {
    struct htab_node *next; /* borrowed chain link */
    uint64_t hash;
};

/* Returns true when node matches key (caller-defined). */
typedef bool htab_eq_fn(const struct htab_node *node, const void *key);

/* Owner: creator; single thread. Grows by doubling when the load factor
 * exceeds 1 (incrementally is unnecessary at our sizes: a rehash of one
 * million entries is a few ms and happens log2(n) times). */
struct htab;
struct htab *htab_new(size_t initial_buckets);
/* Does not free the nodes (the table does not own them). */
void htab_free(struct htab *t);
/* Inserts node with the given hash; duplicates are allowed. -ENOMEM if a
 * needed grow failed (the node is still inserted). */
int htab_insert(struct htab *t, struct htab_node *node, uint64_t hash);
struct htab_node *htab_find(const struct htab *t, uint64_t hash, htab_eq_fn *eq, const void *key);
/* Removes exactly this node; false if it was not in the table. */
bool htab_remove(struct htab *t, struct htab_node *node);
size_t htab_count(const struct htab *t);
/* Calls fn for every node; fn may remove the node it is given (and free
 * it), but must not insert or remove any other node. */
void htab_foreach(struct htab *t, void (*fn)(struct htab_node *node, void *arg), void *arg);

#endif
