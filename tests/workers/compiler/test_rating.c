/* Tests for the trackability rating (workers/compiler/rating.c) on MindAR's
 * own compiled targets: the order must make sense, a flat image scores 0. */
#include "../../test.h"
#include "arcd/compiler.h"

static arc_rating_t rate(const char *name)
{
    arc_mind_t *m = NULL;
    arc_err_t err = {{0}};
    arc_rating_t r;

    memset(&r, 0, sizeof(r));
    CHECK_MSG(arc_mind_load(test_path(name), &m, &err) == 0, "%s: %s", name, err.msg);
    if (m != NULL)
        arc_rating_compute(&m->targets[0], &r);
    arc_mind_free(m);
    return r;
}

TEST(test_flat_scores_zero)
{
    arc_rating_t r = rate("flat200x150.ref.mind");
    CHECK_EQ_INT(r.score, 0);
    CHECK_EQ_INT(r.stars, 0);
    CHECK(r.keypoints == 0 && r.coverage == 0 && r.n_reasons > 0);
}

TEST(test_order_is_sensible)
{
    arc_rating_t flat = rate("flat200x150.ref.mind"), tiny = rate("card128x101.ref.mind");
    arc_rating_t card = rate("card.ref.mind"), pict = rate("pictarize.ref.mind");
    arc_rating_t bear = rate("bear.ref.mind"), tex = rate("texture333x517.ref.mind");

    /* A flat image < a thumbnail MindAR cannot track < a card with plain
     * areas < the busy example photos and a full texture. */
    CHECK(flat.score < tiny.score && tiny.score < card.score);
    CHECK(card.score < pict.score && card.score < bear.score && card.score < tex.score);
    CHECK(tiny.stars <= 1 && tiny.n_reasons > 0);
    CHECK(card.stars >= 3 && pict.stars >= 4 && bear.stars >= 4 && tex.stars == 5);
    CHECK(pict.coverage > card.coverage);
}

TEST(test_json)
{
    arc_rating_t r = rate("card128x101.ref.mind");
    json_t *js = arc_rating_json(&r);
    CHECK(json_integer_value(json_object_get(js, "score")) == r.score);
    CHECK(json_integer_value(json_object_get(js, "stars")) == r.stars);
    CHECK(json_is_array(json_object_get(js, "warnings")));
    CHECK(json_is_real(json_object_get(js, "coverage")));
    json_decref(js);
}
