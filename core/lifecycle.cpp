#include "core/lifecycle.hpp"

#include <algorithm>

namespace cutover::core {

std::vector<std::string> provider_chain(const config& cfg, const std::string& primary) {
  std::vector<std::string> chain{primary};
  for (const auto& name : cfg.chain_after(primary))
    if (cfg.provider(name) != nullptr)
      chain.push_back(name);
  return chain;
}

std::vector<error_class> default_fallback_on() {
  return {error_class::timeout, error_class::rate_limited, error_class::auth,        error_class::quota,
          error_class::server,  error_class::bad_response};
}

bool takes_fallback(const config& cfg, const std::string& provider, error_class error) {
  if (is_own_error(error))
    return true;
  const auto* p = cfg.provider(provider);
  if (p != nullptr && p->fallback_on)
    return std::find(p->fallback_on->begin(), p->fallback_on->end(), error) != p->fallback_on->end();
  if (is_request_fault(error))
    return provider == cfg.rollout.candidate;
  const auto d = default_fallback_on();
  return std::find(d.begin(), d.end(), error) != d.end();
}

after_failure decide_after_failure(const config& cfg, const std::vector<std::string>& chain, int chain_pos,
                                   int attempts_done, error_class error) {
  const std::string& failed_at = chain[static_cast<std::size_t>(chain_pos) % chain.size()];
  const std::string what = std::string{to_string(error)};
  if (!takes_fallback(cfg, failed_at, error))
    return {after_failure_kind::fail, {}, 0,
            is_request_fault(error) ? failed_at + " rejected the request: " + what
                                    : failed_at + ": " + what + " is not in its fallback_on"};
  if (attempts_done >= cfg.dead_letter.max_attempts)
    return {after_failure_kind::dead_letter, {}, 0,
            "dead_letter.max_attempts (" + std::to_string(cfg.dead_letter.max_attempts) + ") reached; last " +
              failed_at + ": " + what};
  const auto next = static_cast<std::size_t>(chain_pos) + 1;
  if (next >= chain.size())
    return {after_failure_kind::dead_letter, {}, 0, "fallback chain exhausted; last " + failed_at + ": " + what};
  return {after_failure_kind::fall_back, chain[next], static_cast<int>(next), "fallback after " + failed_at + ": " + what};
}

} // namespace cutover::core
