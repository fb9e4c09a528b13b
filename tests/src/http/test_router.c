/* Tests for src/http/router.c: matching requests against a route table. */
#include "../../test.h"
#include "arcd/router.h"

static void h(arc_http_req_t *req)
{
    (void)req;
}

static const arc_route_t table[] = {
    {"POST", "/api/ar/create-demo", "create-demo", NULL, h, 1},
    {"POST", "/api/ar/create", "create", NULL, h, 1},
    {"GET", "/api/ar/status/:id", "status", NULL, h, 1},
    {"DELETE", "/api/ar/status/:id", "delete", NULL, h, 1},
    {"GET", "/objects/ar-storage/:id/:file", "objects", NULL, h, 0},
    {"GET", "/vendor/:file", "vendor", NULL, h, 0},
    {"GET", "/healthz", "healthz", NULL, h, 0},
    {"GET", "/app/*", "app", NULL, h, 0},
};
#define N (sizeof(table) / sizeof(table[0]))

static const char *name_of(const char *method, const char *path, arc_route_match_t *m)
{
    arc_route_match(table, N, method, path, m);
    return m->route ? m->route->name : NULL;
}

TEST(test_literal_routes)
{
    arc_route_match_t m;

    CHECK_STR(name_of("POST", "/api/ar/create-demo", &m), "create-demo");
    CHECK_STR(name_of("POST", "/api/ar/create", &m), "create");
    CHECK_STR(name_of("GET", "/healthz", &m), "healthz");
    CHECK(m.status == 0 && m.n_params == 0);
    /* Exact: no prefix, no trailing slash, no extension. */
    CHECK(name_of("POST", "/api/ar/create-demos", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/healthz/", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/health", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/", &m) == NULL && m.status == 404);
}

TEST(test_parameters)
{
    arc_route_match_t m;

    CHECK_STR(name_of("GET", "/api/ar/status/abc-123", &m), "status");
    CHECK_STR(arc_route_param(&m, "id"), "abc-123");
    CHECK(arc_route_param(&m, "file") == NULL);
    CHECK_STR(name_of("GET", "/objects/ar-storage/ID/marker.mind", &m), "objects");
    CHECK_STR(arc_route_param(&m, "id"), "ID");
    CHECK_STR(arc_route_param(&m, "file"), "marker.mind");
    CHECK(arc_route_param(&m, "i") == NULL && arc_route_param(&m, "ids") == NULL);
    /* A parameter is one non-empty segment. */
    CHECK(name_of("GET", "/api/ar/status/", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/api/ar/status/a/b", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/objects/ar-storage/ID/", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/objects/ar-storage//x", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/objects/ar-storage/a/b/c", &m) == NULL && m.status == 404);
    CHECK(name_of("GET", "/vendor/a/b", &m) == NULL && m.status == 404);
}

TEST(test_rest_of_the_path)
{
    arc_route_match_t m;

    CHECK_STR(name_of("GET", "/app/", &m), "app");
    CHECK_STR(arc_route_param(&m, "*"), "");
    CHECK_STR(name_of("GET", "/app/projects/42/edit", &m), "app");
    CHECK_STR(arc_route_param(&m, "*"), "projects/42/edit");
    CHECK(name_of("GET", "/app", &m) == NULL);
}

TEST(test_methods)
{
    arc_route_match_t m;

    /* GET routes answer HEAD. */
    CHECK_STR(name_of("HEAD", "/healthz", &m), "healthz");
    CHECK_STR(name_of("HEAD", "/api/ar/status/x", &m), "status");
    /* The same pattern with two methods. */
    CHECK_STR(name_of("DELETE", "/api/ar/status/x", &m), "delete");
    /* A known path, another method: 405 with every method it takes. */
    CHECK(name_of("PUT", "/api/ar/status/x", &m) == NULL);
    CHECK_EQ_INT(m.status, 405);
    CHECK_STR(m.allow, "GET, HEAD, DELETE");
    CHECK(name_of("GET", "/api/ar/create", &m) == NULL && m.status == 405);
    CHECK_STR(m.allow, "POST");
    CHECK(name_of("HEAD", "/api/ar/create", &m) == NULL && m.status == 405);
    CHECK(m.n_params == 0);
    /* Methods are case-sensitive (RFC 9110). */
    CHECK(name_of("get", "/healthz", &m) == NULL && m.status == 405);
}

TEST(test_long_segments_do_not_match)
{
    arc_route_match_t m;
    char path[600];

    snprintf(path, sizeof(path), "/api/ar/status/%0*d", ARC_ROUTE_MAX_VALUE - 1, 7);
    CHECK(name_of("GET", path, &m) != NULL);
    CHECK_EQ_INT(strlen(arc_route_param(&m, "id")), ARC_ROUTE_MAX_VALUE - 1);
    snprintf(path, sizeof(path), "/api/ar/status/%0*d", ARC_ROUTE_MAX_VALUE, 7);
    CHECK(name_of("GET", path, &m) == NULL && m.status == 404);
}

TEST(test_first_match_wins)
{
    static const arc_route_t t[] = {
        {"GET", "/a/:x", "param", NULL, h, 0},
        {"GET", "/a/b", "literal", NULL, h, 0},
    };
    arc_route_match_t m;

    arc_route_match(t, 2, "GET", "/a/b", &m);
    CHECK_STR(m.route->name, "param");
    CHECK_STR(arc_route_param(&m, "x"), "b");
    arc_route_match(t, 0, "GET", "/a/b", &m);
    CHECK(m.route == NULL && m.status == 404);
}
