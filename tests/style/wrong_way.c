/*
 * A dependency in the wrong direction, on purpose: a daemon-side file (it
 * links like src/daemon/) calling the compiler, which lives in a layer the
 * daemon may not use. Its link check must fail to link; the test
 * style.wrong_way_is_a_link_error passes when it does.
 */
#include "arcd/compiler.h"

int arc_wrong_way(void);

int arc_wrong_way(void)
{
    arc_err_t err;
    return arc_compile_check(100, 100, 0, &err);
}
