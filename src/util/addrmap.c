/* Per-client entries (see include/arcd/addrmap.h): a chained hash table over
 * each address's limit key (arc_ip_limit_key), and a list from most to least
 * recently used. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "arcd/addrmap.h"
#include "arcd/error.h"

struct arc_addrmap_s {
    arc_addr_entry_t **buckets;
    size_t n_buckets; /* a power of two */
    size_t size, max;
    arc_addr_entry_t *lru_head, *lru_tail; /* most, least recently used */
    uint64_t seed;
};

static size_t hash(const arc_addrmap_t *m, const arc_ip_t *ip)
{
    /* FNV-1a over the 16 bytes, salted so that a client cannot choose
     * addresses that all fall in one bucket. */
    uint64_t h = 1469598103934665603ULL ^ m->seed;
    for (int i = 0; i < 16; i++)
        h = (h ^ ip->b[i]) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29)) & (m->n_buckets - 1);
}

arc_addrmap_t *arc_addrmap_create(size_t max)
{
    arc_addrmap_t *m = arc_xcalloc(1, sizeof(*m));

    m->max = max ? max : 1;
    m->n_buckets = 64;
    while (m->n_buckets < m->max && m->n_buckets < ((size_t)1 << 20))
        m->n_buckets *= 2;
    m->buckets = arc_xcalloc(m->n_buckets, sizeof(*m->buckets));
    if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != (ssize_t)sizeof(m->seed))
        m->seed = (uint64_t)(uintptr_t)m; /* ASLR's randomness, at least */
    return m;
}

static void lru_unlink(arc_addrmap_t *m, arc_addr_entry_t *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        m->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        m->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(arc_addrmap_t *m, arc_addr_entry_t *e)
{
    e->lru_prev = NULL;
    e->lru_next = m->lru_head;
    if (m->lru_head)
        m->lru_head->lru_prev = e;
    m->lru_head = e;
    if (m->lru_tail == NULL)
        m->lru_tail = e;
}

/* The entry of a key (already made by arc_ip_limit_key), or NULL. */
static arc_addr_entry_t *find_key(arc_addrmap_t *m, const arc_ip_t *key)
{
    for (arc_addr_entry_t *e = m->buckets[hash(m, key)]; e != NULL; e = e->next_in_bucket)
        if (memcmp(e->ip.b, key->b, sizeof(key->b)) == 0)
            return e;
    return NULL;
}

arc_addr_entry_t *arc_addrmap_find(arc_addrmap_t *m, const arc_ip_t *ip)
{
    arc_ip_t key;

    arc_ip_limit_key(ip, &key);
    return find_key(m, &key);
}

void arc_addrmap_forget(arc_addrmap_t *m, arc_addr_entry_t *e)
{
    arc_addr_entry_t **p = &m->buckets[hash(m, &e->ip)];

    while (*p != e)
        p = &(*p)->next_in_bucket;
    *p = e->next_in_bucket;
    lru_unlink(m, e);
    m->size--;
    free(e);
}

arc_addr_entry_t *arc_addrmap_get(arc_addrmap_t *m, const arc_ip_t *ip, int *created)
{
    arc_ip_t key;

    /* Keyed here, not by each caller, so that every per-address limit
     * counts an IPv6 client by its /64 alike. */
    arc_ip_limit_key(ip, &key);
    arc_addr_entry_t *e = find_key(m, &key);

    if (created != NULL)
        *created = 0;
    if (e != NULL) {
        lru_unlink(m, e);
        lru_push_front(m, e);
        return e;
    }
    if (m->size >= m->max) {
        /* Make room: the least recently used entry that holds nothing. */
        arc_addr_entry_t *victim = m->lru_tail;
        while (victim != NULL && victim->count > 0)
            victim = victim->lru_prev;
        if (victim == NULL)
            return NULL;
        arc_addrmap_forget(m, victim);
    }
    e = arc_xcalloc(1, sizeof(*e));
    e->ip = key;
    size_t h = hash(m, &key);
    e->next_in_bucket = m->buckets[h];
    m->buckets[h] = e;
    lru_push_front(m, e);
    m->size++;
    if (created != NULL)
        *created = 1;
    return e;
}

size_t arc_addrmap_size(const arc_addrmap_t *m)
{
    return m->size;
}

void arc_addrmap_free(arc_addrmap_t *m)
{
    if (m == NULL)
        return;
    for (arc_addr_entry_t *e = m->lru_head, *next; e != NULL; e = next) {
        next = e->lru_next;
        free(e);
    }
    free(m->buckets);
    free(m);
}
