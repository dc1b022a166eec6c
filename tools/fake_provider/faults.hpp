#pragma once
/// Fault settings of the fake provider and the seeded random draws that apply them.
/// A setting is layered: built-in defaults, then the top-level fields of the JSON, then "default", then the
/// api's own object ("openai", "replicate", "imagen", "gemini_batch"); each layer overrides only the fields it
/// names (error_rates merge per status). Draws come from one seeded generator, so the same sequence of requests
/// meets the same faults.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>

namespace cutover::fake {

enum class api_kind { openai, replicate, imagen, gemini_batch, unknown };
constexpr std::size_t api_count = 4; ///< the real apis (not `unknown`)
const char* to_string(api_kind api);

/// Log-normal latency through (p50, p95); p95 == p50 is a fixed latency; 0 is none.
struct latency_spec {
  double p50_ms = 0;
  double p95_ms = 0;
};

struct fault_settings {
  latency_spec latency;
  std::map<int, double> error_rates;    ///< HTTP status -> probability, answered with the api's error body
  double retry_after_s = 1;             ///< Retry-After / RetryInfo of a 429
  double empty_data_rate = 0;           ///< success without image data
  double hang_rate = 0;                 ///< never answered (until hang_ms or shutdown)
  double malformed_rate = 0;            ///< the real answer cut in half: not JSON
  double content_policy_rate = 0;       ///< the api's safety refusal
  double quota_rate = 0;                ///< out of credit / daily quota
  double async_failure_rate = 0;        ///< Replicate prediction failed / Gemini batch FAILED
  double item_error_rate = 0;           ///< Gemini batch: an item answered with {error}
  double async_expire_rate = 0;         ///< Gemini batch EXPIRED (it did not run within its time)
  int async_polls_before_done = 1;      ///< polls a job stays processing/RUNNING before it finishes
  int async_polls_queued = 0;           ///< polls before those a job stays queued (starting/PENDING: not started)
  std::chrono::milliseconds hang_for{std::chrono::minutes(10)}; ///< `hang_ms`: when a hung request is let go
};

struct fault_config {
  std::optional<std::uint64_t> seed;
  std::array<fault_settings, api_count> per_api{};
  /// The settings of `api` (`unknown` routes get openai's, used for their latency only).
  const fault_settings& of(api_kind api) const;
};

/// Parses fault JSON (schema in main.cpp's usage text); returns the error text, empty on success.
std::string parse_faults(const std::string& text, fault_config& out);

/// What a request-level draw picked. Bands are disjoint, in this order: hang, error_rates by ascending status,
/// quota, content_policy, malformed, empty_data; past a total of 1 the later bands are cut off.
enum class fault { none, hang, error, quota, content_policy, malformed, empty_data };
const char* to_string(fault f);

struct fault_draw {
  fault kind = fault::none;
  int status = 0; ///< for fault::error
};

class random_source {
public:
  explicit random_source(std::uint64_t seed) : gen_(seed) {}
  void reseed(std::uint64_t seed) { gen_.seed(seed); }
  /// Uniform in [0, 1), the same on every standard library.
  double uniform();
  fault_draw draw_fault(const fault_settings& s);
  std::chrono::milliseconds draw_latency(const latency_spec& l);

private:
  std::mt19937_64 gen_;
};

} // namespace cutover::fake
