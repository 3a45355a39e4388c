/* Nearest centers in one pass over the samples (lazyheat's "nearest" op).
 *
 * For every row x of X (n x d, row-major) the distance to each of the k centers is
 * evaluated exactly (the sum of squared or absolute differences, not the expansion
 * ||x||^2 - 2 x.c + ||c||^2, so there is no cancellation), the first minimum is taken, and
 * the row is added into that center's stats: stats[j, 0..d-1] += w x, stats[j, d] += w,
 * stats[j, d+1] += w dist, with the row's weight w (1 when W is NULL).
 *
 * Rows are taken one vector's worth at a time (16 float or 8 double rows, GCC/Clang vector
 * extensions: 64-byte vectors, split by the compiler where the machine's are narrower),
 * transposed into a small buffer, so that every operation runs across the rows of the tile:
 * the distances to one center, then the running minimum over the centers as a
 * compare-and-select without branches (the nearest center of random data is unpredictable)
 * and without horizontal reductions. Each distance sums its d terms in index order, so a
 * row's distances do not depend on the tile it falls in.
 *
 * Rows are processed in blocks of BLOCK; each block's stats are accumulated separately and
 * the blocks are added in block order, so the result does not depend on how many threads ran
 * (OpenMP, when compiled with it): bit-identical for a given n whatever the thread count.
 * labels, dist and stats may each be NULL when not wanted.
 */
#include <stdint.h>
#include <stdlib.h>

#define BLOCK 8192

typedef float vf32 __attribute__((vector_size(64)));
typedef int32_t vi32 __attribute__((vector_size(64)));
typedef double vf64 __attribute__((vector_size(64)));
typedef int64_t vi64 __attribute__((vector_size(64)));

#define DEFINE_NEAREST(NAME, T, I, VT, VI)                                                   \
int NAME(const T *restrict X, const T *restrict W, int64_t n, int64_t d,                      \
         const T *restrict C, int64_t k, int metric, int64_t *restrict labels,                \
         T *restrict dist, double *restrict stats, int nthreads)                              \
{                                                                                             \
    enum { TILE = sizeof(VT) / sizeof(T) };                                                   \
    const int64_t nblocks = (n + BLOCK - 1) / BLOCK;                                          \
    const int64_t w = d + 2;                                                                  \
    double *part = NULL;                                                                      \
    int failed = 0;                                                                           \
    if (stats && nblocks > 1) {                                                               \
        part = (double *)calloc((size_t)nblocks * k * w, sizeof(double));                     \
        if (!part) return 1;                                                                  \
    }                                                                                         \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads) reduction(|:failed)")  \
    for (int64_t b = 0; b < nblocks; b++) {                                                   \
        VT *xt = (VT *)aligned_alloc(sizeof(VT), (size_t)(d > 0 ? d : 1) * sizeof(VT));       \
        if (!xt) { failed = 1; continue; }                                                    \
        double *mine = !stats ? NULL : (part ? part + b * k * w : stats);                     \
        const int64_t end = (b + 1) * BLOCK < n ? (b + 1) * BLOCK : n;                        \
        for (int64_t r0 = b * BLOCK; r0 < end; r0 += TILE) {                                  \
            const int64_t m = end - r0 < TILE ? end - r0 : TILE;                              \
            T *flat = (T *)xt;                                                                \
            for (int64_t rr = 0; rr < m; rr++)                                                \
                for (int64_t i = 0; i < d; i++) flat[i * TILE + rr] = X[(r0 + rr) * d + i];   \
            for (int64_t rr = m; rr < TILE; rr++)                                             \
                for (int64_t i = 0; i < d; i++) flat[i * TILE + rr] = 0;                      \
            VT bv = {0};                                                                      \
            VI bi = {0};                                                                      \
            for (int64_t j = 0; j < k; j++) {                                                 \
                VT acc = {0};                                                                 \
                const T *restrict c = C + j * d;                                              \
                if (metric == 0) {                                                            \
                    for (int64_t i = 0; i < d; i++) {                                         \
                        const VT t = xt[i] - c[i];                                            \
                        acc += t * t;                                                         \
                    }                                                                         \
                } else {                                                                      \
                    for (int64_t i = 0; i < d; i++) {                                         \
                        const VT t = xt[i] - c[i];                                            \
                        const VI neg = t < 0;                                                 \
                        acc += (VT)(((VI)t & ~neg) | ((VI)(-t) & neg));                      \
                    }                                                                         \
                }                                                                             \
                if (j == 0) {                                                                 \
                    bv = acc;                                                                 \
                } else {                                                                      \
                    const VI lt = acc < bv; /* strict: the first minimum wins ties */         \
                    bi = (bi & ~lt) | (((VI){0} + (I)j) & lt);                                \
                    bv = (VT)(((VI)bv & ~lt) | ((VI)acc & lt));                               \
                }                                                                             \
            }                                                                                 \
            for (int64_t rr = 0; rr < m; rr++) {                                              \
                const int64_t r = r0 + rr;                                                    \
                const int64_t best = (int64_t)bi[rr];                                         \
                if (labels) labels[r] = best;                                                 \
                if (dist) dist[r] = bv[rr];                                                   \
                if (mine) {                                                                   \
                    const T *restrict x = X + r * d;                                          \
                    double *restrict s = mine + best * w;                                     \
                    const double wr = W ? (double)W[r] : 1.0;                                 \
                    for (int64_t i = 0; i < d; i++) s[i] += wr * (double)x[i];                \
                    s[d] += wr;                                                               \
                    s[d + 1] += wr * (double)bv[rr];                                          \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        free(xt);                                                                             \
    }                                                                                         \
    if (part) {                                                                               \
        for (int64_t b = 0; b < nblocks; b++) {                                               \
            const double *src = part + b * k * w;                                             \
            for (int64_t e = 0; e < k * w; e++) stats[e] += src[e];                           \
        }                                                                                     \
        free(part);                                                                           \
    }                                                                                         \
    return failed;                                                                            \
}

DEFINE_NEAREST(nearest_f32, float, int32_t, vf32, vi32)
DEFINE_NEAREST(nearest_f64, double, int64_t, vf64, vi64)
