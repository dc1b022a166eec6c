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

/// Decides the next step after an attempt at `chain[chain_pos]` failed with `error`, `attempts_done` attempts
/// having been made (positions skipped for budget do not count as attempts).
after_failure decide_after_failure(const config& cfg, const std::vector<std::string>& chain, int chain_pos,
                                   int attempts_done, error_class error);

} // namespace cutover::core
