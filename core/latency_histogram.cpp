#include "core/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace cutover::core {

namespace {

/// The bucket scale, in microseconds: u[0] = 1 ms, u[i] = u[i-1] * 1.02 rounded down, up to >= 24 h.
const std::vector<std::int64_t>& scale() {
  static const std::vector<std::int64_t> s = [] {
    std::vector<std::int64_t> v{latency_histogram::floor_bound.count()};
    while (v.back() < latency_histogram::ceiling.count())
      v.push_back(v.back() + v.back() / 50);
    return v;
  }();
  return s;
}

std::uint16_t index_of(std::int64_t us) {
  const auto& s = scale();
  auto it = std::lower_bound(s.begin(), s.end(), us); // first upper bound >= us
  if (it == s.end())
    --it;
  return static_cast<std::uint16_t>(it - s.begin());
}

} // namespace

std::size_t latency_histogram::bucket_count() { return scale().size(); }

duration latency_histogram::bucket_upper(std::size_t i) {
  const auto& s = scale();
  return duration{s[std::min(i, s.size() - 1)]};
}

void latency_histogram::add(duration d) {
  d = std::clamp(d, duration{0}, ceiling);
  auto idx = index_of(d.count());
  auto it = std::lower_bound(bins_.begin(), bins_.end(), idx, [](const bin& b, std::uint16_t i) { return b.index < i; });
  if (it != bins_.end() && it->index == idx)
    ++it->count;
  else
    bins_.insert(it, bin{idx, 1});
  min_ = count_ == 0 ? d : std::min(min_, d);
  max_ = count_ == 0 ? d : std::max(max_, d);
  ++count_;
}

void latency_histogram::merge(const latency_histogram& o) {
  if (o.count_ == 0)
    return;
  if (count_ == 0) {
    *this = o;
    return;
  }
  // In place, no new vector: this runs several times per rollout tick. Count o's indices we lack, grow by that
  // many, then merge from the back so nothing is overwritten before it is read.
  std::size_t missing = 0;
  auto at = bins_.cbegin();
  for (const auto& theirs : o.bins_) {
    at = std::lower_bound(at, bins_.cend(), theirs.index, [](const bin& x, std::uint16_t i) { return x.index < i; });
    if (at == bins_.cend() || at->index != theirs.index)
      ++missing;
  }
  auto a = bins_.size();
  auto b = o.bins_.size();
  bins_.resize(a + missing);
  for (auto out = bins_.size(); b > 0;) {
    const auto& theirs = o.bins_[b - 1];
    if (a > 0 && bins_[a - 1].index > theirs.index) {
      bins_[--out] = bins_[--a];
    } else if (a > 0 && bins_[a - 1].index == theirs.index) {
      bins_[--out] = bin{theirs.index, bins_[--a].count + theirs.count};
      --b;
    } else {
      bins_[--out] = theirs;
      --b;
    }
  }
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  count_ += o.count_;
}

void latency_histogram::subtract(const latency_histogram& o) {
  if (o.count_ == 0)
    return;
  // o's bins are a subset of ours (its values were merged in): walk both in index order, drop bins that empty
  auto out = bins_.begin();
  auto b = o.bins_.begin();
  for (auto a = bins_.begin(); a != bins_.end(); ++a) {
    auto c = a->count;
    if (b != o.bins_.end() && b->index == a->index)
      c -= (b++)->count;
    if (c > 0)
      *out++ = bin{a->index, c};
  }
  bins_.erase(out, bins_.end());
  count_ -= o.count_;
  if (count_ <= 0)
    clear();
}

void latency_histogram::widen_extremes(const latency_histogram& o, bool& first) {
  if (o.count_ == 0)
    return;
  min_ = first ? o.min_ : std::min(min_, o.min_);
  max_ = first ? o.max_ : std::max(max_, o.max_);
  first = false;
}

duration latency_histogram::quantile(double q) const {
  if (count_ == 0)
    return duration{0};
  if (!(q >= 0)) // also NaN
    q = 0;
  q = std::min(q, 1.0);
  // Nearest rank; the epsilon keeps e.g. 0.95 * 100 at rank 95 despite binary fractions.
  auto rank = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(count_) - 1e-9));
  rank = std::clamp<std::int64_t>(rank, 1, count_);
  auto at = [&](const bin& b) { return std::clamp(duration{scale()[b.index]}, min_, max_); };
  if (rank > count_ / 2) { // a high rank: the same bin, found from the top end (p95/p99 are asked every tick)
    std::int64_t above = 0; // values in the bins after this one
    for (auto b = bins_.rbegin(); b != bins_.rend(); ++b) {
      if (count_ - above - b->count < rank)
        return at(*b);
      above += b->count;
    }
    return max_;
  }
  std::int64_t seen = 0;
  for (const auto& b : bins_) {
    seen += b.count;
    if (seen >= rank)
      return at(b);
  }
  return max_;
}

void latency_histogram::clear() {
  bins_.clear();
  count_ = 0;
  min_ = max_ = duration{0};
}

} // namespace cutover::core
