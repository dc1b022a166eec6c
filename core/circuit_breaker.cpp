#include "core/circuit_breaker.hpp"

#include <algorithm>
#include <utility>

namespace cutover::core {

namespace {
using std::chrono::seconds;

/// The window is kept in at most this many buckets; shorter windows use 1-second buckets.
constexpr std::int64_t max_buckets = 60;
constexpr std::size_t max_kept_transitions = 128;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }

ppm rate_of(int requests, int failures) {
  return requests <= 0 ? 0 : static_cast<ppm>(std::int64_t{failures} * ppm_one / requests);
}

std::string span(duration d) {
  if (d % seconds(1) == duration{0})
    return std::to_string(std::chrono::duration_cast<seconds>(d).count()) + "s";
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}
} // namespace

std::string_view to_string(breaker_state s) {
  switch (s) {
  case breaker_state::closed: return "closed";
  case breaker_state::open: return "open";
  case breaker_state::half_open: return "half_open";
  }
  return "unknown";
}

circuit_breaker::circuit_breaker(breaker_config cfg) : cfg_(std::move(cfg)) { resize_ring(); }

void circuit_breaker::resize_ring() {
  const std::int64_t window = std::max(cfg_.window, duration{seconds(1)}).count();
  const std::int64_t one_second = duration{seconds(1)}.count();
  // The resolution is a whole number of seconds: 1 s up to a 60 s window, coarser beyond.
  resolution_ = duration{ceil_div(ceil_div(window, max_buckets), one_second) * one_second};
  const auto n = static_cast<std::size_t>(ceil_div(window, resolution_.count()));
  ring_.assign(n, bucket{});
}

void circuit_breaker::add(instant t, int requests, int failures) {
  const std::int64_t k = floor_div(t.time_since_epoch().count(), resolution_.count());
  const auto n = static_cast<std::int64_t>(ring_.size());
  auto& b = ring_[static_cast<std::size_t>(k - floor_div(k, n) * n)];
  if (b.used && b.index > k)
    return; // the slot already holds a newer bucket: this one is outside the window
  if (!b.used || b.index < k)
    b = bucket{k, true, 0, 0};
  b.requests += requests;
  b.failures += failures;
}

void circuit_breaker::clear_window() { std::fill(ring_.begin(), ring_.end(), bucket{}); }

breaker_window circuit_breaker::window(instant now) const {
  const std::int64_t c = floor_div(now.time_since_epoch().count(), resolution_.count());
  const auto n = static_cast<std::int64_t>(ring_.size());
  breaker_window w;
  for (const auto& b : ring_)
    if (b.used && b.index > c - n && b.index <= c) {
      w.requests += b.requests;
      w.failures += b.failures;
    }
  w.failure_rate = rate_of(w.requests, w.failures);
  return w;
}

breaker_state circuit_breaker::state(instant now) const {
  if (state_ == breaker_state::open && now >= opened_at_ + cfg_.open_for)
    return breaker_state::half_open;
  return state_;
}

std::optional<instant> circuit_breaker::half_opens_at() const {
  if (state_ != breaker_state::open)
    return std::nullopt;
  return opened_at_ + cfg_.open_for;
}

void circuit_breaker::advance(instant now) {
  if (state_ != breaker_state::open || now < opened_at_ + cfg_.open_for)
    return;
  probes_admitted_ = probes_succeeded_ = 0;
  note(breaker_state::half_open, opened_at_ + cfg_.open_for, 0, 0,
       "open for " + span(cfg_.open_for) + ": probing with up to " + std::to_string(cfg_.half_open_probes) +
         " calls");
}

std::optional<breaker_ticket> circuit_breaker::allow(instant now) {
  advance(now);
  switch (state_) {
  case breaker_state::closed: return breaker_ticket{generation_, false};
  case breaker_state::open: return std::nullopt;
  case breaker_state::half_open:
    if (probes_admitted_ >= cfg_.half_open_probes)
      return std::nullopt;
    ++probes_admitted_;
    return breaker_ticket{generation_, true};
  }
  return std::nullopt;
}

void circuit_breaker::record(const breaker_ticket& ticket, error_class outcome, instant now) {
  advance(now);
  if (ticket.generation != generation_)
    return; // admitted before the last change of state: it speaks of a provider that state has moved past
  const bool failed = is_provider_failure(outcome);
  const bool counted = failed || outcome == error_class::none;
  switch (state_) {
  case breaker_state::open: return; // admits nothing, so no ticket of its generation exists
  case breaker_state::closed: {
    if (!counted)
      return;
    add(now, 1, failed ? 1 : 0);
    const auto w = window(now);
    if (w.requests >= cfg_.min_requests && w.failures > 0 && w.failure_rate >= cfg_.failure_rate)
      open(now, w.requests, w.failures,
           std::to_string(w.failures) + " of " + std::to_string(w.requests) + " calls failed in " +
             span(cfg_.window) + ": " + std::to_string(w.failure_rate) + " ppm >= " +
             std::to_string(cfg_.failure_rate) + " ppm");
    return;
  }
  case breaker_state::half_open: {
    if (!ticket.probe || probes_admitted_ <= probes_succeeded_)
      return; // not a probe, or freed by forget_calls_in_flight
    if (!counted) {
      --probes_admitted_; // says nothing about the provider: free the slot for another probe
      return;
    }
    if (failed) {
      const int decided = probes_succeeded_ + 1;
      open(now, decided, 1,
           "probe failed (" + std::string(to_string(outcome)) + ") after " + std::to_string(probes_succeeded_) +
             " of " + std::to_string(cfg_.half_open_probes) + " succeeded");
      return;
    }
    if (++probes_succeeded_ >= cfg_.half_open_probes) {
      clear_window();
      note(breaker_state::closed, now, probes_succeeded_, 0,
           std::to_string(probes_succeeded_) + " of " + std::to_string(cfg_.half_open_probes) +
             " probes succeeded");
    }
    return;
  }
  }
}

void circuit_breaker::open(instant now, int requests, int failures, std::string reason) {
  ++trips_;
  opened_at_ = now;
  probes_admitted_ = probes_succeeded_ = 0;
  note(breaker_state::open, now, requests, failures, std::move(reason));
}

void circuit_breaker::note(breaker_state to, instant at, int requests, int failures, std::string reason) {
  if (transitions_.size() >= max_kept_transitions)
    transitions_.erase(transitions_.begin());
  transitions_.push_back({state_, to, at, requests, failures, rate_of(requests, failures), std::move(reason)});
  state_ = to;
  ++generation_;
}

std::vector<breaker_transition> circuit_breaker::take_transitions() { return std::exchange(transitions_, {}); }

void circuit_breaker::reconfigure(breaker_config cfg) {
  auto old = std::move(ring_);
  const auto old_resolution = resolution_;
  cfg_ = std::move(cfg);
  resize_ring();
  // Re-bucket the old counts at their buckets' start times, oldest first, so newer buckets win shared slots.
  std::sort(old.begin(), old.end(), [](const bucket& a, const bucket& b) { return a.index < b.index; });
  for (const auto& b : old)
    if (b.used)
      add(instant{old_resolution * b.index}, b.requests, b.failures);
}

} // namespace cutover::core
