#include "actors/router_meters.hpp"

#include "core/metric_catalog.hpp"

namespace cutover::actors {

using namespace cutover::core;

router_meters::router_meters(metrics_ptr m) : m_(std::move(m)) {
  ratio_ = &m_->get_gauge(metric::fallback_ratio, {});
}

void router_meters::finished(job_status s, instant now) {
  auto& c = finished_[static_cast<std::size_t>(s)];
  if (c == nullptr)
    c = &m_->get_counter(metric::jobs_finished, {{"status", std::string{to_string(s)}}});
  c->add();
  window_.add(now, 0, 1);
}

void router_meters::fell_back(const std::string& from, const std::string& to, std::string_view reason,
                              instant now) {
  auto key = std::make_tuple(from, to, std::string{reason});
  auto it = fallbacks_.find(key);
  if (it == fallbacks_.end())
    it = fallbacks_
           .emplace(key, &m_->get_counter(metric::fallbacks,
                                          {{"from", from}, {"to", to}, {"reason", std::string{reason}}}))
           .first;
  it->second->add();
  window_.add(now, 1, 0);
}

void router_meters::user_wait(const std::string& provider, tier t, cohort c, duration wait) {
  auto key = std::make_tuple(provider, t, c);
  auto it = waits_.find(key);
  if (it == waits_.end())
    it = waits_
           .emplace(key, &m_->get_histogram(metric::job_user_wait, {{"provider", provider},
                                                                     {"tier", std::string{to_string(t)}},
                                                                     {"cohort", std::string{to_string(c)}}}))
           .first;
  it->second->observe(wait);
}

void router_meters::admission(const std::string& provider, std::int64_t delta) {
  auto it = admission_.find(provider);
  if (it == admission_.end())
    it = admission_
           .emplace(provider, &m_->get_gauge(metric::queue_depth,
                                             {{"provider", provider}, {"stage", metric::stage_admission}}))
           .first;
  it->second->add(delta);
}

bool router_meters::publish_ratio(instant now) {
  ratio_->set(window_.ratio_ppm(now));
  return !window_.empty(now);
}

} // namespace cutover::actors
