// AVX-512 VNNI kernels for products of int8-quantized activations with Q4_1 and Q8_0 panels.
// The panels keep the layout the fp32 kernels read (QuantizedPanels.swift): per k-block, input p
// of column c at byte p·16 + c % 16 (Q4_1, high nibble for c ≥ 16) or p·32 + c (Q8_0). vpdpbusd
// wants each 32-bit lane to hold four consecutive inputs of one column, so every group of four
// inputs is regathered in registers with one vpermb (vpermt2b for Q8_0); the panels stay shared
// with the exact path and no second copy of the weights exists.
//
// vpdpbusd multiplies unsigned by signed bytes. Q4_1 codes are unsigned already; Q8_0 codes are
// biased by 128 (an xor of the sign bit), and 128 · Σ q_x is subtracted from the integer sum.
// Integer sums are exact, so only the per-block fp32 epilogue rounds, and it rounds as the
// naive twin does (Int8Reference.swift).
#include "FloraInt8Kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define FLORA_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni,avx512vbmi")))
#define FLORA_INLINE static inline __attribute__((always_inline)) FLORA_TARGET

int flora_int8_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
}

/// Quantizes one row of `k` floats, each multiplied first by `scale[p]` when `scale` is given.
FLORA_INLINE void quantizeRow(const float *row, const float *scale, int k, int8_t *codes, float *scales, int32_t *sums) {
    for (int b = 0; b < k / 32; b++) {
        __m512 v0 = _mm512_loadu_ps(row + 32 * b), v1 = _mm512_loadu_ps(row + 32 * b + 16);
        if (scale) {
            v0 = _mm512_mul_ps(v0, _mm512_loadu_ps(scale + 32 * b));
            v1 = _mm512_mul_ps(v1, _mm512_loadu_ps(scale + 32 * b + 16));
        }
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / 127.0f;
        const __m512 inverse = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inverse));  // nearest, ties to even
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inverse));
        _mm_storeu_si128((__m128i *)(codes + 32 * b), _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(codes + 32 * b + 16), _mm512_cvtsepi32_epi8(q1));
        scales[b] = d;
        sums[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

FLORA_TARGET void flora_quantize_rows_q8(
    const float *x, size_t lda, int rows, int k, int8_t *codes, float *scales, int32_t *sums)
{
    const int blocks = k / 32;
    for (int r = 0; r < rows; r++)
        quantizeRow(x + (size_t)r * lda, NULL, k, codes + (size_t)r * k, scales + (size_t)r * blocks, sums + (size_t)r * blocks);
}

FLORA_TARGET void flora_quantize_scaled_row_q8(
    const float *x, const float *scale, int k, int8_t *codes, float *scales, int32_t *sums)
{
    quantizeRow(x, scale, k, codes, scales, sums);
}

/// Four activation codes of one row as the broadcast operand of vpdpbusd.
FLORA_INLINE __m512i broadcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/// Byte 4c + i of the result is input i of column c: Q4_1 keeps it at i·16 + c.
FLORA_INLINE __m512i q4_1Gather(void) {
    int8_t index[64];
    for (int c = 0; c < 16; c++)
        for (int i = 0; i < 4; i++) index[4 * c + i] = (int8_t)(i * 16 + c);
    return _mm512_loadu_si512(index);
}

/// Byte 4c + i of the result is input i of column `first` + c: Q8_0 keeps it at i·32 + c of the
/// group's 128 bytes (bit 6 of the index picks the second register).
FLORA_INLINE __m512i q8_0Gather(int first) {
    int8_t index[64];
    for (int c = 0; c < 16; c++)
        for (int i = 0; i < 4; i++) index[4 * c + i] = (int8_t)(i * 32 + first + c);
    return _mm512_loadu_si512(index);
}

// R rows × P panels, R·P ≤ 4: 2·R·P integer sums (independent vpdpbusd chains) and as many fp32
// accumulators stay in registers. Constant Q4 (Q4_1, else Q8_0), R and P (the dispatch below)
// fold the format's branches and unroll every loop.
FLORA_INLINE void int8Kernel(
    const int Q4, const int R, const int P, const uint8_t *tiles, size_t panelBytes, int blocks,
    const int8_t *codes, size_t codeStride, const float *scales, const int32_t *sums, size_t blockStride,
    float *out)
{
    const size_t tileBytes = Q4 ? 768 : 1152, codeOffset = Q4 ? 256 : 128, groupBytes = Q4 ? 64 : 128;
    const __m512i gatherLow = Q4 ? q4_1Gather() : q8_0Gather(0), gatherHigh = q8_0Gather(16);
    const __m512i nibble = _mm512_set1_epi8(0x0F), bias = _mm512_set1_epi8((char)0x80);
    __m512 acc[4][8];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 2 * P; j++) acc[r][j] = _mm512_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        __m512i sum[4][8];
        for (int r = 0; r < R; r++)
            for (int j = 0; j < 2 * P; j++) sum[r][j] = _mm512_setzero_si512();
        for (int g = 0; g < 8; g++) {
            __m512i x[4];
            for (int r = 0; r < R; r++) x[r] = broadcast4(codes + r * codeStride + 32 * b + 4 * g);
            for (int p = 0; p < P; p++) {
                const uint8_t *group = tiles + p * panelBytes + (size_t)b * tileBytes + codeOffset + groupBytes * g;
                __m512i low, high;  // unsigned codes of columns 0–15 and 16–31
                if (Q4) {
                    const __m512i w = _mm512_permutexvar_epi8(gatherLow, _mm512_loadu_si512(group));
                    low = _mm512_and_si512(w, nibble);
                    high = _mm512_and_si512(_mm512_srli_epi16(w, 4), nibble);
                } else {
                    const __m512i first = _mm512_loadu_si512(group), second = _mm512_loadu_si512(group + 64);
                    low = _mm512_xor_si512(_mm512_permutex2var_epi8(first, gatherLow, second), bias);
                    high = _mm512_xor_si512(_mm512_permutex2var_epi8(first, gatherHigh, second), bias);
                }
                for (int r = 0; r < R; r++) {
                    sum[r][2 * p] = _mm512_dpbusd_epi32(sum[r][2 * p], low, x[r]);
                    sum[r][2 * p + 1] = _mm512_dpbusd_epi32(sum[r][2 * p + 1], high, x[r]);
                }
            }
        }
        for (int p = 0; p < P; p++) {
            const float *tile = (const float *)(tiles + p * panelBytes + (size_t)b * tileBytes);
            for (int h = 0; h < 2; h++) {
                const __m512 dw = _mm512_loadu_ps(tile + 16 * h);
                for (int r = 0; r < R; r++) {
                    const float dx = scales[r * blockStride + b];
                    __m512i exact = sum[r][2 * p + h];
                    if (!Q4) exact = _mm512_sub_epi32(exact, _mm512_set1_epi32(128 * sums[r * blockStride + b]));
                    __m512 a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), _mm512_mul_ps(dw, _mm512_set1_ps(dx)), acc[r][2 * p + h]);
                    if (Q4) {
                        const __m512 mw = _mm512_loadu_ps(tile + 32 + 16 * h);
                        a = _mm512_fmadd_ps(mw, _mm512_set1_ps(dx * (float)sums[r * blockStride + b]), a);
                    }
                    acc[r][2 * p + h] = a;
                }
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < 2 * P; j++) _mm512_storeu_ps(out + r * 128 + 16 * j, acc[r][j]);
}

// Literal shapes, so that each copy is fully unrolled with its accumulators in registers.
#define FLORA_DISPATCH(Q4)                                                                   \
    switch (rows * 8 + panels) {                                                                 \
    case 1 * 8 + 1: int8Kernel(Q4, 1, 1, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    case 1 * 8 + 2: int8Kernel(Q4, 1, 2, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    case 1 * 8 + 3: int8Kernel(Q4, 1, 3, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    case 1 * 8 + 4: int8Kernel(Q4, 1, 4, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    case 2 * 8 + 1: int8Kernel(Q4, 2, 1, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    case 2 * 8 + 2: int8Kernel(Q4, 2, 2, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    case 3 * 8 + 1: int8Kernel(Q4, 3, 1, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    case 4 * 8 + 1: int8Kernel(Q4, 4, 1, tiles, panel_bytes, blocks, codes, code_stride, scales, sums, block_stride, out); break; \
    default: __builtin_trap();                                                                   \
    }

FLORA_TARGET void flora_q4_1_tile(
    int rows, int panels, const uint8_t *tiles, size_t panel_bytes, int blocks,
    const int8_t *codes, size_t code_stride, const float *scales, const int32_t *sums, size_t block_stride,
    float *out)
{
    FLORA_DISPATCH(1)
}

FLORA_TARGET void flora_q8_0_tile(
    int rows, int panels, const uint8_t *tiles, size_t panel_bytes, int blocks,
    const int8_t *codes, size_t code_stride, const float *scales, const int32_t *sums, size_t block_stride,
    float *out)
{
    FLORA_DISPATCH(0)
}

#else

// Other architectures: no int8 kernels; callers check flora_int8_supported() first.
int flora_int8_supported(void) { return 0; }

void flora_quantize_rows_q8(const float *x, size_t lda, int rows, int k, int8_t *codes, float *scales, int32_t *sums) {
    __builtin_trap();
}

void flora_quantize_scaled_row_q8(const float *x, const float *scale, int k, int8_t *codes, float *scales, int32_t *sums) {
    __builtin_trap();
}

void flora_q4_1_tile(int rows, int panels, const uint8_t *tiles, size_t panel_bytes, int blocks,
    const int8_t *codes, size_t code_stride, const float *scales, const int32_t *sums, size_t block_stride, float *out) {
    __builtin_trap();
}

void flora_q8_0_tile(int rows, int panels, const uint8_t *tiles, size_t panel_bytes, int blocks,
    const int8_t *codes, size_t code_stride, const float *scales, const int32_t *sums, size_t block_stride, float *out) {
    __builtin_trap();
}

#endif
