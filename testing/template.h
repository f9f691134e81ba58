/* Files made from templates in the runfiles (the cluster file, nginx's
 * configuration): the one filler the harness and, by the same @NAME@
 * grammar, the launcher use. */
#ifndef HS_TEST_TEMPLATE_H
#define HS_TEST_TEMPLATE_H

/* Writes path from the template at runfile rel, each @NAME@ replaced by
 * the value after NAME in vars ("NAME", "value", ..., NULL); an @NAME@
 * not in vars is copied as it is. 0, or -1 after printing why. */
int test_template_fill(const char *rel, const char *path,
    const char *const *vars);

#endif
