#include "app/simulate/simulate.hpp"

#include "adapters/config/scenario_loader.hpp"
#include "app/simulate/sim_report.hpp"
#include "app/simulate/sim_run.hpp"
#include "core/log_line.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace cutover::sim {

const char* simulate_usage =
  R"(usage: cutover simulate --config F --scenario S [--out DIR] [--seed N] [--runs K] [--sweep KEY=V1,V2,...]
  runs the engine's actors on virtual time over the traffic of scenario S (YAML) with config F
  --config F      the configuration (default ./config.yaml); its store.path is never opened
  --scenario S    the scenario file (traffic, providers, incidents, operator actions, or a trace)
  --out DIR       where the files go (default ./sim-out): summary.json, decisions.csv, daily.csv,
                  timeline.csv, report.md, *.svg; runs.csv with --runs; sweep.csv with --sweep
  --seed N        the first seed (default 1); same seed and inputs give byte-identical files
  --runs K        K runs with seeds N..N+K-1 (runs.csv; outcome counts and quantiles in summary.json)
  --sweep K=V,..  runs once per value of config key K (a second --sweep: every combination)
  --processes P   runs in P processes (default: one per core, at most 2)
  --keep-store    leaves each run's SQLite file in the temp folder (its path on stderr), to query it
exit: 0 done; 2 bad flags, config or scenario (every error as file:line: key.path: message)
)";

namespace {

bool parse_u64(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18)
    return false;
  out = std::stoull(s);
  return true;
}

/// Discards what the engine's actors log per event: a simulation of days would print millions of lines.
struct quiet_cerr {
  std::ostringstream sink;
  std::streambuf* saved;
  quiet_cerr() : saved(std::cerr.rdbuf(sink.rdbuf())) {}
  ~quiet_cerr() { std::cerr.rdbuf(saved); }
};

/// The work of one process: (combination, seed) pairs.
struct job {
  std::size_t combo;
  std::uint64_t seed;
};

} // namespace

bool parse_simulate_flags(const std::vector<std::string>& args, simulate_flags& f, std::string& why) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--keep-store") {
      f.keep_store = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      why = a + " needs a value";
      return false;
    }
    const auto& v = args[++i];
    std::uint64_t n = 0;
    if (a == "--config")
      f.config = v;
    else if (a == "--scenario")
      f.scenario = v;
    else if (a == "--out")
      f.out = v;
    else if (a == "--seed" && parse_u64(v, n))
      f.seed = n;
    else if (a == "--runs" && parse_u64(v, n) && n >= 1 && n <= 100000)
      f.runs = static_cast<int>(n);
    else if (a == "--processes" && parse_u64(v, n) && n >= 1 && n <= 64)
      f.processes = static_cast<int>(n);
    else if (a == "--sweep")
      f.sweeps.push_back(v);
    else {
      why = "bad argument " + a + " " + v;
      return false;
    }
  }
  if (f.scenario.empty()) {
    why = "--scenario is required";
    return false;
  }
  if (f.sweeps.size() > 2) {
    why = "at most two --sweep keys";
    return false;
  }
  return true;
}

int simulate(const simulate_flags& flags) {
  core::log_sink::instance().set_job_events(false); // days of virtual traffic: no line per job
  // every combination's scenario and config, validated before any run
  std::vector<sweep_key> keys;
  for (const auto& s : flags.sweeps) {
    sweep_key k;
    std::string why;
    if (!config_adapter::parse_sweep(s, k.key, k.values, why)) {
      std::cerr << "cutover: " << why << "\n";
      return 2;
    }
    keys.push_back(std::move(k));
  }
  std::size_t combos = 1;
  for (const auto& k : keys)
    combos *= k.values.size();
  std::vector<std::shared_ptr<const core::scenario>> scenarios;
  for (std::size_t c = 0; c < combos; ++c) {
    std::vector<config_adapter::patch_entry> patch;
    std::size_t rest = c;
    std::vector<std::size_t> pick(keys.size());
    for (std::size_t k = keys.size(); k-- > 0;) {
      pick[k] = rest % keys[k].values.size();
      rest /= keys[k].values.size();
    }
    for (std::size_t k = 0; k < keys.size(); ++k)
      patch.push_back({keys[k].key, keys[k].values[pick[k]], "--sweep " + keys[k].key, 0});
    auto loaded = config_adapter::load_scenario(flags.scenario, flags.config, patch);
    if (!loaded.scenario) {
      for (const auto& e : loaded.errors)
        std::cerr << config_adapter::to_string(e) << "\n";
      std::cerr << std::flush;
      return 2;
    }
    scenarios.push_back(loaded.scenario);
  }

  const bool tty = ::isatty(2) != 0;
  std::vector<job> work;
  for (std::size_t c = 0; c < combos; ++c)
    for (int k = 0; k < flags.runs; ++k)
      work.push_back({c, flags.seed + static_cast<std::uint64_t>(k)});
  std::vector<std::string> batch_providers;
  for (const auto& p : scenarios.front()->config->providers)
    if (p.mode == core::provider_mode::async)
      batch_providers.push_back(p.name);
  auto dir_of = [&](std::size_t c) {
    if (keys.empty())
      return flags.out;
    std::string name = "sweep-" + std::to_string(c + 1);
    return (std::filesystem::path(flags.out) / name).string();
  };

  const auto wall_start = std::chrono::steady_clock::now();
  std::vector<run_row> rows(work.size());
  // the first run of each combination writes its full files; the others only their rows
  auto run_one = [&](std::size_t w, bool progress) {
    const auto& [c, seed] = work[w];
    run_result r;
    {
      quiet_cerr quiet;
      r = run_once(scenarios[c], seed, run_options{"", progress, flags.keep_store});
    }
    rows[w] = row_of(r, c, batch_providers);
    return r;
  };
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int procs = std::max(1, std::min<int>(flags.processes > 0 ? flags.processes : std::min(2u, cores),
                                              static_cast<int>(work.size())));
  std::vector<run_result> firsts(combos);
  std::vector<bool> have_first(combos, false);
  // process 0 (this one) takes work items 0, procs, 2*procs...; the children the others, and send back their rows
  std::vector<std::pair<pid_t, int>> children;
  for (int p = 1; p < procs; ++p) {
    int fds[2];
    if (::pipe(fds) != 0)
      break;
    std::cout << std::flush;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      std::string out;
      for (std::size_t w = static_cast<std::size_t>(p); w < work.size(); w += static_cast<std::size_t>(procs)) {
        auto r = run_one(w, false);
        if (work[w].seed == flags.seed) { // a combination's first run: its files
          quiet_cerr quiet;
          write_run(dir_of(work[w].combo), *scenarios[work[w].combo], r, "");
        }
        out += encode(rows[w]) + "\n";
      }
      for (std::size_t off = 0; off < out.size();) {
        const auto n = ::write(fds[1], out.data() + off, out.size() - off);
        if (n <= 0)
          ::_exit(1);
        off += static_cast<std::size_t>(n);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      break;
    }
    children.push_back({pid, fds[0]});
  }
  const std::size_t stride = children.size() + 1;
  for (std::size_t w = 0; w < work.size(); w += stride) {
    auto r = run_one(w, tty && work.size() == 1);
    if (work[w].seed == flags.seed) {
      firsts[work[w].combo] = std::move(r);
      have_first[work[w].combo] = true;
    }
    if (tty && work.size() > 1)
      std::fprintf(stderr, "\rrun %zu of %zu   ", w + 1, work.size());
  }
  int failed = 0;
  for (auto& [pid, fd] : children) {
    std::string text;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
      text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      ++failed;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      run_row row;
      if (!decode(line, row))
        continue;
      for (std::size_t w = 0; w < work.size(); ++w)
        if (work[w].combo == row.combo && work[w].seed == row.seed)
          rows[w] = row;
    }
  }
  if (failed > 0) {
    std::cerr << "cutover: " << failed << " simulation process(es) failed\n";
    return 1;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  std::int64_t jobs = 0;
  for (const auto& r : rows)
    jobs += r.jobs;
  if (keys.empty()) {
    std::vector<run_row> mine(rows.begin(), rows.end());
    const std::string extra = flags.runs > 1 ? write_runs(flags.out, mine) : "";
    write_run(flags.out, *scenarios[0], firsts[0], extra); // work item 0 (the first seed) always runs here
  } else {
    for (std::size_t c = 0; c < combos; ++c)
      if (have_first[c])
        write_run(dir_of(c), *scenarios[c], firsts[c], "");
    write_sweep(flags.out, keys, rows);
  }
  if (tty)
    std::fprintf(stderr, "\n");
  std::fprintf(stderr, "simulate: %zu run(s), %lld jobs in %.1f s wall (%.0f jobs/s), %d process(es)\n", work.size(),
               static_cast<long long>(jobs), wall, wall > 0 ? static_cast<double>(jobs) / wall : 0.0, procs);
  const auto& first = rows.front();
  std::cout << "ok " << flags.out << ": " << first.outcome << (first.detail.empty() ? "" : " (" + first.detail + ")")
            << ", final " << first.final_percent << "%, " << first.jobs << " jobs\n";
  return 0;
}

} // namespace cutover::sim
