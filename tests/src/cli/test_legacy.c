/* Tests for src/cli/legacy_cmd.c: the old system's file URLs, mapped to a
 * file inside the old storage and nowhere else. */
#include "../../test.h"
#include "arcd/cli.h"

static int maps(const char *url, const char *want_id, const char *want_file)
{
    char id[ARC_ID_MAX + 1] = "", file[ARC_MAX_FILE_NAME + 1] = "";

    if (arc_cli_legacy_file(url, id, file) != 0)
        return 0;
    return strcmp(id, want_id) == 0 && strcmp(file, want_file) == 0;
}

TEST(test_old_urls)
{
    const char *id = "demo-1763812430225-hr7mysw";

    CHECK(maps("/api/ar/storage/demo-1763812430225-hr7mysw/video.mp4", id, "video.mp4"));
    CHECK(maps("https://shop.example/api/ar/storage/demo-1763812430225-hr7mysw/index.html", id,
               "index.html"));
    CHECK(maps("http://shop.example:8080/objects/ar-storage/demo-1763812430225-hr7mysw/"
               "target-1_photo.JPG?v=3#x",
               id, "target-1_photo.JPG"));
    CHECK(maps("/objects/ar-storage/ar-1700000000000-abcd/photo-1.png", "ar-1700000000000-abcd",
               "photo-1.png"));
    CHECK(maps("/api/ar/storage/0f8fad5b-d9cb-469f-a165-70867728950e/marker.mind",
               "0f8fad5b-d9cb-469f-a165-70867728950e", "marker.mind"));
}

TEST(test_other_urls_name_no_file)
{
    char id[ARC_ID_MAX + 1], file[ARC_MAX_FILE_NAME + 1];
    static const char *const bad[] = {
        "",
        "video.mp4",
        "api/ar/storage/demo-1763812430225-hr7mysw/video.mp4", /* relative */
        "https://shop.example",
        "https://shop.example/video.mp4",
        "ftp://shop.example/api/ar/storage/demo-1763812430225-hr7mysw/video.mp4",
        "/api/ar/storage/demo-1763812430225-hr7mysw/",
        "/api/ar/storage/demo-1763812430225-hr7mysw",
        "/api/ar/storage/demo-1763812430225-hr7mysw/../../etc/passwd",
        "/api/ar/storage/demo-1763812430225-hr7mysw/sub/video.mp4",
        "/api/ar/storage/demo-1763812430225-hr7mysw/.hidden",
        "/api/ar/storage/demo-1763812430225-hr7mysw/..",
        "/api/ar/storage/../demo-1763812430225-hr7mysw/video.mp4",
        "/api/ar/storage/DEMO-1763812430225-hr7mysw/video.mp4",
        "/api/ar/storage/demo-1763812430225-hr7mysw/vid%2f..%2fx.mp4",
        "/api/ar/storage/demo-1763812430225-hr7mysw/v i.mp4",
        "/api/ar/storage/demo-1763812430225-hr7mysw/"
        "a-file-name-of-sixty-five-characters-is-longer-than-arcd-takes.mp4",
        "https://shop.example/?next=/api/ar/storage/demo-1763812430225-hr7mysw/video.mp4",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_MSG(arc_cli_legacy_file(bad[i], id, file) != 0, "'%s' mapped", bad[i]);
    CHECK(arc_cli_legacy_file(NULL, id, file) != 0);
}
