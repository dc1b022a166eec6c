#pragma once
/// Which events are notified, to whom, and in what words: the notices of one commit (rollout decisions, jobs that
/// end, breaker and budget changes) with their receivers, the JSON body a receiver gets, and which URLs a job may
/// name as its webhook. Plain functions, no I/O.

#include "core/config.hpp"
#include "core/json_text.hpp"
#include "core/store_ports.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::core {

/// Whether `pattern` (an event type, `prefix.*`, or `*`) names events of `type`.
bool event_matches(std::string_view pattern, std::string_view type);

/// The configured targets that want events of `type` (a target with no events wants all).
std::vector<notice_target> targets_for(const notify_config& cfg, std::string_view type);

/// A job's webhook_url, looked up only for jobs that end in the commit ("" when none).
using webhook_lookup = std::function<std::string(job_id)>;

/// Every notice of `b` with its receivers: `b.notices` (breaker, budget), a `rollout.<action>` per decision (not a
/// hold repeated with unchanged verdicts), and a `job.<status>` per job that ends (to the targets that want it, and
/// to the job's own webhook_url, signed with notify.job_secret_env). A notice nobody wants is left out unless it
/// is kept (`keep`).
std::vector<notice> derive_notices(const write_batch& b, const notify_config& cfg, const webhook_lookup& webhook_of);

/// The body delivered: `{"id": event_id, "type", "at" (RFC 3339), "data": {...}}`.
std::string notice_body(const std::string& event_id, const notice& n);

/// A breaker's change of state (`breaker.open`, `breaker.closed`, `breaker.half_open`), kept as an event.
notice breaker_notice(const std::string& provider, std::string_view to, instant at, int requests, int failures,
                      const std::string& reason);
/// A provider's (or, with provider "", the global) budget stop line reached (`budget.stopped`) or room again
/// (`budget.resumed`), kept as an event.
notice budget_notice(const std::string& provider, bool stopped, instant at, micros exposure, micros line);

/// Why `url` may not be a job's webhook_url ("" when it may): not http(s), no host, credentials in it, or, unless
/// `allow_private`, a loopback, private, link-local or otherwise internal address (names are not resolved: a
/// literal address or `localhost` is what a submitter can aim at the engine's own host with).
std::string webhook_url_problem(std::string_view url, bool allow_private);

/// The host of an http(s) `url` as a resolver takes it: lower case, without brackets, port or trailing dots
/// ("" when the URL has none).
std::string webhook_host(std::string_view url);

/// Whether `host` is an address literal (IPv4 in any inet_aton form, or IPv6): nothing to resolve.
bool is_address_literal(const std::string& host);

/// Why a webhook may not go to `host` whose name resolved to `addresses` (textual IPv4/IPv6) — "" when it may:
/// every address must be public (not loopback, private, link-local, unspecified, ULA, CGNAT, multicast, nor an
/// IPv4-mapped/compatible/NAT64 form of one). No address, or one that does not parse, refuses: a name that
/// resolves to nothing gives the engine nowhere it knows to be safe.
std::string resolved_host_problem(const std::string& host, const std::vector<std::string>& addresses);


} // namespace cutover::core
