#pragma once
/// Sticky rollout buckets, compatible with Unleash's flexible rollout: a user's bucket in 1..100 depends only on
/// the rollout group and the user id, so raising the percentage only ever adds users to the candidate.

#include <cstdint>
#include <string_view>

namespace cutover::core {

/// MurmurHash3 x86 32-bit of `data` with `seed` (the reference algorithm).
std::uint32_t murmur3_x86_32(std::string_view data, std::uint32_t seed = 0);

/// murmur3("<group>:<user>") % 100 + 1, in 1..100.
int sticky_bucket(std::string_view group, std::string_view user_id);

/// The Unleash rule: on the candidate iff percent > 0 and bucket <= percent.
constexpr bool in_rollout(int bucket, int percent) { return percent > 0 && bucket <= percent; }

} // namespace cutover::core
