/* Tests for workers/compiler/clustering.c: MindAR's randomizer and k-medoids trees. */
#include <stdint.h>

#include "../../test.h"
#include "compiler_internal.h"

TEST(test_randomizer_sequence)
{
    /* The first draws of utils/randomizer.js with seed 1234. */
    static const uint32_t want[8] = {4068, 213, 12761, 8758, 23056, 7717, 15274, 24508};
    arc__rand_t r;

    arc__rand_init(&r);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(arc__rand_next(&r), want[i]);
}

static void make_points(arc_mind_point_t *p, size_t n, uint32_t seed)
{
    memset(p, 0, n * sizeof(*p));
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 21; k++) {
            seed = seed * 1664525u + 1013904223u;
            p[i].desc[k] = seed;
        }
}

static size_t count_points(const arc_mind_node_t *n)
{
    size_t c = 0;

    if (n->leaf)
        return n->count;
    for (size_t i = 0; i < n->count; i++)
        c += count_points(&n->children[i]);
    return c;
}

static void check_children_ascending(const arc_mind_node_t *n)
{
    if (n->leaf)
        return;
    CHECK(n->count >= 2);
    for (size_t i = 0; i < n->count; i++) {
        if (i > 0)
            CHECK(n->children[i].center > n->children[i - 1].center);
        check_children_ascending(&n->children[i]);
    }
}

TEST(test_small_lists_are_one_leaf)
{
    arc_mind_point_t p[16];
    arc_mind_node_t root;

    make_points(p, 16, 7);
    arc__cluster_build(p, 16, &root);
    CHECK(root.leaf && root.center == -1 && root.count == 16);
    for (uint32_t i = 0; i < 16; i++)
        CHECK(root.points[i] == i);
    arc_mind_node_dispose(&root);
    arc__cluster_build(p, 0, &root);
    CHECK(root.leaf && root.count == 0);
    arc_mind_node_dispose(&root);
}

TEST(test_tree_shape)
{
    enum { N = 300 };
    arc_mind_point_t *p = malloc(N * sizeof(*p));
    arc_mind_node_t a, b;

    make_points(p, N, 99);
    arc__cluster_build(p, N, &a);
    arc__cluster_build(p, N, &b);
    CHECK(!a.leaf && a.center == -1);
    CHECK(a.count >= 2 && a.count <= 8);
    CHECK_EQ_INT(count_points(&a), N);
    check_children_ascending(&a);
    /* Deterministic: the randomizer restarts at 1234 for every tree. */
    CHECK(arc_mind_tree_equal(&a, &b));
    arc_mind_node_dispose(&a);
    arc_mind_node_dispose(&b);
    free(p);
}

TEST(test_identical_points_make_a_leaf)
{
    /* All distances 0: every point joins the first centre, one cluster, so
     * the node becomes a leaf after k-medoids has run. */
    enum { N = 40 };
    arc_mind_point_t p[N];
    arc_mind_node_t root;

    memset(p, 0, sizeof(p));
    arc__cluster_build(p, N, &root);
    CHECK(root.leaf && root.count == N);
    arc_mind_node_dispose(&root);
}
