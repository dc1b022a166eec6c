#include "app/simulate/sim_run.hpp"
#include "core/log_line.hpp"

#include "actors/engine.hpp"
#include "adapters/providers/scenario_provider.hpp"
#include "adapters/store/deferred_store.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "core/traffic.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <iostream>
#include <unistd.h>

namespace cutover::sim {

using namespace cutover::core;
using namespace std::chrono_literals;

namespace {

/// Runs every actor with mail until none has any, as the test scheduler's run() does, but resumes an actor once for
/// all of its mail. The test scheduler resumes an actor for one message and puts it back at the front of the queue,
/// so it runs next anyway: the order is the same. Each resume costs a lookup under a lock in CAF's logger (6 % of
/// the simulation thread's samples on a 2-day load run), now paid once per actor turn instead of per message.
class drain_unit : public caf::execution_unit {
public:
  explicit drain_unit(caf::scheduler::test_coordinator& sched) : caf::execution_unit(&sched.system()), sched_(sched) {}
  void exec_later(caf::resumable* job) override { sched_.jobs.push_back(job); } // as the test scheduler's own unit

  void drain() {
    constexpr std::size_t all_mail = 1u << 20; // any bound would do; this one keeps CAF's quantum sums far from overflow
    while (!sched_.jobs.empty()) {
      auto* job = sched_.jobs.front();
      sched_.jobs.pop_front();
      switch (job->resume(this, all_mail)) {
        case caf::resumable::resume_later:
          sched_.jobs.push_front(job);
          break;
        case caf::resumable::done:
        case caf::resumable::awaiting_message:
          intrusive_ptr_release(job);
          break;
        case caf::resumable::shutdown_execution_unit:
          break;
      }
    }
  }

private:
  caf::scheduler::test_coordinator& sched_;
};

/// What the driver heard back from intake and the rollout controller.
struct driver_log {
  std::int64_t accepted = 0, refused = 0;
  std::vector<operator_record> ops;
};

/// Submits jobs into intake and operator actions into the controller, and counts their answers.
caf::behavior driver(caf::event_based_actor* self, msg::intake_actor intake, msg::rollout_actor rollout,
                     std::shared_ptr<driver_log> log, actors::clock_anchor clock) {
  return {
    [=](msg::submit_job& j) {
      self->request(intake, caf::infinite, std::move(j))
        .then([log](msg::submit_reply& r) { (r.error == msg::submit_error::none ? log->accepted : log->refused) += 1; },
              [log](caf::error&) { log->refused += 1; });
    },
    [=](msg::operator_action& a) {
      const auto at = clock.now(self->clock());
      const auto action = a.action;
      self->request(rollout, caf::infinite, std::move(a))
        .then([log, at, action](msg::operator_reply& r) { log->ops.push_back({at, action, to_string(r.error), r.message}); },
              [log, at, action](caf::error& e) { log->ops.push_back({at, action, "error", to_string(e)}); });
    },
    [=](msg::step_percent& p) {
      const auto at = clock.now(self->clock());
      const auto action = "step_down to " + std::to_string(p.percent) + "%";
      self->request(rollout, caf::infinite, std::move(p))
        .then([log, at, action](msg::operator_reply& r) { log->ops.push_back({at, action, to_string(r.error), r.message}); },
              [log, at, action](caf::error& e) { log->ops.push_back({at, action, "error", to_string(e)}); });
    },
  };
}

double percentile_s(std::vector<std::int64_t>& v, double q) {
  if (v.empty())
    return -1;
  const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

std::string temp_store(const run_options& opts, std::uint64_t seed) {
  static int counter = 0;
  auto dir = opts.temp_dir.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(opts.temp_dir);
  return (dir / ("cutover-sim-" + std::to_string(::getpid()) + "-" + std::to_string(seed) + "-" +
                 std::to_string(counter++) + ".db"))
    .string();
}

void remove_store(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix, ec);
}

/// The trigger names that fired in a decision, or its failing gates.
std::string item_names(const decision_record& d, const char* kind, bool failing_only) {
  std::string out;
  for (const auto& i : d.items)
    // a trigger counts when it fired; a gate when it did not pass (failed or wanted more data)
    if (i.kind == kind && (!failing_only || i.verdict == "fired" || i.verdict == "fail" ||
                           (i.kind == "gate" && i.verdict == "insufficient data")))
      out += (out.empty() ? "" : "+") + i.name;
  return out;
}

void gather(run_result& r, const scenario& sc, const std::string& path) {
  const auto& cfg = *sc.config;
  // the decisions and figures the engine wrote, read back through the store's own queries. Opened as serve opens
  // it (a shared lock, not simulate's exclusive one) so that the reads below run beside it on their own connection.
  auto store = store_adapter::open_sqlite_store(path, sync_mode::off, store_adapter::store_open_options{true, false});
  auto ds = store->audit().decisions(sc.start, 0, std::numeric_limits<std::size_t>::max());
  std::reverse(ds.begin(), ds.end());
  for (auto& d : ds)
    if (d.at <= sc.end())
      r.decisions.push_back(std::move(d));
  r.budget = store->budget().budget_days("0000-00-00");
  // the daily figures are the longest read after the run (a pass over every attempt, a subquery per row): on the
  // other core, while this one reads the jobs (declared after `store`, so it is waited for before the store closes)
  auto daily = std::async(std::launch::async, [&store, &sc, &cfg] {
    return store->budget().daily_stats(sc.start, cfg.budget.day_starts);
  });

  r.final_percent = cfg.rollout.percent;
  r.final_state = "running";
  bool rolled_back = false;
  std::string held_by, fired;
  for (const auto& d : r.decisions) {
    r.final_percent = d.percent;
    r.final_state = d.state;
    if (d.percent >= 100 && !r.reached_100_at)
      r.reached_100_at = d.at;
    if (d.action == "rollback" || d.action == "operator_rollback") {
      ++r.rollbacks;
      rolled_back = true;
      if (fired.empty())
        fired = d.action == "operator_rollback" ? "operator" : item_names(d, "trigger", true);
      if (r.incident_at && !r.rollback_at && d.at >= *r.incident_at)
        r.rollback_at = d.at;
    }
    if (d.action == "hold")
      held_by = item_names(d, "gate", true);
  }
  if (r.reached_100_at) {
    r.result = {"reached_100", ""};
  } else if (rolled_back) {
    r.result = {"rolled_back", fired};
  } else {
    duration needed{0};
    const auto& ps = cfg.rollout.phases;
    for (std::size_t i = 0; i + 1 < ps.size(); ++i)
      needed += ps[i].min_duration;
    r.result = needed > sc.length ? outcome{"not_due", "phases need " + std::to_string(needed.count() / 3'600'000'000) + "h"}
                                  : outcome{"held", held_by.empty() ? "operator" : held_by};
  }

  auto results = store_adapter::open_sim_results(path, r.providers);
  const auto cand = std::find(r.providers.begin(), r.providers.end(), r.candidate) - r.providers.begin();
  const auto base = std::find(r.providers.begin(), r.providers.end(), r.baseline) - r.providers.begin();
  const auto hours = static_cast<std::size_t>((sc.length + sc.drain + 1h - 1us) / 1h);
  r.timeline.resize(hours);
  for (std::size_t h = 0; h < hours; ++h) {
    r.timeline[h].hour = static_cast<std::int64_t>(h);
    r.timeline[h].attempts.assign(r.providers.size(), 0);
  }
  // percent and state at the end of each hour
  {
    int percent = cfg.rollout.percent;
    std::string state = "running";
    std::size_t next = 0;
    for (std::size_t h = 0; h < hours; ++h) {
      const auto until = sc.start + std::chrono::hours(h + 1);
      while (next < r.decisions.size() && r.decisions[next].at < until) {
        percent = r.decisions[next].percent;
        state = r.decisions[next].state;
        ++next;
      }
      r.timeline[h].percent = percent;
      r.timeline[h].state = state;
    }
  }
  for (const auto& row : results->hourly(sc.start)) {
    if (row.hour < 0 || static_cast<std::size_t>(row.hour) >= hours || row.provider < 0)
      continue;
    auto& t = r.timeline[static_cast<std::size_t>(row.hour)];
    t.attempts[static_cast<std::size_t>(row.provider)] += row.attempts;
    t.spend += row.cost;
  }
  std::vector<std::vector<std::int64_t>> waits_c(hours), waits_b(hours);
  std::vector<std::int64_t> all;
  const auto start_us = sc.start.time_since_epoch().count();
  for (const auto& j : results->jobs()) {
    if (!is_final(j.status)) {
      ++r.open;
      continue;
    }
    (j.status == job_status::succeeded ? r.succeeded : r.failed) += 1;
    if (j.status == job_status::succeeded)
      r.images += j.n;
    const auto wait = j.updated_us - j.created_us;
    all.push_back(wait);
    const auto h = static_cast<std::size_t>((j.created_us - start_us) / 3'600'000'000);
    if (h >= hours)
      continue;
    auto& t = r.timeline[h];
    t.finished += 1;
    t.failed += j.status == job_status::succeeded ? 0 : 1;
    if (j.first_provider == cand)
      waits_c[h].push_back(wait);
    else if (j.first_provider == base)
      waits_b[h].push_back(wait);
  }
  for (std::size_t h = 0; h < hours; ++h) {
    r.timeline[h].wait_p95_candidate_s = percentile_s(waits_c[h], 0.95);
    r.timeline[h].wait_p95_baseline_s = percentile_s(waits_b[h], 0.95);
  }
  r.wait_p50_s = std::max(0.0, percentile_s(all, 0.50));
  r.wait_p95_s = std::max(0.0, percentile_s(all, 0.95));
  r.daily = daily.get();
  for (const auto& d : r.daily) {
    r.cost_by_provider[d.provider] += d.cost;
    r.cost += d.cost;
  }
  for (const auto& p : r.providers)
    r.cost_by_provider.emplace(p, 0);
  r.tick = cfg.rollout.tick;
  if (r.incident_at)
    if (const auto us = results->first_failure_us(r.candidate, *r.incident_at); us > 0)
      r.first_failure_at = instant{duration{us}};
  if (r.rollback_at) {
    const auto f = results->in_flight(r.candidate, *r.rollback_at);
    r.candidate_drained_at = std::max(*r.rollback_at, instant{duration{f.last_finished_us}});
    r.candidate_unfinished = f.unfinished;
  }
}

} // namespace

run_result run_once(std::shared_ptr<const scenario> sc, std::uint64_t seed, const run_options& opts) {
  const auto wall_start = std::chrono::steady_clock::now(); // stderr and bench figures only
  core::log_sink::instance().set_job_events(false); // no line per simulated job (millions over days)
  struct mute { // nor the engine's event lines: the run reports through its files and its own stderr lines
    mute() { core::log_sink::instance().set_muted(true); }
    ~mute() { core::log_sink::instance().set_muted(false); }
  } muted;
  run_result r;
  r.seed = seed;
  r.start = sc->start;
  r.end = sc->end();
  const auto& cfg = sc->config;
  for (const auto& p : cfg->providers)
    r.providers.push_back(p.name);
  r.candidate = cfg->rollout.candidate;
  r.baseline = cfg->rollout.baseline;
  for (const auto& i : sc->incidents)
    if (!r.incident_at || i.from < *r.incident_at)
      r.incident_at = i.from;

  const auto path = temp_store(opts, seed);
  remove_store(path);
  std::map<std::string, std::shared_ptr<providers::port_counts>> counts;
  std::shared_ptr<store_adapter::deferred_store> db;
  {
    caf::actor_system_config sys_cfg;
    sys_cfg.set("scheduler.policy", caf::atom("testing"));
    sys_cfg.set("logger.console", caf::atom("none"));
    caf::actor_system sys{sys_cfg};
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
    auto& clock = sched.clock();
    drain_unit run{sched};
    const auto t0 = clock.now();
    const actors::clock_anchor anchor{sc->start, t0};
    auto to_clock = [&](instant t) { return t0 + (t - sc->start); };
    // commits gathered over virtual time: a transaction per virtual instant was half of a simulated job's cost
    db = std::make_shared<store_adapter::deferred_store>(
      store_adapter::open_sqlite_store(path, sync_mode::off, store_adapter::store_open_options{false, false}), 20'000, true);
    for (const auto& p : cfg->providers)
      counts[p.name] = std::make_shared<providers::port_counts>();
    auto engine = actors::start_engine(
      sys, cfg, db,
      [&](const provider_config& p) { return providers::make_scenario_provider(p, sc, seed, counts[p.name]); },
      anchor, actors::engine_options{false, {}, nullptr, nullptr}); // no webhooks: simulate notifies nobody
    auto log = std::make_shared<driver_log>();
    auto drive = sys.spawn(driver, engine.intake, engine.rollout, log, anchor);
    run.drain();

    traffic_generator traffic(*sc, seed);
    auto next = traffic.next();
    std::size_t action = 0;
    const auto horizon = to_clock(sc->end() + sc->drain);
    const auto day = std::chrono::hours(24);
    const auto days = (sc->length + day - 1us) / day;
    std::int64_t shown_day = -1;
    for (;;) {
      auto t_next = horizon + 1us;
      if (next)
        t_next = std::min(t_next, to_clock(next->at));
      if (action < sc->actions.size())
        t_next = std::min(t_next, to_clock(sc->actions[action].at));
      const auto& timers = clock.schedule();
      if (!timers.empty() && timers.begin()->first <= t_next) {
        if (timers.begin()->first > horizon)
          break;
        clock.trigger_timeout(); // moves virtual time to the timer's instant
        run.drain();
        continue;
      }
      if (t_next > horizon)
        break;
      if (clock.current_time < t_next)
        clock.current_time = t_next;
      if (next && to_clock(next->at) == t_next) {
        caf::anon_send(drive, msg::submit_job{std::move(next->spec), {}, {}});
        ++r.submitted;
        next = traffic.next();
      } else {
        const auto& a = sc->actions[action++];
        if (a.action == "reload")
          engine.reload(a.config);
        else if (a.action == "step_down")
          caf::anon_send(drive, msg::step_percent{a.percent});
        else
          caf::anon_send(drive, msg::operator_action{a.action});
        if (a.action == "reload")
          log->ops.push_back({a.at, "reload", "none", a.patch_text});
      }
      run.drain();
      if (opts.progress) {
        const auto d = (anchor.now(clock) - sc->start) / day;
        if (d != shown_day) {
          shown_day = d;
          const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
          std::fprintf(stderr, "\rsimulated day %lld of %lld, %lld jobs, %.0f jobs/s   ",
                       static_cast<long long>(d + 1), static_cast<long long>(days),
                       static_cast<long long>(r.submitted), wall > 0 ? static_cast<double>(r.submitted) / wall : 0.0);
          std::fflush(stderr);
        }
      }
    }
    r.accepted = log->accepted;
    r.refused = log->refused;
    r.operator_actions = log->ops;
    caf::anon_send_exit(drive, caf::exit_reason::user_shutdown);
    engine.stop();
    run.drain();
    while (clock.trigger_timeout()) // let the actors see their exits (timers left are dropped)
      run.drain();
  }
  // the actors are gone: what they committed last reaches the file, and the file is closed before gather reads it
  try {
    db->write_pending();
  } catch (const std::exception&) {
  }
  if (!db->failure().empty())
    throw std::runtime_error("simulate: the run's store failed: " + db->failure());
  db.reset();
  for (const auto& [name, c] : counts) {
    r.submits[name] = c->submits;
    r.items[name] = c->items;
    r.polls[name] = c->polls;
  }
  gather(r, *sc, path);
  if (opts.keep_store)
    std::fprintf(stderr, "simulate: the run's store is kept at %s\n", path.c_str());
  else
    remove_store(path);
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (opts.progress)
    std::fprintf(stderr, "\n");
  return r;
}

} // namespace cutover::sim
