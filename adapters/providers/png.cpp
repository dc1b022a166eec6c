#include "adapters/providers/png.hpp"

#include <array>

#include <zlib.h>

namespace cutover::providers {

namespace {

constexpr int side = 64;

std::uint32_t crc32(const std::string& data, std::uint32_t crc = 0) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char ch : data)
    crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  std::string body = std::string{type, 4} + data;
  out += body;
  put_u32(out, crc32(body));
}

/// The image data never changes (every pixel is palette index 0): compressed once.
const std::string& idat() {
  static const std::string data = [] {
    const std::size_t row = 1 + side / 8; // filter byte + 64 one-bit pixels
    const std::string raw(row * side, '\0');
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string z(size, '\0');
    compress2(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
              static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION);
    z.resize(size);
    return z;
  }();
  return data;
}

} // namespace

std::string solid_png(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  std::string out{"\x89PNG\r\n\x1a\n", 8};
  std::string ihdr;
  put_u32(ihdr, side);
  put_u32(ihdr, side);
  ihdr += std::string{"\x01\x03\x00\x00\x00", 5}; // depth 1, palette, deflate, no filter, no interlace
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "PLTE", std::string{static_cast<char>(r), static_cast<char>(g), static_cast<char>(b)});
  put_chunk(out, "IDAT", idat());
  put_chunk(out, "IEND", "");
  return out;
}

std::string solid_png_base64(std::uint32_t seed) {
  // Only the 15-byte PLTE chunk differs between colours, and it starts and ends on a 3-byte boundary
  // (signature + IHDR = 33 bytes), so the base64 of everything around it is computed once.
  static const auto parts = [] {
    const auto png = solid_png(0, 0, 0);
    constexpr std::size_t plte_at = 33, plte_len = 15;
    return std::pair{base64_encode(png.substr(0, plte_at)), base64_encode(png.substr(plte_at + plte_len))};
  }();
  std::string plte;
  put_chunk(plte, "PLTE", std::string{static_cast<char>(seed >> 16), static_cast<char>(seed >> 8),
                                      static_cast<char>(seed)});
  std::string out;
  out.reserve(parts.first.size() + 20 + parts.second.size());
  out += parts.first;
  out += base64_encode(plte);
  out += parts.second;
  return out;
}

std::string padded_png_base64(std::uint32_t seed, std::size_t bytes) {
  auto png = solid_png(static_cast<std::uint8_t>(seed >> 16), static_cast<std::uint8_t>(seed >> 8),
                       static_cast<std::uint8_t>(seed));
  constexpr std::size_t iend = 12, chunk_overhead = 12;
  if (bytes <= png.size() + chunk_overhead)
    return base64_encode(png);
  std::string noise(bytes - png.size() - chunk_overhead, '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15ull ^ seed; // xorshift64: cheap, and no two seeds share their noise
  for (auto& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x >> 56);
  }
  std::string tail = png.substr(png.size() - iend);
  png.resize(png.size() - iend);
  put_chunk(png, "cuTp", noise); // ancillary, private, safe to copy
  png += tail;
  return base64_encode(png);
}

std::string base64_encode(const std::string& bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16 | static_cast<std::uint8_t>(bytes[i + 1]) << 8 |
                      static_cast<std::uint8_t>(bytes[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16 | static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

} // namespace cutover::providers
