/* The link check of a layer (CMakeLists.txt, arcd_layer): every object of the
 * layer is linked into this program with only the layers it declares, so a
 * call into a layer it may not use fails to link. */
int main(void)
{
    return 0;
}
