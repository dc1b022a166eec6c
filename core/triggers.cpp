#include "core/triggers.hpp"

#include <algorithm>

namespace cutover::core {

namespace {

using namespace std::chrono_literals;
constexpr duration tick_inclusive = 1us; // stats() covers [from, to): +1 us makes `now` itself part of it

cohort_stats trailing(const metric_window& w, cohort c, instant now, duration span) {
  return w.stats(c, now - span, now + tick_inclusive);
}

double fraction(std::int64_t part, std::int64_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

/// part / whole > above_ppm / 1e6, exactly.
bool rate_above(std::int64_t part, std::int64_t whole, ppm above) {
  return part * ppm_one > static_cast<std::int64_t>(above) * whole;
}

std::string since_text(instant t) { return "(since " + format_rfc3339(t) + ")"; }

evaluation make(std::string_view name, duration window, std::int64_t samples) {
  evaluation e;
  e.name = name;
  e.window = window;
  e.samples = samples;
  return e;
}

} // namespace

trigger_evaluator::trigger_evaluator(duration evaluation_window)
    : window_(evaluation_window > duration{0} ? evaluation_window : duration{std::chrono::minutes(1)}) {}

void trigger_evaluator::reset() { error_since_ = p95_since_ = p99_since_ = expected_since_ = std::nullopt; }

void trigger_evaluator::expire(std::optional<instant>& since, instant judged, instant now) const {
  // Minutes with no sample are no evidence either way: keeping the breach over them let `for` be reached on
  // mostly empty minutes (found by simulate: p95_vs_baseline held 51 m at 100 %, past midnight, on a handful of
  // baseline samples). A gap up to the evaluation window (a bucket or two without an answer) keeps it.
  if (since && now - judged > window_)
    since.reset();
}

std::optional<instant> trigger_evaluator::since(std::string_view t) const {
  if (t == "error_rate") return error_since_;
  if (t == "p95_vs_baseline") return p95_since_;
  if (t == "p99_vs_baseline") return p99_since_;
  if (t == "silence") return expected_since_;
  return std::nullopt;
}

evaluation trigger_evaluator::error_rate(const rate_trigger& t, const metric_window& w, instant now, bool with_reasons) {
  const auto c = trailing(w, cohort::candidate, now, window_);
  const auto b = trailing(w, cohort::baseline, now, window_);
  auto e = make("error_rate", window_, c.samples);
  e.observed = fraction(c.failures, c.samples);
  e.baseline = fraction(b.failures, b.samples);
  e.threshold = static_cast<double>(t.above) / ppm_one;
  if (c.samples == 0) {
    expire(error_since_, error_judged_, now);
    e.v = verdict::insufficient;
    if (with_reasons)
      e.reason = "no candidate samples over " + explain::span(window_) +
                 (error_since_ ? "; breach kept " + since_text(*error_since_) : "");
    return e;
  }
  auto figures = [&] {
    return "candidate error rate " + explain::percent(e.observed) + " (" + std::to_string(c.failures) + " of " +
           std::to_string(c.samples) + ")";
  };
  if (!rate_above(c.failures, c.samples, t.above)) {
    error_since_.reset();
    if (with_reasons)
      e.reason = figures() + " <= " + explain::percent(e.threshold) + " over " + explain::span(window_);
    return e;
  }
  if (!error_since_)
    error_since_ = now;
  error_judged_ = now;
  const duration held = now - *error_since_;
  auto breach = [&] { return figures() + " > " + explain::percent(e.threshold) + " over " + explain::span(window_); };
  if (held < t.window) {
    if (with_reasons)
      e.reason = breach() + ", breaching for " + explain::span(held) + " of " + explain::span(t.window) + " " +
                 since_text(*error_since_);
    return e;
  }
  const auto total = trailing(w, cohort::candidate, now, held + window_).samples;
  e.window = held + window_;
  e.samples = total;
  auto sustained = [&] { return breach() + " for " + explain::span(held) + " " + since_text(*error_since_) + ", "; };
  if (total >= t.min_samples) {
    e.v = verdict::fail;
    if (with_reasons)
      e.reason = sustained() + std::to_string(total) + " samples";
  } else {
    e.v = verdict::insufficient;
    if (with_reasons)
      e.reason = sustained() + "but only " + std::to_string(total) + " of " + std::to_string(t.min_samples) + " samples";
  }
  return e;
}

evaluation trigger_evaluator::latency_factor(const char* name, duration cohort_stats::*q, const factor_trigger& t,
                                             const metric_window& w, instant now, std::optional<instant>& since,
                                             instant& judged, bool with_reasons) {
  const auto c = trailing(w, cohort::candidate, now, window_);
  const auto b = trailing(w, cohort::baseline, now, window_);
  const bool user = t.latency == latency_kind::user;
  if (user) // created -> final of the jobs routed to each cohort
    q = q == &cohort_stats::p95 ? &cohort_stats::user_p95 : &cohort_stats::user_p99;
  const auto c_samples = user ? c.user_wait_samples : c.latency_samples;
  const auto b_samples = user ? b.user_wait_samples : b.latency_samples;
  auto e = make(name, window_, c_samples);
  e.observed = explain::to_seconds(c.*q);
  e.baseline = explain::to_seconds(b.*q);
  e.threshold = t.factor * e.baseline;
  if (c_samples == 0 || b_samples == 0) {
    expire(since, judged, now);
    e.v = verdict::insufficient;
    if (with_reasons)
      e.reason = std::string("no succeeded ") + (c_samples == 0 ? "candidate" : "baseline") +
                 (user ? " jobs" : " samples") + " over " + explain::span(window_) +
                 (since ? "; breach kept " + since_text(*since) : "");
    return e;
  }
  const bool breach = static_cast<double>((c.*q).count()) > t.factor * static_cast<double>((b.*q).count());
  auto figures = [&] {
    const std::string label = std::string(user ? "user wait " : "") + std::string(name).substr(0, 3); // "p95"/"p99"
    return "candidate " + label + " " + explain::seconds(c.*q) + (breach ? " > " : " <= ") +
           explain::number(t.factor) + " x baseline " + explain::seconds(b.*q);
  };
  if (!breach) {
    since.reset();
    if (with_reasons)
      e.reason = figures() + " over " + explain::span(window_);
    return e;
  }
  if (!since)
    since = now;
  judged = now;
  const duration held = now - *since;
  if (held < t.window) {
    if (with_reasons)
      e.reason = figures() + " over " + explain::span(window_) + ", breaching for " + explain::span(held) + " of " +
                 explain::span(t.window) + " " + since_text(*since);
    return e;
  }
  // A percentile of one or two answers a minute says little; sustained over a sparse night it rolled back a
  // healthy candidate (found by simulate). Judge only with min_samples on each side over the breach.
  const int need = t.min_samples > 0 ? t.min_samples : default_latency_min_samples;
  const auto over_c = trailing(w, cohort::candidate, now, held + window_);
  const auto over_b = trailing(w, cohort::baseline, now, held + window_);
  const auto cs = user ? over_c.user_wait_samples : over_c.latency_samples;
  const auto bs = user ? over_b.user_wait_samples : over_b.latency_samples;
  e.window = held + window_;
  e.samples = cs;
  if (cs < need || bs < need) {
    e.v = verdict::insufficient;
    if (with_reasons)
      e.reason = figures() + " for " + explain::span(held) + " " + since_text(*since) + ", but only " +
                 std::to_string(cs) + " candidate and " + std::to_string(bs) + " baseline samples of " +
                 std::to_string(need);
    return e;
  }
  e.v = verdict::fail;
  if (with_reasons)
    e.reason = figures() + " for " + explain::span(held) + " " + since_text(*since);
  return e;
}

std::vector<evaluation> trigger_evaluator::evaluate(const triggers_config& cfg, const metric_window& w,
                                                    const trigger_context& ctx, instant now) {
  std::vector<evaluation> out;
  evaluate(cfg, w, ctx, now, out, true);
  return out;
}

void trigger_evaluator::evaluate(const triggers_config& cfg, const metric_window& w, const trigger_context& ctx,
                                 instant now, std::vector<evaluation>& out, bool with_reasons) {
  out.clear();
  if (cfg.error_rate)
    out.push_back(error_rate(*cfg.error_rate, w, now, with_reasons));
  else
    error_since_.reset();
  if (cfg.p95_vs_baseline)
    out.push_back(
      latency_factor("p95_vs_baseline", &cohort_stats::p95, *cfg.p95_vs_baseline, w, now, p95_since_, p95_judged_,
                     with_reasons));
  else
    p95_since_.reset();
  if (cfg.p99_vs_baseline)
    out.push_back(
      latency_factor("p99_vs_baseline", &cohort_stats::p99, *cfg.p99_vs_baseline, w, now, p99_since_, p99_judged_,
                     with_reasons));
  else
    p99_since_.reset();

  if (cfg.cost_over_budget) {
    const auto c = trailing(w, cohort::candidate, now, window_);
    auto e = make("cost_over_budget", window_, c.samples);
    e.observed = explain::to_usd(c.cost_per_image);
    const ppm x = *cfg.cost_over_budget;
    if (!ctx.cost_reference || c.images <= 0) {
      e.v = verdict::insufficient;
      if (with_reasons)
        e.reason = !ctx.cost_reference ? "no cost reference for the candidate"
                                       : "no candidate images over " + explain::span(window_);
    } else {
      const micros ref = *ctx.cost_reference;
      e.baseline = explain::to_usd(ref);
      e.threshold = e.baseline * (1.0 + static_cast<double>(x) / ppm_one);
      // cost / images > ref * (1e6 + x) / 1e6, in 128 bits so that no realistic figure can overflow.
      const bool over = static_cast<__int128>(c.cost) * ppm_one >
                        static_cast<__int128>(ref) * (static_cast<std::int64_t>(ppm_one) + x) * c.images;
      e.v = over ? verdict::fail : verdict::pass;
      if (with_reasons)
        e.reason = "candidate cost per image " + explain::usd(c.cost_per_image) + " (" + explain::usd(c.cost) +
                   " for " + std::to_string(c.images) + " images)" + (over ? " > " : " <= ") + explain::usd(ref) +
                   " x (1 + " + explain::percent(static_cast<double>(x) / ppm_one) + ") over " +
                   explain::span(window_);
    }
    out.push_back(std::move(e));
  }

  if (cfg.auth_failures) {
    const auto& t = *cfg.auth_failures;
    const duration span = t.window > duration{0} ? t.window : window_;
    const auto c = trailing(w, cohort::candidate, now, span);
    const auto n = c.errors_of(error_class::auth);
    auto e = make("auth_failures", span, c.samples);
    e.observed = static_cast<double>(n);
    e.threshold = t.above;
    e.v = n > t.above ? verdict::fail : verdict::pass;
    if (with_reasons)
      e.reason = "candidate auth failures " + std::to_string(n) + (n > t.above ? " > " : " <= ") +
                 std::to_string(t.above) + " over " + explain::span(span);
    out.push_back(std::move(e));
  }

  if (cfg.breaker_trips) {
    const auto& t = *cfg.breaker_trips;
    const duration span = t.window > duration{0} ? t.window : window_;
    const auto c = trailing(w, cohort::candidate, now, span);
    const auto n = c.breaker_trips;
    auto e = make("breaker_trips", span, c.samples);
    e.observed = static_cast<double>(n);
    e.threshold = t.above;
    e.v = n > t.above ? verdict::fail : verdict::pass;
    if (with_reasons)
      e.reason = "candidate breaker trips " + std::to_string(n) + (n > t.above ? " > " : " <= ") +
                 std::to_string(t.above) + " over " + explain::span(span);
    out.push_back(std::move(e));
  }

  if (cfg.content_policy_rate) {
    const auto& t = *cfg.content_policy_rate;
    const duration span = t.window > duration{0} ? t.window : window_;
    const int min = t.min_samples > 0 ? t.min_samples : default_content_policy_min_samples;
    const auto c = trailing(w, cohort::candidate, now, span);
    const auto b = trailing(w, cohort::baseline, now, span);
    const auto n = c.errors_of(error_class::content_policy);
    auto e = make("content_policy_rate", span, c.samples);
    e.observed = fraction(n, c.samples);
    e.baseline = fraction(b.errors_of(error_class::content_policy), b.samples);
    e.threshold = static_cast<double>(t.above) / ppm_one;
    auto figures = [&] {
      return "candidate content-policy rejections " + explain::percent(e.observed) + " (" + std::to_string(n) +
             " of " + std::to_string(c.samples) + ")";
    };
    if (c.samples < min) {
      e.v = verdict::insufficient;
      if (with_reasons)
        e.reason = figures() + " over " + explain::span(span) + ", fewer than " + std::to_string(min) + " samples";
    } else {
      const bool over = rate_above(n, c.samples, t.above);
      e.v = over ? verdict::fail : verdict::pass;
      if (with_reasons)
        e.reason = figures() + (over ? " > " : " <= ") + explain::percent(e.threshold) + " over " + explain::span(span);
    }
    out.push_back(std::move(e));
  }

  if (cfg.quota_exhausted) {
    const auto c = trailing(w, cohort::candidate, now, window_);
    const auto n = c.errors_of(error_class::quota);
    auto e = make("quota_exhausted", window_, c.samples);
    e.observed = static_cast<double>(n);
    e.v = n > 0 ? verdict::fail : verdict::pass;
    if (with_reasons)
      e.reason = "candidate quota errors " + std::to_string(n) + " over " + explain::span(window_);
    out.push_back(std::move(e));
  }

  if (!cfg.silence || !ctx.traffic_expected)
    expected_since_.reset();
  if (cfg.silence) {
    const duration span = *cfg.silence;
    auto e = make("silence", span, 0);
    e.threshold = explain::to_seconds(span);
    if (!ctx.traffic_expected) {
      if (with_reasons)
        e.reason = "no candidate traffic expected";
    } else {
      if (!expected_since_)
        expected_since_ = now;
      const instant last = w.last_response(cohort::candidate);
      const instant quiet_since = std::max(last, *expected_since_);
      const duration quiet = now - quiet_since;
      const auto sent = w.dispatches(cohort::candidate, now - span, now + tick_inclusive);
      // Items sent since the candidate last answered that have had the whole window to be answered. Judging by the
      // items sent in the trailing window instead fired on sparse traffic: an item sent a minute ago after a quiet
      // spell was taken for one unanswered for the whole window (found by simulate: 10 % at night).
      // Dispatches are counted per bucket: after an answer, count from the next bucket, or an item sent and
      // answered within one bucket would look unanswered (an item sent later in it waits at most a bucket more).
      auto count_from = quiet_since;
      if (last >= *expected_since_) {
        const auto width = w.bucket_width();
        count_from = instant{(last.time_since_epoch() / width + 1) * width};
      }
      const auto overdue =
        now - span >= count_from ? w.dispatches(cohort::candidate, count_from, now - span + tick_inclusive) : 0;
      e.samples = sent;
      e.observed = explain::to_seconds(quiet);
      const bool fired = quiet >= span && overdue > 0;
      e.v = fired ? verdict::fail : verdict::pass;
      if (with_reasons) {
        const std::string from = last >= *expected_since_
                                   ? "last response at " + format_rfc3339(last)
                                   : "traffic expected since " + format_rfc3339(*expected_since_);
        if (fired)
          e.reason = "no candidate response for " + explain::span(quiet) + " >= " + explain::span(span) + " (" +
                     from + "), " + std::to_string(overdue) + " items sent since then unanswered for " +
                     explain::span(span);
        else if (quiet < span)
          e.reason = "candidate quiet for " + explain::span(quiet) + " < " + explain::span(span) + " (" + from + ")";
        else
          e.reason = "candidate quiet for " + explain::span(quiet) + " (" + from +
                     ") but no item sent since then has waited " + explain::span(span);
      }
    }
    out.push_back(std::move(e));
  }
}

bool any_fired(const std::vector<evaluation>& triggers) {
  return std::any_of(triggers.begin(), triggers.end(), [](const evaluation& e) { return e.v == verdict::fail; });
}

} // namespace cutover::core
