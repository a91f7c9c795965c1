// int8 dot-product kernels for quantized weights (AVX-512 VNNI), called from FloraTensor's
// MatMulInt8.swift. Swift cannot emit vpdpbusd or vpermb, so these few functions are C with
// intrinsics; each has a naive Swift twin (Int8Reference.swift) that the tests hold them to,
// bit for bit.
#ifndef FLORA_INT8_KERNELS_H
#define FLORA_INT8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU (and the OS's saved register state) runs the kernels below: AVX-512 F, BW,
/// VNNI and VBMI. 0 otherwise, and always 0 on other architectures, where the kernels are absent.
int flora_int8_supported(void);

/// Quantizes `rows` rows of `k` floats (k a multiple of 32; row r at x + r * lda) per block of 32,
/// as llama.cpp's Q8 activations: d = max|x| / 127, q = round-to-nearest-even(x · (1/d)) (0 when
/// d = 0). Writes codes[r * k + p], scales[r * (k / 32) + b] = d, sums[r * (k / 32) + b] = Σ q.
void flora_quantize_rows_q8(
    const float *x, size_t lda, int rows, int k, int8_t *codes, float *scales, int32_t *sums);

/// As `flora_quantize_rows_q8` for one row whose values are first multiplied by `scale[p]`
/// (fLoRA's expanded rows, x ∘ A[j, :]); `scale` may be NULL.
void flora_quantize_scaled_row_q8(
    const float *x, const float *scale, int k, int8_t *codes, float *scales, int32_t *sums);

/// One tile of `rows` (1…4) activation rows × `panels` (1…4) Q4_1 panels of 32 outputs, over
/// `blocks` k-blocks of 32 inputs. `tiles` is the first panel's first tile (QuantizedPanels.swift),
/// panels `panel_bytes` apart; the rows' codes are `code_stride` bytes apart and their scales and
/// sums `block_stride` elements apart. Writes out[r * 128 + 32 * p + c].
/// For each output: acc = 0; per block b: acc = fma(Σ q_w · q_x, d_w · d_x, acc); acc = fma(m_w, d_x · Σ q_x, acc).
void flora_q4_1_tile(
    int rows, int panels, const uint8_t *tiles, size_t panel_bytes, int blocks,
    const int8_t *codes, size_t code_stride, const float *scales, const int32_t *sums, size_t block_stride,
    float *out);

/// As `flora_q4_1_tile` for Q8_0 panels: per block b: acc = fma(Σ q_w · q_x, d_w · d_x, acc).
void flora_q8_0_tile(
    int rows, int panels, const uint8_t *tiles, size_t panel_bytes, int blocks,
    const int8_t *codes, size_t code_stride, const float *scales, const int32_t *sums, size_t block_stride,
    float *out);

#ifdef __cplusplus
}
#endif

#endif
