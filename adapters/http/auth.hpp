#pragma once
/// Who may call which route. The keys in force (from `auth.keys_file`) are swapped whole on a reload, so a request
/// is checked against one set, old or new, never a mix. The server asks `check` before a route's handler runs:
/// with keys, every route but the open ones needs `Authorization: Bearer <key>` with the route's scope.

#include "core/api_keys.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace cutover::http {

struct auth_settings {
  std::shared_ptr<const core::key_set> keys; ///< null: no keys file (the engine listens on loopback only)
  bool metrics_open = false;                 ///< `auth.metrics_open`
};

/// The settings in force; read by every request, replaced by a reload. Thread-safe.
class auth_gate {
public:
  explicit auth_gate(auth_settings s = {}) : current_(std::make_shared<const auth_settings>(std::move(s))) {}
  void set(auth_settings s) { std::atomic_store(&current_, std::make_shared<const auth_settings>(std::move(s))); }
  std::shared_ptr<const auth_settings> get() const { return std::atomic_load(&current_); }

private:
  std::shared_ptr<const auth_settings> current_;
};

/// What a request's credentials amount to for a route that needs `needed`.
struct auth_verdict {
  int status = 0;      ///< 0: allowed; 401 or 403: refused
  std::string code;    ///< "unauthorized" | "forbidden"
  std::string message; ///< says what is missing; never echoes the key
  std::string key_name;
  std::string tenant;
};

/// Checks the `Authorization` header's value (empty: none sent) against `keys` for `needed`.
auth_verdict check_key(const core::key_set& keys, std::string_view authorization, core::api_scope needed);

} // namespace cutover::http
