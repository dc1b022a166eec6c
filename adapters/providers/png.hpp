#pragma once
/// Small real PNG images for simulated results: 64x64, one colour taken from a hash, so a client gets an image.

#include <cstdint>
#include <string>

namespace cutover::providers {

/// A 64x64 single-colour PNG (palette, 1 bit per pixel) as raw bytes.
std::string solid_png(std::uint8_t r, std::uint8_t g, std::uint8_t b);
/// The PNG whose colour is derived from `seed` (e.g. a prompt hash), base64-encoded.
std::string solid_png_base64(std::uint32_t seed);

/// The PNG of solid_png_base64(seed) grown to about `bytes` bytes by a private ancillary chunk of noise (viewers
/// skip it; like real pixels it does not compress), base64-encoded: a result of a realistic size for benches.
std::string padded_png_base64(std::uint32_t seed, std::size_t bytes);

std::string base64_encode(const std::string& bytes);

} // namespace cutover::providers
