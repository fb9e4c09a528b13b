/*
 * MindAR's hierarchical k-medoids trees over FREAK descriptors
 * (matching/hierarchical-clustering.js, hamming-distance.js,
 * utils/randomizer.js), reproduced draw for draw.
 *
 * Every node's k-medoids reads pairwise Hamming distances of points of the
 * same list, so the list's distance matrix is computed once up front.
 */
#include <stdlib.h>
#include <string.h>

#include "arcd/error.h"
#include "compiler_internal.h"

#define MIN_FEATURE_PER_NODE 16
#define NUM_ASSIGNMENT_HYPOTHESES 128
#define NUM_CENTERS 8

void arc__rand_init(arc__rand_t *r)
{
    r->seed = 1234;
}

uint32_t arc__rand_next(arc__rand_t *r)
{
    /* JS: (214013 * seed + 2531011) % (1 << 31); 1 << 31 is -2^31 in JS, and
     * % keeps the dividend's sign, so this is mod 2^31 of an exact product. */
    r->seed = (214013u * r->seed + 2531011u) % (1ull << 31);
    return (uint32_t)(r->seed >> 16) & 0x7fff;
}

typedef struct tree_ctx_s {
    size_t n;
    const uint16_t *dist; /* n x n */
    arc__rand_t rand;
} tree_ctx_t;

/* _computeKMedoids: returns in best[] (per position) the position of the
 * chosen centre, from the first hypothesis with the strictly smallest sum.
 * sub is the node's own m x m distance matrix, so that each centre's
 * distances are one contiguous row and the loops below vectorise. */
ARC_HOT static void kmedoids(arc__rand_t *rand, const uint16_t *sub, size_t m, uint32_t *rnd,
                             uint32_t *best, uint32_t *cur, uint16_t *bd)
{
    uint64_t best_sum = UINT64_MAX;

    for (size_t i = 0; i < m; i++)
        rnd[i] = (uint32_t)i;
    for (int hyp = 0; hyp < NUM_ASSIGNMENT_HYPOTHESES; hyp++) {
        for (int i = 0; i < NUM_CENTERS; i++) {
            uint32_t k = arc__rand_next(rand) % (uint32_t)m;
            uint32_t tmp = rnd[i];
            rnd[i] = rnd[k];
            rnd[k] = tmp;
        }
        /* Each point takes the first centre with the strictly smallest
         * distance: centres in order, replaced only when strictly closer. */
        const uint16_t *row = sub + (size_t)rnd[0] * m;
        for (size_t j = 0; j < m; j++) {
            bd[j] = row[j];
            cur[j] = rnd[0];
        }
        for (int k = 1; k < NUM_CENTERS; k++) {
            const uint16_t *rk = sub + (size_t)rnd[k] * m;
            uint32_t ck = rnd[k];
            for (size_t j = 0; j < m; j++) {
                int closer = rk[j] < bd[j];
                bd[j] = closer ? rk[j] : bd[j];
                cur[j] = closer ? ck : cur[j];
            }
        }
        uint64_t sum = 0;
        for (size_t j = 0; j < m; j++)
            sum += bd[j];
        if (sum < best_sum) {
            best_sum = sum;
            memcpy(best, cur, m * sizeof(uint32_t));
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void build(tree_ctx_t *t, const uint32_t *idx, size_t m, int64_t center,
                  arc_mind_node_t *node)
{
    uint32_t *assign = NULL, *scratch = NULL, *rnd = NULL, *keys = NULL;
    size_t nkeys = 0;

    node->center = center;
    if (m > NUM_CENTERS && m > MIN_FEATURE_PER_NODE) {
        assign = arc_xmallocarray(m, sizeof(uint32_t));
        scratch = arc_xmallocarray(m, sizeof(uint32_t));
        rnd = arc_xmallocarray(m, sizeof(uint32_t));
        uint16_t *sub = arc_xmallocarray(m * m + m, sizeof(uint16_t));
        for (size_t a = 0; a < m; a++)
            for (size_t b = 0; b < m; b++)
                sub[a * m + b] = t->dist[(size_t)idx[a] * t->n + idx[b]];
        kmedoids(&t->rand, sub, m, rnd, assign, scratch, sub + m * m);
        free(sub);
        /* Clusters are keyed by the centre's point index; Object.keys() lists
         * integer keys in ascending numeric order, whatever the insertion. */
        keys = arc_xmallocarray(m, sizeof(uint32_t));
        for (size_t i = 0; i < m; i++)
            keys[i] = idx[assign[i]];
        qsort(keys, m, sizeof(uint32_t), cmp_u32);
        for (size_t i = 0; i < m; i++)
            if (i == 0 || keys[i] != keys[i - 1])
                keys[nkeys++] = keys[i];
    }
    if (nkeys <= 1) {
        /* A small node, or k-medoids put everything in one cluster (after
         * using up its draws, which the rest of the tree depends on). */
        node->leaf = 1;
        node->count = m;
        node->points = arc_xmallocarray(m ? m : 1, sizeof(uint32_t));
        memcpy(node->points, idx, m * sizeof(uint32_t));
        goto out;
    }
    node->leaf = 0;
    node->count = nkeys;
    node->children = arc_xcalloc(nkeys, sizeof(arc_mind_node_t));
    uint32_t *members = scratch; /* free again: the assignment is in assign[] */
    for (size_t c = 0; c < nkeys; c++) {
        size_t cnt = 0;
        for (size_t i = 0; i < m; i++)
            if (idx[assign[i]] == keys[c])
                members[cnt++] = idx[i];
        /* The recursion keeps this node's arrays alive; the child copies what
         * it keeps. */
        uint32_t *copy = arc_xmallocarray(cnt, sizeof(uint32_t));
        memcpy(copy, members, cnt * sizeof(uint32_t));
        build(t, copy, cnt, keys[c], &node->children[c]);
        free(copy);
    }
out:
    free(assign);
    free(scratch);
    free(rnd);
    free(keys);
}

/* The Hamming distances of all pairs: popcount of XORed words (the JS counts
 * bits with the SWAR trick; the count is the same). */
ARC_HOT static void distances(const arc_mind_point_t *pts, size_t n, uint16_t *dist)
{
    for (size_t i = 0; i < n; i++) {
        dist[i * n + i] = 0;
        for (size_t j = i + 1; j < n; j++) {
            unsigned d = 0;
            for (int k = 0; k < ARC_MIND_DESC_WORDS; k++)
                d += (unsigned)__builtin_popcount(pts[i].desc[k] ^ pts[j].desc[k]);
            dist[i * n + j] = dist[j * n + i] = (uint16_t)d;
        }
    }
}

void arc__cluster_build(const arc_mind_point_t *pts, size_t n, arc_mind_node_t *root)
{
    tree_ctx_t t = {.n = n};
    uint16_t *dist = NULL;
    uint32_t *idx = arc_xmallocarray(n ? n : 1, sizeof(uint32_t));

    memset(root, 0, sizeof(*root));
    if (n > MIN_FEATURE_PER_NODE) {
        dist = arc_xmallocarray(n * n, sizeof(uint16_t));
        distances(pts, n, dist);
    }
    t.dist = dist;
    arc__rand_init(&t.rand);
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    build(&t, idx, n, -1, root);
    free(idx);
    free(dist);
}
