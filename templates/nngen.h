/* nngen.h — the prelude every generated kernel file starts with: the element type and the libm functions
 * the kernels use. Declared here rather than through <math.h>, which costs tcc several milliseconds. */
#ifndef NNGEN_H
#define NNGEN_H

#include <stddef.h>
#include <stdint.h>

#ifndef NNGEN_REAL
#define NNGEN_REAL float
#endif
/* The element type of every tensor of the model (float or double). */
typedef NNGEN_REAL real;

double exp(double);
double log(double);
double sqrt(double);
double cos(double);
double pow(double, double);
void *memset(void *, int, size_t);
void *memcpy(void *, const void *, size_t);

#endif /* NNGEN_H */
