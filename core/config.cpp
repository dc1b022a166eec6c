#include "core/config.hpp"

#include <algorithm>

namespace cutover::core {

duration retry_deadline(const provider_config& p) {
  if (p.retry.deadline)
    return *p.retry.deadline;
  return p.timeout * std::max(p.retry.max_attempts, 1) + p.retry.max_backoff;
}

std::string_view to_string(provider_kind k) {
  switch (k) {
    case provider_kind::simulated: return "simulated";
    case provider_kind::openai: return "openai";
    case provider_kind::replicate: return "replicate";
    case provider_kind::gemini: return "gemini";
  }
  return "?";
}

std::string_view to_string(provider_mode m) { return m == provider_mode::sync ? "sync" : "async"; }

std::vector<poll_step> default_poll_schedule() { return {{5s, 6}, {15s, 4}, {60s, 0}}; }

const provider_config* config::provider(std::string_view name) const {
  for (const auto& p : providers)
    if (p.name == name)
      return &p;
  return nullptr;
}

int config::provider_index(std::string_view name) const {
  for (std::size_t i = 0; i < providers.size(); ++i)
    if (providers[i].name == name)
      return static_cast<int>(i);
  return -1;
}

const std::vector<std::string>& config::chain_after(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = fallback.find(name);
  return it == fallback.end() ? none : it->second;
}

} // namespace cutover::core
