#include "adapters/providers/simulated.hpp"

#include "adapters/providers/png.hpp"
#include "core/bucket.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>

namespace cutover::providers {

using namespace cutover::core;

namespace {

/// The z-score of the 95th percentile of a standard normal distribution.
constexpr double z95 = 1.6448536269514722;

class simulated_provider final : public provider_port {
public:
  explicit simulated_provider(const provider_config& cfg)
    : cfg_(cfg), rng_(cfg.simulated.seed ^ murmur3_x86_32(cfg.name, 0x5eed)) {
    const double p50 = std::chrono::duration<double>(cfg.simulated.latency_p50).count();
    const double p95 = std::chrono::duration<double>(cfg.simulated.latency_p95).count();
    if (p50 > 0) {
      mu_ = std::log(p50);
      sigma_ = p95 > p50 ? std::log(p95 / p50) / z95 : 0.0;
    }
  }

  bool takes_batches() const override { return cfg_.mode == provider_mode::async; }

  void submit(const std::vector<work_item>& items, instant now, callback done) override {
    std::unique_lock<std::mutex> guard{mu_lock_};
    const duration latency = draw_latency();
    if (cfg_.mode == provider_mode::async) {
      char id[96];
      std::snprintf(id, sizeof id, "sim-%lld-%lld-%llu", static_cast<long long>(now.time_since_epoch().count()),
                    static_cast<long long>(latency.count()), static_cast<unsigned long long>(rng_()));
      guard.unlock();
      provider_reply r;
      r.k = provider_reply::kind::accepted;
      r.remote_id = id;
      done(std::move(r));
      return;
    }
    provider_reply r;
    if (latency > cfg_.timeout) {
      r.error = error_class::timeout;
      r.message = "no answer within " + std::to_string(cfg_.timeout.count() / 1000) + " ms";
      r.delay = cfg_.timeout;
    } else {
      r.delay = latency;
      for (const auto& item : items)
        r.items.push_back(result_for(item, rng_()));
    }
    guard.unlock();
    done(std::move(r));
  }

  void poll(const std::string& remote_id, const std::vector<work_item>& items, instant now,
            callback done) override {
    long long submitted = 0, latency = 0;
    unsigned long long nonce = 0;
    provider_reply r;
    if (std::sscanf(remote_id.c_str(), "sim-%lld-%lld-%llu", &submitted, &latency, &nonce) != 3) {
      r.error = error_class::bad_request;
      r.message = "unknown remote job " + remote_id;
    } else if (now.time_since_epoch().count() < submitted + latency) {
      r.k = provider_reply::kind::pending;
      r.remote_id = remote_id;
    } else {
      r.remote_id = remote_id;
      for (const auto& item : items)
        r.items.push_back(result_for(item, murmur3_x86_32(remote_id + ":" + to_string(item.id), 0) * 0x9E3779B97F4A7C15ull));
    }
    done(std::move(r));
  }

  /// A simulated remote job costs nothing while it runs and ends by itself: there is nothing to stop.
  void cancel(const std::string& remote_id, instant, callback done) override {
    provider_reply r;
    r.remote_id = remote_id;
    r.message = "the simulated provider has nothing to cancel";
    done(std::move(r));
  }

private:
  duration draw_latency() {
    if (mu_ == 0 && sigma_ == 0 && cfg_.simulated.latency_p50 <= duration{0})
      return duration{0};
    std::normal_distribution<double> normal{0.0, 1.0};
    const double seconds = std::exp(mu_ + sigma_ * normal(rng_));
    return std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds));
  }

  /// One item's outcome from a 64-bit random draw: failure at failure_rate, else n images (priced by the worker).
  provider_reply::item result_for(const work_item& item, std::uint64_t draw) const {
    provider_reply::item out;
    out.id = item.id;
    if (static_cast<std::int64_t>(draw % ppm_one) < cfg_.simulated.failure_rate) {
      out.error = error_class::server;
      out.message = "simulated failure";
      return out;
    }
    const auto colour = murmur3_x86_32(item.prompt, 0);
    for (int i = 0; i < item.n; ++i)
      out.images.push_back(solid_png_base64(colour + static_cast<std::uint32_t>(i) * 0x3F1F7u));
    const double noise = static_cast<double>((draw >> 20) % 2001) / 1000.0 - 1.0; // -1..1
    out.quality = std::clamp(cfg_.simulated.quality + 0.03 * noise, 0.0, 1.0);
    return out;
  }

  provider_config cfg_;
  std::mutex mu_lock_; // real adapters are called from one actor, but a port may be shared by restarts
  std::mt19937_64 rng_;
  double mu_ = 0, sigma_ = 0;
};

} // namespace

std::shared_ptr<provider_port> make_simulated_provider(const provider_config& cfg) {
  return std::make_shared<simulated_provider>(cfg);
}

} // namespace cutover::providers
