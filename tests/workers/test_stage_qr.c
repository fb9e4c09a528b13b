/* Tests for workers/stage_qr.c: the QR code files decode (zbarimg) to the view URL. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "arcd/image.h"
#include "arcd/worker.h"

TEST(test_qr_files_decode_to_the_view_url)
{
    char dir[] = "/tmp/arcd-qr-XXXXXX";
    static const char url[] =
        "https://prints.example.com/ar/view/0123abcd-4567-89ef-0123-456789abcdef";
    arc_job_msg_t in = {.view_url = (char *)url};
    arc_job_t job;
    arc_err_t err = {{0}};
    char cmd[512], got[512] = "";

    CHECK(mkdtemp(dir) != NULL);
    memset(&job, 0, sizeof(job));
    in.dir = dir;
    job.in = &in;
    job.dir = dir;
    job.files = json_array();
    CHECK_MSG(arc_stage_qr(&job, &err) == 0, "%s", err.msg);
    CHECK(json_array_size(job.files) == 2);

    /* The PNG: a 1-bit square with a 4-module quiet zone at 10 px a module. */
    snprintf(cmd, sizeof(cmd), "%s/qr-code.png", dir);
    arc_image_t img;
    CHECK(arc_image_load_grey(cmd, 0, &img, &err) == 0);
    CHECK(img.width == img.height && img.width % 10 == 0);
    CHECK(img.data[0] == 255 && img.data[39 * img.width + 39] == 255); /* quiet zone */
    CHECK(img.data[40 * img.width + 40] == 0); /* the finder pattern's corner */
    arc_image_dispose(&img);

    /* A real reader gets the URL back. */
    snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s/qr-code.png", dir);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL && fgets(got, sizeof(got), p) != NULL);
    if (p)
        pclose(p);
    got[strcspn(got, "\n")] = '\0';
    CHECK_MSG(strcmp(got, url) == 0, "zbarimg read '%s'", got);

    /* The SVG draws the same modules on a white square. */
    snprintf(cmd, sizeof(cmd), "%s/qr-code.svg", dir);
    uint8_t *svg = NULL;
    size_t len = 0;
    CHECK(arc_file_read_all(cmd, 1 << 20, &svg, &len, &err) == 0);
    if (svg != NULL) {
        svg[len] = '\0';
        CHECK(strstr((char *)svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ") !=
              NULL);
        CHECK(strstr((char *)svg, "fill=\"#fff\"") != NULL &&
              strstr((char *)svg, "M4 4h7v1h-7z") != NULL);
    }
    free(svg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    json_decref(job.files);
}

TEST(test_no_url_is_an_error)
{
    arc_job_msg_t in = {.dir = "/tmp", .view_url = ""};
    arc_job_t job;
    arc_err_t err = {{0}};

    memset(&job, 0, sizeof(job));
    job.in = &in;
    job.dir = "/tmp";
    CHECK(arc_stage_qr(&job, &err) == ARC_EINVAL);
}
