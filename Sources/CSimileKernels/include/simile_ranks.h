#ifndef SIMILE_RANKS_H
#define SIMILE_RANKS_H

#include <stdint.h>

/*
 * Rank counting for k = all (see RelevantRanks.swift): each distance is given pos, the number
 * of a query's sorted same-label thresholds whose key (distance bits << 32 | index) is below its
 * own, and counts[pos] is incremented. pos comes from a table over a uniform grid of cells on
 * [lowest, highest]; a cell that holds a threshold (the `SIMILE_RANK_OCCUPIED` bit of its entry)
 * compares keys. The counts are integers, the same with every instruction set.
 */

/* Marks a table entry whose cell holds a threshold. */
#define SIMILE_RANK_OCCUPIED 0x80000000u

/* The grid cell of a squared distance: 0 at or below `lowest`, about scale·(value − lowest) up
   to `top` (the cell beyond `highest`, as a float), rounded by the 2²³ trick. Monotone in value.
   Swift computes the thresholds' cells with this same function, so that they match the
   distances' cells exactly. */
static inline uint32_t simile_rank_cell(float value, float lowest, float highest, float scale, float top) {
#pragma clang fp contract(off)
    float position = (value - lowest) * scale;
    float clamped = value > highest ? top : (position > 0 ? (position < top ? position : top) : 0);
    union {
        float f;
        uint32_t u;
    } shifted = {.f = clamped + 8388608.0f};
    return shifted.u - 0x4B000000u;
}

/* One query's grid: its table has entries 0 ... beyond, where beyond = (uint32_t)top. */
typedef struct {
    float lowest;
    float highest;
    float scale;
    float top;
} simile_rank_grid;

/* Fills table[0 ... beyond] (beyond = (uint32_t)grid.top) for r ≥ 1 sorted thresholds
   (keys: distance bits << 32 | index): table[c] = #{t : cell(t) < c}, with SIMILE_RANK_OCCUPIED
   where some threshold has cell c. The table needs beyond + 1 + SIMILE_RANK_TABLE_SPILL entries:
   stores run in whole vectors past the end of each run (the next run, or the last, overwrites
   them). */
void simile_rank_fill_table(uint32_t *table, const uint64_t *keys, long r, simile_rank_grid grid);

/* Entries a table needs beyond its last cell for the whole-vector stores of the fill. */
#define SIMILE_RANK_TABLE_SPILL 32

/* One query's distances: for s in [0, n), with index first + s, the value is
   max(0, own + norms[s] + products[s]) (+∞ where labels[s] == own_label), or products[s] itself
   when norms is NULL. Adds 1 to counts[(s % 4)·(key_count + 1) + pos]: four interleaved copies
   of the key_count + 1 counters. When `clamped` is not NULL, clamped[s] receives the value
   before the label test (only with norms). */
void simile_rank_tally_row(const float *products, const float *norms, const int32_t *labels, float own,
                           int32_t own_label, long n, long first, simile_rank_grid grid, const uint32_t *table,
                           const uint64_t *keys, long key_count, int32_t *counts, float *clamped);

/* Up to 16 queries (lanes) side by side, one per column of a tile. */
typedef struct {
    /* Per lane (16 each): the query's squared norm, label, grid, and the highest row index
       that is not counted (INT32_MIN for none: a diagonal tile counts only rows after the
       query). An unused lane has an empty grid (all zero, top 1). */
    const float *norm;
    const int32_t *label;
    const int32_t *after;
    const float *lowest;
    const float *highest;
    const float *scale;
    const float *top;
    /* Lane l's table starts at tables + l·table_stride (at least 2 entries each). */
    const uint32_t *tables;
    long table_stride;
    /* The lanes to count, and for each lane its thresholds, their number and four interleaved
       copies of key_count + 1 counters, as in simile_rank_tally_row. */
    const int32_t *active;
    long active_count;
    const uint64_t *const *keys;
    const long *key_count;
    int32_t *const *counts;
} simile_rank_lanes;

/* The lanes' counts over rows [0, rows) of a tile (row r at products + r·ldc, lane l in
   column l; row index first_row + r): value max(0, row_norms[r] + norm[l] + products[l]), +∞
   where row_labels[r] == label[l] or the row index is at most after[l]. */
void simile_rank_tally_lanes(const float *products, long ldc, long rows, int32_t first_row, const float *row_norms,
                             const int32_t *row_labels, const simile_rank_lanes *lanes);

#endif
