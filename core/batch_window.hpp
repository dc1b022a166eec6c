#pragma once
/// A batch window: collects items and says when to flush — at `max_items`, or `max_wait` after the first item,
/// whichever comes first. The owner arms one timer per window generation and ignores stale timers.

#include "core/config.hpp"

#include <cstdint>
#include <vector>

namespace cutover::core {

template <class Item>
class batch_window {
public:
  explicit batch_window(batch_config cfg) : cfg_(cfg) {}

  struct added {
    bool opened = false;        ///< first item of a new window: arm a timer for `deadline`
    bool full = false;          ///< max_items reached: flush now
    std::uint64_t generation = 0;
    instant deadline{};
  };

  added add(Item item, instant now) {
    added r;
    if (items_.empty()) {
      opened_at_ = now;
      r.opened = true;
    }
    items_.push_back(std::move(item));
    r.full = static_cast<int>(items_.size()) >= cfg_.max_items;
    r.generation = generation_;
    r.deadline = opened_at_ + cfg_.max_wait;
    return r;
  }

  /// A timer armed for `generation` fired: true when that window is still open and must flush.
  bool timer_due(std::uint64_t generation) const { return generation == generation_ && !items_.empty(); }

  /// Empties the window and starts a new generation.
  std::vector<Item> take() {
    ++generation_;
    std::vector<Item> out;
    out.swap(items_);
    return out;
  }

  /// Takes out the items `pred` picks (a rollback sends them elsewhere); the window stays open for the rest. Emptied,
  /// it starts a new generation: its armed timer must not flush the next window early.
  template <class Pred>
  std::vector<Item> remove_if(Pred pred) {
    std::vector<Item> out;
    for (auto it = items_.begin(); it != items_.end();) {
      if (pred(*it)) {
        out.push_back(std::move(*it));
        it = items_.erase(it);
      } else {
        ++it;
      }
    }
    if (!out.empty() && items_.empty())
      ++generation_;
    return out;
  }

  std::size_t size() const { return items_.size(); }
  const batch_config& settings() const { return cfg_; }
  void reconfigure(batch_config cfg) { cfg_ = cfg; }

private:
  batch_config cfg_;
  std::vector<Item> items_;
  std::uint64_t generation_ = 0;
  instant opened_at_{};
};

} // namespace cutover::core
