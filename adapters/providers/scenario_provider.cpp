#include "adapters/providers/scenario_provider.hpp"

#include "core/bucket.hpp"
#include "core/traffic.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <unordered_map>

namespace cutover::providers {

using namespace cutover::core;

namespace {

constexpr double z95 = 1.6448536269514722;
/// How long a provider takes to refuse a call it will not serve (outage, 429, auth, quota).
constexpr duration refusal_latency = std::chrono::milliseconds(200);

/// One tier's behaviour with every default resolved.
struct resolved {
  latency_model latency;
  std::optional<latency_model> run_time;
  ppm failure_rate = 0;
  std::vector<error_share> errors;
  double quality = 0.9;
};

class scenario_provider final : public provider_port {
public:
  scenario_provider(const provider_config& cfg, std::shared_ptr<const scenario> s, std::uint64_t seed,
                    std::shared_ptr<port_counts> counts)
    : cfg_(cfg), s_(std::move(s)), counts_(std::move(counts)), rng_(seed * 0x9E3779B97F4A7C15ull ^ murmur3_x86_32(cfg.name, 0x5eed)) {
    const auto* model = s_->provider(cfg.name);
    for (int t = 0; t < tier_count; ++t) {
      auto& r = tiers_[static_cast<std::size_t>(t)];
      r.latency = {cfg.simulated.latency_p50, cfg.simulated.latency_p95};
      r.failure_rate = cfg.simulated.failure_rate;
      r.quality = cfg.simulated.quality;
      auto apply = [&r](const tier_model& m) {
        if (m.latency)
          r.latency = *m.latency;
        if (m.run_time)
          r.run_time = *m.run_time;
        if (m.failure_rate)
          r.failure_rate = *m.failure_rate;
        if (!m.errors.empty())
          r.errors = m.errors;
        if (m.quality)
          r.quality = *m.quality;
      };
      if (model) {
        apply(model->all);
        if (model->tiers[static_cast<std::size_t>(t)])
          apply(*model->tiers[static_cast<std::size_t>(t)]);
      }
    }
    for (const auto& i : s_->incidents)
      if (i.provider == cfg.name)
        incidents_.push_back(i);
  }

  bool takes_batches() const override { return cfg_.mode == provider_mode::async; }

  void submit(const std::vector<work_item>& items, instant now, callback done) override {
    counts_->submits += 1;
    counts_->items += static_cast<std::int64_t>(items.size());
    provider_reply r;
    const auto& model = tiers_[static_cast<std::size_t>(items.empty() ? tier::sd : items.front().tier_)];
    double factor = 1;
    ppm extra_rate = 0;
    error_class extra_class = error_class::server;
    for (const auto& i : incidents_) {
      // an errors incident fails items at its rate; the others hit whole calls at theirs
      if (now < i.from || now >= i.to || (i.kind != incident_kind::errors && !hit(i.rate)))
        continue;
      switch (i.kind) {
        case incident_kind::latency: factor *= i.factor; break;
        case incident_kind::errors:
          extra_rate = std::min(ppm_one, extra_rate + i.rate);
          extra_class = i.error;
          break;
        case incident_kind::hang:
          r.error = error_class::timeout;
          r.unanswered = true;
          r.message = "simulated hang";
          r.delay = cfg_.timeout;
          return done(std::move(r));
        case incident_kind::rate_limit:
          return done(refusal(error_class::rate_limited, "simulated 429 storm", i.retry_after));
        case incident_kind::auth: return done(refusal(error_class::auth, "simulated auth failure", {}));
        case incident_kind::quota: return done(refusal(error_class::quota, "simulated quota exhausted", {}));
        case incident_kind::outage: return done(refusal(error_class::server, "simulated outage", {}));
      }
    }
    std::vector<provider_reply::item> outcomes;
    std::optional<duration> observed;
    for (const auto& item : items)
      outcomes.push_back(outcome(item, model, extra_rate, extra_class, observed));
    if (cfg_.mode == provider_mode::async) {
      const auto& run = model.run_time ? *model.run_time : model.latency;
      const auto ready = now + (observed ? *observed : scaled(draw(run), factor));
      const auto id = "scn-" + cfg_.name + "-" + std::to_string(++next_remote_);
      remote_.emplace(id, remote_job{ready, std::move(outcomes)});
      r.k = provider_reply::kind::accepted;
      r.remote_id = id;
      return done(std::move(r));
    }
    const auto latency = observed ? *observed : scaled(draw(model.latency), factor);
    if (latency > cfg_.timeout) {
      r.error = error_class::timeout;
      r.message = "no answer within the timeout";
      r.delay = cfg_.timeout;
      return done(std::move(r));
    }
    r.delay = latency;
    r.items = std::move(outcomes);
    done(std::move(r));
  }

  void poll(const std::string& remote_id, const std::vector<work_item>&, instant now, callback done) override {
    counts_->polls += 1;
    provider_reply r;
    r.remote_id = remote_id;
    auto it = remote_.find(remote_id);
    if (it == remote_.end()) {
      r.error = error_class::bad_request;
      r.message = "unknown remote job " + remote_id;
    } else if (now < it->second.ready) {
      r.k = provider_reply::kind::pending;
    } else {
      r.items = std::move(it->second.items);
      remote_.erase(it);
    }
    done(std::move(r));
  }

  void cancel(const std::string& remote_id, instant, callback done) override {
    remote_.erase(remote_id);
    provider_reply r;
    r.remote_id = remote_id;
    done(std::move(r));
  }

private:
  struct remote_job {
    instant ready;
    std::vector<provider_reply::item> items;
  };

  bool hit(ppm rate) { return rate >= ppm_one || static_cast<ppm>(rng_() % ppm_one) < rate; }

  static provider_reply refusal(error_class e, const char* message, duration retry_after) {
    provider_reply r;
    r.error = e;
    r.message = message;
    r.retry_after = retry_after;
    r.delay = refusal_latency;
    return r;
  }

  static duration scaled(duration d, double factor) {
    return factor == 1 ? d : std::chrono::duration_cast<duration>(d * factor);
  }

  duration draw(const latency_model& m) {
    const double p50 = std::chrono::duration<double>(m.p50).count();
    const double p95 = std::chrono::duration<double>(m.p95).count();
    if (p50 <= 0)
      return duration{0};
    const double sigma = p95 > p50 ? std::log(p95 / p50) / z95 : 0.0;
    const double seconds = std::exp(std::log(p50) + sigma * normal_(rng_));
    return std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds));
  }

  error_class failure_class(const resolved& m) {
    if (m.errors.empty())
      return error_class::server;
    const auto draw = static_cast<ppm>(rng_() % ppm_one);
    ppm acc = 0;
    for (const auto& e : m.errors) {
      acc += e.share;
      if (draw < acc)
        return e.error;
    }
    return m.errors.back().error;
  }

  provider_reply::item outcome(const work_item& item, const resolved& m, ppm extra_rate, error_class extra_class,
                               std::optional<duration>& observed) {
    provider_reply::item out;
    out.id = item.id;
    error_class e = error_class::none;
    const auto row = trace_row_of(item.prompt);
    if (row && *row < s_->trace.size() && s_->trace[*row].provider == cfg_.name) {
      const auto& t = s_->trace[*row];
      if (t.latency)
        observed = std::max(observed.value_or(duration{0}), *t.latency);
      if (t.has_status)
        e = t.status;
    } else if (static_cast<ppm>(rng_() % ppm_one) < m.failure_rate) {
      e = failure_class(m);
    }
    if (e == error_class::none && extra_rate > 0 && static_cast<ppm>(rng_() % ppm_one) < extra_rate)
      e = extra_class;
    const auto noise = static_cast<double>(rng_() % 2001) / 1000.0 - 1.0;
    if (e != error_class::none) {
      out.error = e;
      out.message = "simulated " + std::string{to_string(e)};
      return out;
    }
    out.images.assign(static_cast<std::size_t>(std::max(1, item.n)), std::string{"sim"});
    out.quality = std::clamp(m.quality + 0.03 * noise, 0.0, 1.0);
    return out;
  }

  provider_config cfg_;
  std::shared_ptr<const scenario> s_;
  std::shared_ptr<port_counts> counts_;
  std::array<resolved, tier_count> tiers_;
  std::vector<incident> incidents_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> normal_{0.0, 1.0};
  std::unordered_map<std::string, remote_job> remote_;
  std::uint64_t next_remote_ = 0;
};

} // namespace

std::shared_ptr<provider_port> make_scenario_provider(const provider_config& cfg, std::shared_ptr<const scenario> s,
                                                      std::uint64_t seed, std::shared_ptr<port_counts> counts) {
  return std::make_shared<scenario_provider>(cfg, std::move(s), seed, std::move(counts));
}

} // namespace cutover::providers
