#pragma once
/// Small real PNG images for simulated results: 64x64, one colour taken from a hash, so a client gets an image.

#include <cstdint>
#include <string>

namespace cutover::providers {

/// A 64x64 single-colour PNG (palette, 1 bit per pixel) as raw bytes.
std::string solid_png(std::uint8_t r, std::uint8_t g, std::uint8_t b);
/// The PNG whose colour is derived from `seed` (e.g. a prompt hash), base64-encoded.
std::string solid_png_base64(std::uint32_t seed);

std::string base64_encode(const std::string& bytes);

} // namespace cutover::providers
