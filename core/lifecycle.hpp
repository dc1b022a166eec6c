#pragma once
/// What happens to a job after a failed attempt: fall back to the next provider of its chain, fail at once when
/// the request itself is at fault, or dead-letter it when the chain or `dead_letter.max_attempts` is used up.

#include "core/config.hpp"

#include <string>
#include <vector>

namespace cutover::core {

enum class after_failure_kind { fall_back, fail, dead_letter };

struct after_failure {
  after_failure_kind kind = after_failure_kind::dead_letter;
  std::string provider; ///< for fall_back: the next provider
  int chain_pos = 0;    ///< for fall_back: its position in the chain
  std::string reason;   ///< e.g. "fallback after gemini: server"
};

/// The chain a job walks: its primary provider, then `fallback[primary]`, skipping names no longer configured.
std::vector<std::string> provider_chain(const config& cfg, const std::string& primary);

/// The provider error classes that take the fallback chain when a provider's `fallback_on` is absent: every one
/// but bad_request and content_policy, which are the request's own fault.
std::vector<error_class> default_fallback_on();

/// Whether an attempt at `provider` that failed with `error` takes the fallback chain, in this snapshot: the
/// engine's own outcomes (breaker_open, budget_exhausted, over_limit, cancelled, unknown: no provider judged the
/// request) always do; a provider error does when it is in the provider's `fallback_on`, or, when that is absent,
/// in default_fallback_on() — plus bad_request and content_policy for the rollout's candidate, since a
/// misconfigured candidate (a wrong model id) must not fail requests the baseline would take.
bool takes_fallback(const config& cfg, const std::string& provider, error_class error);

/// Decides the next step after an attempt at `chain[chain_pos]` failed with `error`, `attempts_done` attempts
/// having been made (positions skipped for budget do not count as attempts). An error that does not take the
/// fallback chain (takes_fallback) fails the job.
after_failure decide_after_failure(const config& cfg, const std::vector<std::string>& chain, int chain_pos,
                                   int attempts_done, error_class error);

} // namespace cutover::core
