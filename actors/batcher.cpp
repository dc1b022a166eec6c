#include "actors/batcher.hpp"

#include "core/batch_window.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace cutover::actors {

namespace {

struct batcher_state {
  core::tier tier = core::tier::sd;
  core::batch_window<core::work_item> window{core::batch_config{}};
  msg::provider_actor provider;
  core::gauge* depth = nullptr;
  std::int64_t counted = 0; ///< what this window added to `depth`
  static inline const char* name = "batcher";
};

using self_ptr = msg::batcher_actor::stateful_pointer<batcher_state>;

void flush(self_ptr self) {
  msg::provider_batch b;
  b.tier_ = self->state.tier;
  b.items = self->state.window.take();
  self->send(self->state.provider, std::move(b));
}

/// Brings the shared depth gauge up to date with this window (an atomic add: the gauge is the provider's, shared).
void count(self_ptr self) {
  auto& st = self->state;
  const auto now = static_cast<std::int64_t>(st.window.size());
  if (st.depth != nullptr && now != st.counted)
    st.depth->add(now - st.counted);
  st.counted = now;
}

} // namespace

msg::batcher_actor spawn_batcher(caf::actor_system& sys, core::tier tier, core::batch_config cfg,
                                 msg::provider_actor provider, core::gauge* depth) {
  auto fn = [](self_ptr self, core::tier tier, core::batch_config cfg, msg::provider_actor provider,
               core::gauge* depth) -> msg::batcher_actor::behavior_type {
    self->state.tier = tier;
    self->state.depth = depth;
    self->state.window.reconfigure(cfg);
    self->state.provider = std::move(provider);
    return {
      [self](msg::enqueue_items& m) {
        auto& w = self->state.window;
        // only differences of actor-clock times matter here, so the clock's own epoch serves
        const core::instant now{std::chrono::duration_cast<core::duration>(self->clock().now().time_since_epoch())};
        for (auto& item : m.items) {
          auto r = w.add(std::move(item), now);
          if (r.full) {
            flush(self);
            continue;
          }
          if (r.opened)
            self->delayed_send(self, w.settings().max_wait, msg::window_due{r.generation});
        }
        // no wait configured: what arrived together leaves together, without a timer round trip
        if (w.settings().max_wait <= core::duration{0} && w.size() > 0)
          flush(self);
        count(self);
      },
      [self](const msg::window_due& m) {
        if (self->state.window.timer_due(m.generation))
          flush(self);
        count(self);
      },
      [self](msg::recall_items& m) {
        auto out = self->state.window.remove_if([&m](const core::work_item& item) {
          for (const auto& r : m.items)
            if (r.id == item.id && r.attempt_no == item.attempt_no)
              return true;
          return false;
        });
        count(self);
        return msg::recalled_items{std::move(out)};
      },
      [self](const msg::config_snapshot& c) {
        self->state.window.reconfigure(c.cfg->tiers[static_cast<std::size_t>(self->state.tier)].batch);
      },
    };
  };
  return sys.spawn(fn, tier, cfg, std::move(provider), depth);
}

} // namespace cutover::actors
