#pragma once
/// Notifications between the actors: breaker and budget changes sent to the store (they join its next commit as
/// stored events), the notifier reading and settling the outbox, and the store telling the notifier that a commit
/// added deliveries.

#include "core/notice.hpp"
#include "messages/config.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace cutover::msg {

/// A breaker or budget change, kept as an event and notified to whom the config says (no answer: like a log line
/// that is durable; a crash before the next commit loses it).
struct record_notice { core::notice n; };
/// Outbox entries as the query says.
struct load_outbox { core::outbox_query q; };
struct outbox_page { std::vector<core::outbox_entry> entries; };
/// Entries done with (answered 2xx, or expired): deleted in the store's next commit.
struct outbox_done { std::vector<std::int64_t> ids; };
/// A commit added outbox entries.
struct outbox_grew {};

/// Internal to the notifier: one try's answer (status 0: no HTTP answer), and its timer.
struct delivery_answered {
  std::int64_t id = 0;
  int status = 0;
  std::string error;
  bool refused = false; ///< not sent: a job's webhook host resolved to an internal address (never retried)
};
struct notify_due { std::uint64_t generation = 0; };

template <class I> auto inspect(I& f, record_notice& x) { return f(caf::meta::type_name("record_notice"), x.n); }
template <class I> auto inspect(I& f, load_outbox& x) {
  return f(caf::meta::type_name("load_outbox"), x.q);
}
template <class I> auto inspect(I& f, outbox_page& x) { return f(caf::meta::type_name("outbox_page"), x.entries); }
template <class I> auto inspect(I& f, outbox_done& x) { return f(caf::meta::type_name("outbox_done"), x.ids); }
template <class I> auto inspect(I& f, outbox_grew&) { return f(caf::meta::type_name("outbox_grew")); }
template <class I> auto inspect(I& f, delivery_answered& x) {
  return f(caf::meta::type_name("delivery_answered"), x.id, x.status, x.error, x.refused);
}
template <class I> auto inspect(I& f, notify_due& x) { return f(caf::meta::type_name("notify_due"), x.generation); }

using notice_sink = caf::typed_actor<caf::reacts_to<record_notice>>;
using outbox_sink = caf::typed_actor<caf::reacts_to<outbox_grew>>;
/// Told after each commit that added outbox entries.
struct watch_outbox { outbox_sink sink; };
template <class I> auto inspect(I& f, watch_outbox& x) { return f(caf::meta::type_name("watch_outbox"), x.sink); }

/// The store's notification protocol.
using outbox_store = caf::typed_actor<caf::reacts_to<record_notice>,
                                      caf::replies_to<load_outbox>::with<outbox_page>,
                                      caf::reacts_to<outbox_done>,
                                      caf::reacts_to<watch_outbox>>;

using notifier_actor = caf::typed_actor<caf::reacts_to<outbox_grew>,
                                        caf::reacts_to<delivery_answered>,
                                        caf::reacts_to<notify_due>,
                                        caf::reacts_to<config_snapshot>>;

} // namespace cutover::msg
