/* Lifetime of arc_mind_t, and tree helpers (see include/arcd/mind.h). */
#include <stdlib.h>

#include "arcd/mind.h"

arc_mind_t *arc_mind_create(size_t n_targets)
{
    arc_mind_t *m = arc_xcalloc(1, sizeof(*m));

    m->version = ARC_MIND_VERSION;
    m->n_targets = n_targets;
    m->targets = arc_xcalloc(n_targets ? n_targets : 1, sizeof(*m->targets));
    return m;
}

void arc_mind_node_dispose(arc_mind_node_t *node)
{
    if (node == NULL)
        return;
    if (node->children != NULL) {
        for (size_t i = 0; i < node->count; i++)
            arc_mind_node_dispose(&node->children[i]);
    }
    free(node->children);
    free(node->points);
    node->children = NULL;
    node->points = NULL;
    node->count = 0;
}

void arc_mind_free(arc_mind_t *m)
{
    if (m == NULL)
        return;
    for (size_t t = 0; t < m->n_targets; t++) {
        arc_mind_target_t *tg = &m->targets[t];
        for (size_t i = 0; i < tg->n_tracking; i++) {
            free(tg->tracking[i].data);
            free(tg->tracking[i].points);
        }
        free(tg->tracking);
        for (size_t i = 0; tg->keyframes != NULL && i < tg->n_keyframes; i++) {
            arc_mind_keyframe_t *kf = &tg->keyframes[i];
            free(kf->maxima);
            free(kf->minima);
            arc_mind_node_dispose(&kf->maxima_tree);
            arc_mind_node_dispose(&kf->minima_tree);
        }
        free(tg->keyframes);
    }
    free(m->targets);
    free(m);
}

static void stats(const arc_mind_node_t *n, size_t level, size_t *nodes, size_t *leaves,
                  size_t *depth)
{
    (*nodes)++;
    if (level > *depth)
        *depth = level;
    if (n->leaf) {
        (*leaves)++;
        return;
    }
    for (size_t i = 0; i < n->count; i++)
        stats(&n->children[i], level + 1, nodes, leaves, depth);
}

void arc_mind_tree_stats(const arc_mind_node_t *root, size_t *nodes, size_t *leaves, size_t *depth)
{
    *nodes = *leaves = *depth = 0;
    stats(root, 1, nodes, leaves, depth);
}

int arc_mind_tree_equal(const arc_mind_node_t *a, const arc_mind_node_t *b)
{
    if (a->center != b->center || a->leaf != b->leaf || a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++) {
        if (a->leaf ? a->points[i] != b->points[i]
                    : !arc_mind_tree_equal(&a->children[i], &b->children[i]))
            return 0;
    }
    return 1;
}
