/* libtcc for Swift: the system header plus static inline wrappers for its macros (Debian: libtcc-dev). */
#ifndef NNGEN_CTCC_SHIM_H
#define NNGEN_CTCC_SHIM_H

#include <libtcc.h>

/* tcc_relocate(s, TCC_RELOCATE_AUTO): TCC_RELOCATE_AUTO is `(void*)1`, a macro Swift cannot import. */
static inline int nngen_tcc_relocate_auto(TCCState *s) { return tcc_relocate(s, TCC_RELOCATE_AUTO); }

#endif
