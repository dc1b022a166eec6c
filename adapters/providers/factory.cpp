#include "adapters/providers/real.hpp"
#include "adapters/providers/simulated.hpp"

namespace cutover::providers {

std::shared_ptr<core::provider_port> make_provider(const core::provider_config& cfg) {
  switch (cfg.kind) {
    case core::provider_kind::simulated: return make_simulated_provider(cfg);
    case core::provider_kind::openai: return make_openai_provider(cfg);
    case core::provider_kind::replicate: return make_replicate_provider(cfg);
    case core::provider_kind::gemini: return make_gemini_provider(cfg);
  }
  return make_simulated_provider(cfg);
}

} // namespace cutover::providers
