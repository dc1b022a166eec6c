#pragma once
/// A new validated configuration snapshot, sent to every actor on a reload. Local only: it carries a pointer to the
/// immutable snapshot, never a copy.

#include "core/config.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

namespace cutover::msg {

struct config_snapshot {
  core::config_ptr cfg;
};

} // namespace cutover::msg

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cutover::msg::config_snapshot)
