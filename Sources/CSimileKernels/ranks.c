#include "simile_ranks.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define SIMILE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMILE_CLONES
#endif

/* Entries whose cells are computed (vectorised) before they are counted. */
#define SIMILE_RANK_CHUNK 64
/* Rows per block of the lanes kernel. */
#define SIMILE_RANK_BLOCK 16

/* pos of a distance from its table entry: direct, or by comparing keys in an occupied cell. */
static inline long simile_rank_position(uint32_t entry, float value, uint32_t index, const uint64_t *keys,
                                        long key_count) {
    long pos = (long)(entry & ~SIMILE_RANK_OCCUPIED);
    if (entry & SIMILE_RANK_OCCUPIED) {
        uint32_t bits;
        memcpy(&bits, &value, sizeof bits);
        uint64_t key = (uint64_t)bits << 32 | index;
        while (pos < key_count && keys[pos] < key) pos++;
    }
    return pos;
}

typedef uint32_t simile_u32x16 __attribute__((ext_vector_type(16)));

/* Runs between consecutive thresholds' cells are about G/R = 16 entries long: two unconditional
   16-entry stores cover most of them, and the loop that follows rarely runs. The thresholds'
   cells are computed a chunk at a time first (vectorised). */
SIMILE_CLONES
static void simile_rank_fill_table_clone(uint32_t *table, const uint64_t *keys, long r, simile_rank_grid grid) {
    uint32_t cells[SIMILE_RANK_CHUNK] __attribute__((aligned(64)));
    long filled = 0;
    for (long start = 0; start < r; start += SIMILE_RANK_CHUNK) {
        long m = r - start < SIMILE_RANK_CHUNK ? r - start : SIMILE_RANK_CHUNK;
        for (long s = 0; s < m; s++) {
            uint32_t bits = (uint32_t)(keys[start + s] >> 32);
            float value;
            memcpy(&value, &bits, sizeof value);
            cells[s] = simile_rank_cell(value, grid.lowest, grid.highest, grid.scale, grid.top);
        }
        for (long s = 0; s < m; s++) {
            long c = (long)cells[s];
            if (c < filled) continue; /* a cell that already holds an earlier threshold */
            simile_u32x16 entry = (uint32_t)(start + s);
            memcpy(table + filled, &entry, sizeof entry);
            memcpy(table + filled + 16, &entry, sizeof entry);
            for (long p = filled + 32; p < c; p += 16) memcpy(table + p, &entry, sizeof entry);
            table[c] = (uint32_t)(start + s) | SIMILE_RANK_OCCUPIED;
            filled = c + 1;
        }
    }
    simile_u32x16 entry = (uint32_t)r;
    for (long p = filled; p <= (long)(uint32_t)grid.top; p += 16) memcpy(table + p, &entry, sizeof entry);
}

void simile_rank_fill_table(uint32_t *table, const uint64_t *keys, long r, simile_rank_grid grid) {
    simile_rank_fill_table_clone(table, keys, r, grid);
}

/* The row kernel; `distances` and `store` (constants at each call) say whether products are
   turned into distances here or are the distances already, and whether the clamped distances
   are written out (a run-time test in the loop would keep it from vectorising). */
static inline __attribute__((always_inline)) void simile_rank_tally_row_body(
    const float *products, const float *norms, const int32_t *labels, float own, int32_t own_label, long n,
    long first, simile_rank_grid grid, const uint32_t *table, const uint64_t *keys, long key_count, int32_t *counts,
    float *clamped, int distances, int store) {
#pragma clang fp contract(off)
    long stride = key_count + 1;
    int32_t *c0 = counts, *c1 = counts + stride, *c2 = counts + 2 * stride, *c3 = counts + 3 * stride;
    uint32_t cells[SIMILE_RANK_CHUNK] __attribute__((aligned(64)));
    float values[SIMILE_RANK_CHUNK] __attribute__((aligned(64)));
    for (long start = 0; start < n; start += SIMILE_RANK_CHUNK) {
        long m = n - start < SIMILE_RANK_CHUNK ? n - start : SIMILE_RANK_CHUNK;
        const float *p = products + start;
        if (distances) {
            const float *q = norms + start;
            const int32_t *l = labels + start;
            for (long s = 0; s < m; s++) {
                float v = own + q[s] + p[s];
                v = v > 0 ? v : 0;
                if (store) clamped[start + s] = v;
                v = l[s] == own_label ? INFINITY : v;
                values[s] = v;
                cells[s] = simile_rank_cell(v, grid.lowest, grid.highest, grid.scale, grid.top);
            }
        } else {
            for (long s = 0; s < m; s++) {
                values[s] = p[s];
                cells[s] = simile_rank_cell(p[s], grid.lowest, grid.highest, grid.scale, grid.top);
            }
        }
        uint32_t index = (uint32_t)(first + start);
        long s = 0;
        for (; s + 4 <= m; s += 4) {
            long p0 = simile_rank_position(table[cells[s]], values[s], index + (uint32_t)s, keys, key_count);
            long p1 = simile_rank_position(table[cells[s + 1]], values[s + 1], index + (uint32_t)s + 1, keys, key_count);
            long p2 = simile_rank_position(table[cells[s + 2]], values[s + 2], index + (uint32_t)s + 2, keys, key_count);
            long p3 = simile_rank_position(table[cells[s + 3]], values[s + 3], index + (uint32_t)s + 3, keys, key_count);
            c0[p0]++;
            c1[p1]++;
            c2[p2]++;
            c3[p3]++;
        }
        for (; s < m; s++) {
            c0[simile_rank_position(table[cells[s]], values[s], index + (uint32_t)s, keys, key_count)]++;
        }
    }
}

SIMILE_CLONES
static void simile_rank_tally_distances(const float *products, const float *norms, const int32_t *labels, float own,
                                        int32_t own_label, long n, long first, simile_rank_grid grid,
                                        const uint32_t *table, const uint64_t *keys, long key_count, int32_t *counts) {
    simile_rank_tally_row_body(products, norms, labels, own, own_label, n, first, grid, table, keys, key_count, counts,
                               NULL, 1, 0);
}

SIMILE_CLONES
static void simile_rank_tally_distances_stored(const float *products, const float *norms, const int32_t *labels,
                                               float own, int32_t own_label, long n, long first,
                                               simile_rank_grid grid, const uint32_t *table, const uint64_t *keys,
                                               long key_count, int32_t *counts, float *clamped) {
    simile_rank_tally_row_body(products, norms, labels, own, own_label, n, first, grid, table, keys, key_count, counts,
                               clamped, 1, 1);
}

SIMILE_CLONES
static void simile_rank_tally_values(const float *values, long n, long first, simile_rank_grid grid,
                                     const uint32_t *table, const uint64_t *keys, long key_count, int32_t *counts) {
    simile_rank_tally_row_body(values, NULL, NULL, 0, 0, n, first, grid, table, keys, key_count, counts, NULL, 0, 0);
}

void simile_rank_tally_row(const float *products, const float *norms, const int32_t *labels, float own,
                           int32_t own_label, long n, long first, simile_rank_grid grid, const uint32_t *table,
                           const uint64_t *keys, long key_count, int32_t *counts, float *clamped) {
    if (norms && clamped) {
        simile_rank_tally_distances_stored(products, norms, labels, own, own_label, n, first, grid, table, keys,
                                           key_count, counts, clamped);
    } else if (norms) {
        simile_rank_tally_distances(products, norms, labels, own, own_label, n, first, grid, table, keys, key_count,
                                    counts);
    } else {
        simile_rank_tally_values(products, n, first, grid, table, keys, key_count, counts);
    }
}

SIMILE_CLONES
static void simile_rank_tally_lanes_clone(const float *products, long ldc, long rows, int32_t first_row,
                                          const float *row_norms, const int32_t *row_labels,
                                          const simile_rank_lanes *lanes) {
#pragma clang fp contract(off)
    /* Blocks of SIMILE_RANK_BLOCK rows: their distances and table offsets row by row, then
       each lane counts its column of the block (with its table, which does not stay in the L1
       cache while the other lanes count, at hand for the whole block). */
    float values[SIMILE_RANK_BLOCK][16] __attribute__((aligned(64)));
    uint32_t cells[SIMILE_RANK_BLOCK][16] __attribute__((aligned(64)));
    float norm[16], lowest[16], highest[16], scale[16], top[16];
    int32_t label[16], after[16];
    uint32_t offset[16];
    for (int l = 0; l < 16; l++) {
        norm[l] = lanes->norm[l];
        lowest[l] = lanes->lowest[l];
        highest[l] = lanes->highest[l];
        scale[l] = lanes->scale[l];
        top[l] = lanes->top[l];
        label[l] = lanes->label[l];
        after[l] = lanes->after[l];
        offset[l] = (uint32_t)(l * lanes->table_stride);
    }
    const uint32_t *tables = lanes->tables;
    for (long block = 0; block < rows; block += SIMILE_RANK_BLOCK) {
        long height = rows - block < SIMILE_RANK_BLOCK ? rows - block : SIMILE_RANK_BLOCK;
        /* The next block's rows (one cache line each when the tile is aligned), fetched while
           this block is counted: the rows are a whole tile row apart. */
        for (long r = block + height; r < block + height + SIMILE_RANK_BLOCK && r < rows; r++) {
            __builtin_prefetch(products + r * ldc);
        }
        for (long r = 0; r < height; r++) {
            const float *p = products + (block + r) * ldc;
            float own = row_norms[block + r];
            int32_t own_label = row_labels[block + r];
            int32_t index = first_row + (int32_t)(block + r);
            for (int l = 0; l < 16; l++) {
                float v = own + norm[l] + p[l];
                v = v > 0 ? v : 0;
                v = ((own_label == label[l]) | (index <= after[l])) ? INFINITY : v;
                values[r][l] = v;
                cells[r][l] = offset[l] + simile_rank_cell(v, lowest[l], highest[l], scale[l], top[l]);
            }
        }
        uint32_t index = (uint32_t)(first_row + (int32_t)block);
        for (long k = 0; k < lanes->active_count; k++) {
            int l = lanes->active[k];
            const uint64_t *keys = lanes->keys[l];
            long key_count = lanes->key_count[l], stride = key_count + 1;
            int32_t *c0 = lanes->counts[l], *c1 = c0 + stride, *c2 = c0 + 2 * stride, *c3 = c0 + 3 * stride;
            long r = 0;
            for (; r + 4 <= height; r += 4) {
                long p0 = simile_rank_position(tables[cells[r][l]], values[r][l], index + (uint32_t)r, keys, key_count);
                long p1 = simile_rank_position(tables[cells[r + 1][l]], values[r + 1][l], index + (uint32_t)r + 1, keys,
                                               key_count);
                long p2 = simile_rank_position(tables[cells[r + 2][l]], values[r + 2][l], index + (uint32_t)r + 2, keys,
                                               key_count);
                long p3 = simile_rank_position(tables[cells[r + 3][l]], values[r + 3][l], index + (uint32_t)r + 3, keys,
                                               key_count);
                c0[p0]++;
                c1[p1]++;
                c2[p2]++;
                c3[p3]++;
            }
            for (; r < height; r++) {
                c0[simile_rank_position(tables[cells[r][l]], values[r][l], index + (uint32_t)r, keys, key_count)]++;
            }
        }
    }
}

void simile_rank_tally_lanes(const float *products, long ldc, long rows, int32_t first_row, const float *row_norms,
                             const int32_t *row_labels, const simile_rank_lanes *lanes) {
    simile_rank_tally_lanes_clone(products, ldc, rows, first_row, row_norms, row_labels, lanes);
}
