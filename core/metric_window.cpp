#include "core/metric_window.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace cutover::core {

namespace {
constexpr std::array<std::string_view, cohort_count> cohort_names{"candidate", "baseline", "other"};

std::size_t at(cohort c) { return static_cast<std::size_t>(c); }

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  auto q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

bool valid_quality(double q) { return q >= 0.0 && q <= 1.0; } // false for NaN
} // namespace

std::string_view to_string(cohort c) { return cohort_names[at(c)]; }

std::int64_t cohort_stats::errors_of(error_class e) const {
  auto it = errors.find(e);
  return it == errors.end() ? 0 : it->second;
}

// --- cohort_totals

void cohort_totals::add(const observation& o) {
  if (o.error != error_class::none)
    ++errors_[static_cast<std::size_t>(o.error)];
  cost_ += o.cost;
  images_ += o.images;
  if (valid_quality(o.quality)) {
    quality_sum_ += o.quality;
    ++quality_samples_;
  }
  if (is_own_outcome(o.error))
    return;
  ++samples_;
  if (o.error != error_class::none)
    ++failures_;
  else
    latency_.add(o.latency);
}

void cohort_totals::add_quality(double q) {
  if (!valid_quality(q))
    return;
  quality_sum_ += q;
  ++quality_samples_;
}

void cohort_totals::remove_quality(double q) {
  if (!valid_quality(q) || quality_samples_ == 0)
    return;
  quality_sum_ -= q;
  --quality_samples_;
}

void cohort_totals::merge(const cohort_totals& o) {
  samples_ += o.samples_;
  failures_ += o.failures_;
  images_ += o.images_;
  quality_samples_ += o.quality_samples_;
  breaker_trips_ += o.breaker_trips_;
  dispatches_ += o.dispatches_;
  cost_ += o.cost_;
  quality_sum_ += o.quality_sum_;
  for (std::size_t i = 0; i < error_class_count; ++i)
    errors_[i] += o.errors_[i];
  latency_.merge(o.latency_);
  user_wait_.merge(o.user_wait_);
}

void cohort_totals::subtract(const cohort_totals& o) {
  samples_ -= o.samples_;
  failures_ -= o.failures_;
  images_ -= o.images_;
  quality_samples_ -= o.quality_samples_;
  breaker_trips_ -= o.breaker_trips_;
  dispatches_ -= o.dispatches_;
  cost_ -= o.cost_;
  for (std::size_t i = 0; i < error_class_count; ++i)
    errors_[i] -= o.errors_[i];
  latency_.subtract(o.latency_);
  user_wait_.subtract(o.user_wait_);
}

void cohort_totals::refold(const cohort_totals& o, refold_state& st) {
  quality_sum_ += o.quality_sum_;
  latency_.widen_extremes(o.latency_, st.first_latency);
  user_wait_.widen_extremes(o.user_wait_, st.first_wait);
}

cohort_stats cohort_totals::stats() const {
  cohort_stats s;
  s.samples = samples_;
  s.failures = failures_;
  s.failure_rate = samples_ == 0 ? 0 : static_cast<ppm>(failures_ * ppm_one / samples_);
  s.p50 = latency_.quantile(0.50);
  s.p95 = latency_.quantile(0.95);
  s.p99 = latency_.quantile(0.99);
  s.latency_samples = latency_.count();
  s.user_p50 = user_wait_.quantile(0.50);
  s.user_p95 = user_wait_.quantile(0.95);
  s.user_p99 = user_wait_.quantile(0.99);
  s.user_wait_samples = user_wait_.count();
  s.cost = cost_;
  s.images = images_;
  s.cost_per_image = images_ <= 0 ? 0 : (cost_ + images_ / 2) / images_; // nearest micro-dollar (cost >= 0)
  for (std::size_t i = 0; i < error_class_count; ++i)
    if (errors_[i] != 0)
      s.errors[static_cast<error_class>(i)] = errors_[i];
  s.quality_samples = quality_samples_;
  s.quality_mean = quality_samples_ == 0 ? 0 : quality_sum_ / static_cast<double>(quality_samples_);
  s.breaker_trips = breaker_trips_;
  s.dispatches = dispatches_;
  return s;
}

// --- metric_window

bool metric_window::series_key::operator<(const series_key& o) const {
  return std::tie(provider, tier_, who) < std::tie(o.provider, o.tier_, o.who);
}

metric_window::metric_window(duration span, duration bucket)
    : bucket_(bucket > duration{0} ? bucket : std::chrono::seconds(10)) {
  auto n = span.count() <= 0 ? 1 : (span.count() + bucket_.count() - 1) / bucket_.count();
  ring_.resize(static_cast<std::size_t>(std::max<std::int64_t>(n, 1)));
}

metric_window::slot* metric_window::slot_for(instant t) {
  ++changes_;
  const auto n = static_cast<std::int64_t>(ring_.size());
  const auto idx = floor_div(t.time_since_epoch().count(), bucket_.count());
  if (any_ && idx <= newest_ - n) {
    ++dropped_;
    return nullptr;
  }
  if (!any_ || idx > newest_) {
    newest_ = idx;
    any_ = true;
  } else if (idx < newest_) {
    ++late_adds_; // a closed bucket changes: the sums kept over it are stale
  }
  auto& s = ring_[static_cast<std::size_t>(((idx % n) + n) % n)];
  if (!s.used || s.index != idx) {
    s.series.clear();
    for (auto& e : s.extras)
      e.clear();
    s.index = idx;
    s.used = true;
  }
  return &s;
}

template <class F> void metric_window::for_each_slot(instant from, instant to, F&& f) const {
  if (!any_ || to <= from)
    return;
  const auto n = static_cast<std::int64_t>(ring_.size());
  const auto lo = std::max(floor_div(from.time_since_epoch().count(), bucket_.count()), newest_ - n + 1);
  const auto hi = floor_div(to.time_since_epoch().count() - 1, bucket_.count());
  for (const auto& s : ring_)
    if (s.used && s.index >= lo && s.index <= hi)
      f(s);
}

void metric_window::add_poll_answer(cohort c, instant when) {
  // no bucket and no change count: last_response_ is read directly, never through the kept figures
  last_response_[at(c)] = std::max(last_response_[at(c)], when);
}

void metric_window::add(const observation& o) {
  if (!is_own_outcome(o.error))
    last_response_[at(o.who)] = std::max(last_response_[at(o.who)], o.at);
  if (auto* s = slot_for(o.at)) {
    s->series[series_key{o.provider, o.tier_, o.who}].add(o);
    if (o.user_wait >= duration{0})
      s->extras[at(o.route)].add_user_wait(o.user_wait);
  }
}

void metric_window::add_quality(cohort c, double q, instant t) {
  if (auto* s = slot_for(t))
    s->extras[at(c)].add_quality(q);
}

void metric_window::remove_quality(cohort c, double q, instant t) {
  const auto n = static_cast<std::int64_t>(ring_.size());
  const auto idx = floor_div(t.time_since_epoch().count(), bucket_.count());
  if (!any_ || idx <= newest_ - n || idx > newest_)
    return; // its bucket left the window (or never held it): nothing of it is counted
  auto& s = ring_[static_cast<std::size_t>(((idx % n) + n) % n)];
  if (!s.used || s.index != idx)
    return;
  ++changes_;
  if (idx < newest_)
    ++late_adds_; // a closed bucket changes: the sums kept over it are stale
  s.extras[at(c)].remove_quality(q);
}

void metric_window::add_breaker_trip(cohort c, instant t) {
  if (auto* s = slot_for(t))
    s->extras[at(c)].add_breaker_trips(1);
}

void metric_window::add_dispatch(cohort c, instant t, std::int64_t items) {
  if (auto* s = slot_for(t))
    s->extras[at(c)].add_dispatches(items);
}

void metric_window::merge_buckets(cohort c, std::int64_t lo, std::int64_t hi, cohort_totals& sum) const {
  const auto n = static_cast<std::int64_t>(ring_.size());
  for (auto i = lo; i <= hi; ++i) {
    const auto& s = ring_[static_cast<std::size_t>(((i % n) + n) % n)];
    if (!s.used || s.index != i)
      continue;
    for (const auto& [key, totals] : s.series)
      if (key.who == c)
        sum.merge(totals);
    sum.merge(s.extras[at(c)]);
  }
}

metric_window::kept_sum& metric_window::kept_for(cohort c, std::int64_t lo) const {
  kept_sum* oldest = &kept_[0];
  kept_sum* below = nullptr; // the cohort's sum starting nearest below lo: slid up to lo, it serves this span
  for (auto& k : kept_) {
    if (k.used && k.who == c && k.lo == lo)
      return k;
    if (k.used && k.who == c && k.lo < lo && k.hi >= lo && k.late == late_adds_ && (!below || k.lo > below->lo))
      below = &k;
    if (!k.used || (oldest->used && k.last_use < oldest->last_use))
      oldest = &k;
  }
  if (below)
    return *below;
  *oldest = kept_sum{};
  oldest->who = c;
  oldest->lo = lo;
  return *oldest;
}

bool metric_window::slide(kept_sum& k, std::int64_t lo) const {
  const auto n = static_cast<std::int64_t>(ring_.size());
  auto slot_of = [&](std::int64_t i) -> const slot& { return ring_[static_cast<std::size_t>(((i % n) + n) % n)]; };
  for (auto i = k.lo; i < lo; ++i) {
    const auto& s = slot_of(i);
    if (!s.used || s.index < i)
      continue; // bucket i never had anything
    if (s.index != i)
      return false; // overwritten by a newer bucket: what it held is gone
    for (const auto& [key, totals] : s.series)
      if (key.who == k.who)
        k.sum.subtract(totals);
    k.sum.subtract(s.extras[at(k.who)]);
  }
  k.lo = lo;
  // what cannot be taken back, summed afresh over lo..hi in the order merge_buckets() merges
  cohort_totals::refold_state st;
  k.sum.refold_begin();
  for (auto i = lo; i <= k.hi; ++i) {
    const auto& s = slot_of(i);
    if (!s.used || s.index != i)
      continue;
    for (const auto& [key, totals] : s.series)
      if (key.who == k.who)
        k.sum.refold(totals, st);
    k.sum.refold(s.extras[at(k.who)], st);
  }
  return true;
}

cohort_stats metric_window::stats(cohort c, instant from, instant to) const {
  if (!any_ || to <= from)
    return cohort_totals{}.stats();
  const auto n = static_cast<std::int64_t>(ring_.size());
  const auto lo = std::max(floor_div(from.time_since_epoch().count(), bucket_.count()), newest_ - n + 1);
  const auto hi = std::min(floor_div(to.time_since_epoch().count() - 1, bucket_.count()), newest_);
  if (hi < lo)
    return cohort_totals{}.stats();
  auto& last = last_[at(c)];
  if (last.valid && last.lo == lo && last.hi == hi && last.changes == changes_)
    return last.figures;
  last.figures = figures(c, lo, hi);
  last.valid = true;
  last.lo = lo;
  last.hi = hi;
  last.changes = changes_;
  return last.figures;
}

cohort_stats metric_window::figures(cohort c, std::int64_t lo, std::int64_t hi) const {
  // buckets before the newest change only by a late add (which counts in late_adds_): their sum is kept
  const auto closed = std::min(hi, newest_ - 1);
  auto& k = kept_for(c, lo);
  bool fresh = !k.used || k.late != late_adds_ || k.hi > closed;
  if (!fresh && k.lo < lo)
    fresh = !slide(k, lo);
  if (fresh) {
    k.sum.clear();
    k.lo = lo;
    k.hi = lo - 1;
    k.late = late_adds_;
    k.used = true;
  }
  k.last_use = ++uses_;
  if (k.hi < closed) {
    merge_buckets(c, k.hi + 1, closed, k.sum);
    k.hi = closed;
  }
  if (k.hi == hi)
    return k.sum.stats();
  // into a kept scratch total: assigning reuses its histograms' storage, where a new copy allocated every tick
  scratch_ = k.sum;
  merge_buckets(c, k.hi + 1, hi, scratch_);
  return scratch_.stats();
}

std::int64_t metric_window::dispatches(cohort c, instant from, instant to) const {
  // the buckets of [from, to) only (asked every tick: walking the whole ring was most of the call)
  std::int64_t n = 0;
  if (!any_ || to <= from)
    return n;
  const auto size = static_cast<std::int64_t>(ring_.size());
  const auto lo = std::max(floor_div(from.time_since_epoch().count(), bucket_.count()), newest_ - size + 1);
  const auto hi = std::min(floor_div(to.time_since_epoch().count() - 1, bucket_.count()), newest_);
  for (auto i = lo; i <= hi; ++i) {
    const auto& s = ring_[static_cast<std::size_t>(((i % size) + size) % size)];
    if (s.used && s.index == i)
      n += s.extras[at(c)].dispatches();
  }
  return n;
}

std::vector<series_stats> metric_window::breakdown(instant from, instant to) const {
  std::map<series_key, cohort_totals> sums;
  for_each_slot(from, to, [&](const slot& s) {
    for (const auto& [key, totals] : s.series)
      sums[key].merge(totals);
  });
  std::vector<series_stats> out;
  out.reserve(sums.size());
  for (const auto& [key, totals] : sums)
    out.push_back(series_stats{key.provider, key.tier_, key.who, totals.stats()});
  return out;
}

// --- cumulative_stats

void cumulative_stats::add(const observation& o) {
  totals_[at(o.who)].add(o);
  if (o.user_wait >= duration{0})
    totals_[at(o.route)].add_user_wait(o.user_wait);
}
void cumulative_stats::add_quality(cohort c, double q) { totals_[at(c)].add_quality(q); }
void cumulative_stats::remove_quality(cohort c, double q) { totals_[at(c)].remove_quality(q); }
void cumulative_stats::add_breaker_trip(cohort c) { totals_[at(c)].add_breaker_trips(1); }
cohort_stats cumulative_stats::stats(cohort c) const { return totals_[at(c)].stats(); }
void cumulative_stats::reset() {
  for (auto& t : totals_)
    t.clear();
}

} // namespace cutover::core
