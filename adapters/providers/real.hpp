#pragma once
/// Adapters for the real provider APIs (docs/providers.md says what each expects), each a core::provider_port over
/// a Boost.Beast HTTP client (http_call.hpp): they map the wire format to provider replies and every error to the
/// engine's error classes.
/// Keys come from the environment variable named by `api_key_env`, never from config or logs.

#include "core/config.hpp"
#include "core/ports.hpp"

#include <memory>

namespace cutover::providers {

/// `kind: openai` — POST {base_url}/images/generations, synchronous.
std::shared_ptr<core::provider_port> make_openai_provider(const core::provider_config& cfg);
/// `kind: replicate` — predictions created and polled by id (asynchronous, one prediction per item).
std::shared_ptr<core::provider_port> make_replicate_provider(const core::provider_config& cfg);
/// `kind: gemini` — `mode: sync`: Imagen :predict; `mode: async`: Gemini batch mode (one remote batch per batch).
std::shared_ptr<core::provider_port> make_gemini_provider(const core::provider_config& cfg);

/// The adapter for `cfg.kind` (simulated included).
std::shared_ptr<core::provider_port> make_provider(const core::provider_config& cfg);

} // namespace cutover::providers
