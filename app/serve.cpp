#include "app/serve.hpp"
#include "core/log_line.hpp"

#include "actors/engine.hpp"
#include "adapters/config/keys.hpp"
#include "adapters/config/loader.hpp"
#include "adapters/http/server.hpp"
#include "adapters/images/image_files.hpp"
#include "adapters/images/url_signer.hpp"
#include "adapters/notify/resolver.hpp"
#include "adapters/notify/webhook_client.hpp"
#include "adapters/providers/real.hpp"
#include "adapters/store/sqlite_store.hpp"
#include "core/ledger.hpp"
#include "core/metric_catalog.hpp"
#include "core/readiness.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <csignal>
#include <filesystem>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <iostream>
#include <thread>
#include <pthread.h>
#include <unistd.h>

namespace cutover::app {

namespace {

/// The store writes its probe row this often; readiness calls a store that has not committed for three probes
/// unavailable (a hung store, or one whose commits stopped).
constexpr core::duration store_probe_every = std::chrono::seconds(10);
constexpr core::duration store_stale_after = 3 * store_probe_every;

/// Exit code when a supervisor escalated (a crash loop) and the engine stopped itself.
constexpr int exit_escalated = 3;

std::atomic<int> escalation_code{0};

/// The root of the tree: hears when a top-level actor ends abnormally and stops the process (it resumes every
/// unfinished job from the store on its next start).
caf::actor watch_tree(caf::actor_system& sys, const actors::engine& e) {
  // every actor that holds work or state: if one ends, jobs could wait on it forever, so the process stops and the
  // next start resumes them
  std::vector<caf::actor_addr> watched{e.store.address(),  e.router.address(),  e.intake.address(),
                                       e.ledger.address(), e.rollout.address()};
  if (e.notifier)
    watched.push_back(e.notifier.address());
  for (const auto& [name, p] : e.providers)
    watched.push_back(p.address());
  for (const auto& b : e.batchers)
    watched.push_back(b.address());
  return sys.spawn([watched](caf::event_based_actor* self) -> caf::behavior {
    for (const auto& a : watched)
      self->monitor(caf::actor_cast<caf::actor>(a));
    self->set_down_handler([self](caf::down_msg& dm) {
      if (dm.reason && dm.reason != caf::exit_reason::user_shutdown) {
        core::log_line{} << "event=engine_escalation actor=" << to_string(dm.source) << " reason=" << to_string(dm.reason);
        escalation_code = exit_escalated;
        ::kill(::getpid(), SIGTERM);
      }
    });
    return {[](caf::exit_msg&) {}};
  });
}

/// `file` as named in the config: a relative path is taken from the config file's folder.
std::string beside_config(const std::string& file, const std::string& config_path) {
  std::filesystem::path p = file;
  if (p.is_relative())
    p = std::filesystem::path(config_path).parent_path() / p;
  return p.string();
}

/// The keys of `cfg`.
config_adapter::keys_result load_keys(const core::config& cfg, const std::string& config_path) {
  return config_adapter::load_keys_file(beside_config(cfg.auth.keys_file, config_path));
}

std::string key_names(const core::key_set& keys) {
  std::string names;
  for (const auto& k : keys.keys())
    names += (names.empty() ? "" : ",") + k.name;
  return names;
}

/// Why an engine without keys does not listen on `listen`; empty when it may (loopback).
std::string refuse_without_keys(const std::string& listen) {
  if (core::is_loopback_listen(listen))
    return {};
  return "refusing to listen on " + listen +
         " without auth.keys_file: anyone who reaches the port could submit jobs and spend the budget; set "
         "auth.keys_file or listen on loopback (127.0.0.0/8, ::1, localhost)";
}

/// Writes the log's buffered job lines every `every`, and once more when it stops.
class log_flusher {
public:
  static constexpr auto every = std::chrono::milliseconds(200);
  log_flusher() : thread_([this] { run(); }) {}
  ~log_flusher() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
    core::log_sink::instance().flush();
  }

private:
  void run() {
    std::unique_lock<std::mutex> guard{mutex_};
    while (!stop_) {
      wake_.wait_for(guard, every, [this] { return stop_; }); // a timer, not a reading of the time
      core::log_sink::instance().flush();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace

int serve(const serve_flags& flags) {
  // Every thread started from here on inherits this mask; main alone takes the signals, with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto loaded = config_adapter::load_config_file(flags.config);
  if (!loaded.config) {
    for (const auto& e : loaded.errors)
      std::cerr << config_adapter::to_string(e) << "\n";
    std::cerr << std::flush;
    return loaded.unreadable ? 1 : 2;
  }
  // command-line flags win over the file, at start and at every reload
  auto with_flags = [&flags](const core::config& c) {
    auto cfg = std::make_shared<core::config>(c);
    if (!flags.listen.empty())
      cfg->server.listen = flags.listen;
    if (!flags.data_dir.empty())
      cfg->store.path = (std::filesystem::path(flags.data_dir) / "cutover.db").string();
    if (!flags.log_format.empty())
      core::parse_log_format(flags.log_format, cfg->log.format);
    return cfg;
  };
  auto cfg = with_flags(*loaded.config);
  core::log_sink::instance().set_format(cfg->log.format);
  // job lines wait in the log's buffer; this writes them out a few times a second (and stops with serve)
  log_flusher flusher;
  auto auth = std::make_shared<http::auth_gate>();
  if (!cfg->auth.keys_file.empty()) {
    auto keys = load_keys(*cfg, flags.config);
    for (const auto& e : keys.errors)
      std::cerr << e << "\n";
    if (!keys.keys) {
      std::cerr << std::flush;
      return 2;
    }
    core::log_line{} << "event=api_keys count=" << keys.keys->keys().size() << " names=" << key_names(*keys.keys)
                     << " metrics_open=" << (cfg->auth.metrics_open ? "yes" : "no");
    auth->set({keys.keys, cfg->auth.metrics_open});
  } else if (const auto why = refuse_without_keys(cfg->server.listen); !why.empty()) {
    std::cerr << "cutover serve: " << why << std::endl; // --listen can name what the config file's rule never saw
    return 2;
  }

  std::shared_ptr<http::tls_context> tls;
  if (cfg->server.tls.enabled()) {
    try { // before anything starts: a wrong path or a key of another certificate is a configuration error
      tls = http::load_tls(beside_config(cfg->server.tls.cert_file, flags.config),
                           beside_config(cfg->server.tls.key_file, flags.config));
    } catch (const std::exception& e) {
      std::cerr << "cutover serve: " << e.what() << std::endl;
      return 2;
    }
  }

  const auto cores = std::max(2u, std::thread::hardware_concurrency());
  http::init_http_threads(cores);
  std::shared_ptr<core::store_db> db;
  try {
    db = store_adapter::open_sqlite_store(cfg->store.path, cfg->store.synchronous);
    // what a 202 promises rests on this setting: say which one SQLite applies
    const int level = store_adapter::applied_synchronous(*db);
    core::log_line{} << "event=store_opened path=" << cfg->store.path
              << " synchronous=" << (level == 2 ? "full" : level == 1 ? "normal" : level == 0 ? "off" : "?");
  } catch (const std::exception& e) {
    core::log_line{} << "event=store_open_failed error=\"" << e.what() << "\"";
    return 1;
  }

  // Result images: files under images.dir (default: `images` in the data directory, the store's folder), their URLs
  // signed with a secret from the environment or a file made once in the data directory (never the config).
  const auto data_dir = std::filesystem::path(cfg->store.path).parent_path().string();
  std::shared_ptr<images::image_files> image_files;
  std::shared_ptr<images::url_signer> image_urls;
  try {
    images::image_files_options io;
    io.dir = cfg->images.dir.empty() ? (std::filesystem::path(data_dir) / "images").string() : cfg->images.dir;
    io.max_download_bytes = cfg->images.max_download_bytes;
    io.download_timeout = cfg->images.download_timeout;
    io.fsync = images::fsyncs_images(cfg->store.synchronous);
    image_files = std::make_shared<images::image_files>(io);
    auto secret = images::load_url_secret(data_dir.empty() ? "." : data_dir);
    if (!secret.error.empty())
      throw std::runtime_error(secret.error);
    image_urls = std::make_shared<images::url_signer>(secret.secret, cfg->server.public_url, cfg->images.url_ttl);
    core::log_line{} << "event=images_opened dir=" << io.dir << " url_secret_from=" << secret.source
                     << " public_url=" << (cfg->server.public_url.empty() ? "-" : cfg->server.public_url);
  } catch (const std::exception& e) {
    core::log_line{} << "event=images_open_failed error=\"" << e.what() << "\"";
    return 1;
  }

  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", static_cast<std::size_t>(cores));
  // One shared queue whose idle workers wait on a condition variable. The default work stealing polls for ~25 ms
  // after each job, sleeping 50 us between tries: on a busy machine those wake-ups took a third of the engine's CPU.
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  sys_cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{sys_cfg};
  // The one place the wall clock is read: the actor clock is anchored to it once.
  const actors::clock_anchor clock{
    std::chrono::time_point_cast<core::duration>(std::chrono::system_clock::now()), sys.clock().now()};
  core::config_ptr snapshot = cfg;
  const auto resolver = notify_adapter::make_system_resolver(); // job webhook hosts: at submission and delivery
  auto engine = actors::start_engine(
    sys, snapshot, db, [](const core::provider_config& p) { return providers::make_provider(p); }, clock,
    actors::engine_options{true, {}, nullptr, notify_adapter::make_webhook_client(cfg->notify.timeout, resolver),
                           store_probe_every, image_files, resolver});
  auto root = watch_tree(sys, engine);
  auto stop_all = [&] {
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    engine.stop();
    sys.await_all_actors_done();
  };

  // A reload (SIGHUP or POST /v1/admin/reload) re-reads the file: a valid snapshot goes to every actor, an invalid
  // one changes nothing and answers every error.
  std::mutex reload_mutex;
  core::config_ptr running = snapshot;
  auto reload = [&]() -> http::reload_outcome {
    std::lock_guard<std::mutex> guard{reload_mutex};
    auto next = config_adapter::load_config_file(flags.config);
    std::vector<std::string> errors;
    for (const auto& e : next.errors)
      errors.push_back(config_adapter::to_string(e));
    core::config_ptr candidate;
    http::auth_settings next_auth;
    if (next.config) {
      candidate = with_flags(*next.config);
      errors = actors::reload_blockers(*running, *candidate);
      // the keys file is read again: `key` and `sha256` entries change now, `key_env` ones read the environment
      // this process started with
      next_auth.metrics_open = candidate->auth.metrics_open;
      if (!candidate->auth.keys_file.empty()) {
        auto keys = load_keys(*candidate, flags.config);
        errors.insert(errors.end(), keys.errors.begin(), keys.errors.end());
        next_auth.keys = keys.keys;
      } else if (!core::is_loopback_listen(candidate->server.listen)) {
        errors.push_back("auth.keys_file: cannot be removed while listening on " + candidate->server.listen +
                         " (off loopback): anyone who reaches the port could submit jobs and spend the budget");
      }
    }
    if (!errors.empty()) {
      for (const auto& e : errors)
        core::log_line{} << "event=reload_refused error=\"" << e << "\"";
      return {false, {}, errors};
    }
    running = candidate;
    core::log_sink::instance().set_format(candidate->log.format);
    engine.reload(candidate);
    auth->set(next_auth);
    core::log_line{} << "event=api_keys_reloaded names="
                     << (next_auth.keys ? key_names(*next_auth.keys) : std::string("none"));
    core::log_line{} << "event=reloaded config_hash=" << candidate->hash;
    return {true, candidate->hash, {}};
  };

  auto metrics = engine.metrics;
  http::server_options api_opts;
  const auto& srv = snapshot->server;
  api_opts.listen = srv.listen;
  api_opts.max_body_bytes = srv.max_body_bytes;
  api_opts.threads = srv.threads != 0 ? srv.threads : cores;
  api_opts.max_headers = srv.max_headers;
  api_opts.max_header_bytes = srv.max_header_bytes;
  api_opts.max_json_depth = srv.max_json_depth;
  api_opts.header_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(srv.header_timeout);
  api_opts.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(srv.idle_timeout);
  api_opts.max_connections = srv.max_connections;
  api_opts.tls = tls;
  api_opts.metrics = [metrics] { return metrics->render(); };
  api_opts.registry = metrics;
  api_opts.reload = reload;
  // readiness: the facts, gathered here, judged by core::assess_readiness (the rules are listed with it)
  std::atomic<bool> draining{false};
  const auto last_commit = &metrics->get_gauge(core::metric::store_last_commit, {});
  const auto store_failing = &metrics->get_gauge(core::metric::store_failing, {});
  const auto fallback_ratio = &metrics->get_gauge(core::metric::fallback_ratio, {});
  api_opts.readiness = [metrics, &running, &reload_mutex, &draining, last_commit, store_failing,
                        fallback_ratio](const msg::admissibility_update* view) -> http::readiness_report {
    core::readiness_facts f;
    f.draining = draining;
    if (view != nullptr) {
      f.view = &view->view;
      f.now = view->now;
    }
    {
      std::lock_guard<std::mutex> guard{reload_mutex};
      f.config_hash = running ? running->hash : std::string{};
      if (f.config_hash.empty() && running)
        f.config_hash = "-"; // loaded, but from a text without a hash (never from a file)
      f.degraded_fallback_ppm = running ? running->health.degraded_fallback_rate : 0;
      for (const auto& p : running->providers) {
        core::micros cheapest = core::estimate_cost(p, core::tier::sd, 1);
        for (auto t : {core::tier::hd, core::tier::k4})
          cheapest = std::min(cheapest, core::estimate_cost(p, t, 1));
        const bool half_open = metrics->get_gauge(core::metric::breaker_state, {{"provider", p.name}}).value() != 0;
        f.providers.push_back({p.name, cheapest, half_open});
      }
    }
    f.store_failing = store_failing->value() != 0;
    if (const auto at = last_commit->value(); at != 0)
      f.store_last_commit = core::instant{core::duration{at}};
    f.store_stale_after = store_stale_after;
    f.fallback_ppm = fallback_ratio->value();
    auto verdict = core::assess_readiness(f);
    return {verdict.status, std::move(verdict.checks)};
  };
  api_opts.auth = auth;
  {
    auto access = std::make_shared<http::image_access>();
    access->files = image_files;
    access->urls = image_urls;
    access->now = [&sys, clock] { return clock.now(sys.clock()); };
    api_opts.images = access;
  }
  api_opts.cors_origins = snapshot->cors.allow_origins;
  auto api = std::make_unique<http::server>(sys, engine.intake, engine.store, engine.store, engine.ledger, engine.rollout,
                                            api_opts);
  try {
    api->open();
  } catch (const std::exception& e) {
    core::log_line{} << "event=listen_failed error=\"" << e.what() << "\"";
    api.reset();
    stop_all();
    return 1;
  }
  core::log_line{} << "event=listening address=" << snapshot->server.listen
                   << " scheme=" << (tls ? "https" : "http") << " config=" << flags.config
            << " config_hash=" << snapshot->hash << " store=" << snapshot->store.path;

  int sig = 0;
  for (sigwait(&signals, &sig); sig == SIGHUP; sigwait(&signals, &sig))
    reload();
  caf::anon_send(engine.intake, msg::start_drain{}); // new jobs get 503 while the API still answers
  draining = true; // after: a /readyz that says draining means the intake refuses new jobs
  // logged after both: a job sent once this line is seen reaches the intake after start_drain
  core::log_line{} << "event=draining signal=" << (sig == SIGINT ? "SIGINT" : "SIGTERM");
  const auto drained = engine.drain(sys, running->server.drain_timeout);
  core::log_line{} << "event=drained providers_timed_out=" << drained.providers_timed_out
            << " batches_held=" << drained.batches_held << " flushed=" << (drained.flushed ? "yes" : "no");
  api.reset(); // stops listening and ends the HTTP bridge
  stop_all();
  core::log_line{} << "event=stopped";
  return escalation_code.load();
}

} // namespace cutover::app
