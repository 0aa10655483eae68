/* The stand-in libaml's own entry points (the aml_dma_ze_* symbols it also
 * defines are declared by aml/dma/ze.h). */
#ifndef CTEST_STANDIN_H
#define CTEST_STANDIN_H

#include <aml/dma/ze.h>

/* What every stand-in aml_dma_ze_* function returns: a value no real
 * implementation returns, so a test sees whose code ran. */
#define STANDIN_SENTINEL (-4242)

/* Like libaml's aml_init(): runs the ze backend init, which creates
 * aml_dma_ze_default on the first device through aml_dma_ze_create. */
int standin_aml_init(void);
int standin_aml_finalize(void);
/* aml_dma_ze_default and &aml_dma_ze_ops as the stand-in sees them, through
 * its GOT (it is linked without -Bsymbolic, like libaml). */
struct aml_dma *standin_default_dma(void);
struct aml_dma_ops *standin_ops_address(void);

#endif
