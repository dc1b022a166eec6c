#include "core/lifecycle.hpp"

namespace cutover::core {

std::vector<std::string> provider_chain(const config& cfg, const std::string& primary) {
  std::vector<std::string> chain{primary};
  for (const auto& name : cfg.chain_after(primary))
    if (cfg.provider(name) != nullptr)
      chain.push_back(name);
  return chain;
}

after_failure decide_after_failure(const config& cfg, const std::vector<std::string>& chain, int chain_pos,
                                   int attempts_done, error_class error) {
  const std::string& failed_at = chain[static_cast<std::size_t>(chain_pos) % chain.size()];
  const std::string what = std::string{to_string(error)};
  if (is_request_fault(error))
    return {after_failure_kind::fail, {}, 0, failed_at + " rejected the request: " + what};
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
