/// The `cutover` command line: serve, check-config, simulate, backup, drill, --help, --version.

#include "adapters/config/loader.hpp"
#include "app/backup.hpp"
#include "app/drill.hpp"
#include "app/process_tuning.hpp"
#include "app/serve.hpp"
#include "app/simulate/simulate.hpp"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* version = "cutover 0.1.0";

constexpr const char* usage = R"(cutover: moves image-generation traffic from a baseline provider to a candidate one.

usage:
  cutover serve [--config F] [--listen HOST:PORT] [--data DIR] [--log-format text|json]
      runs the engine (default config ./config.yaml); drains and exits 0 on SIGTERM/SIGINT
  cutover check-config F
      validates F: prints "ok <config-hash>" (exit 0) or one line per error (exit 2); unreadable: exit 1
  cutover simulate --config F --scenario S [--out DIR] [--seed N] [--runs K] [--sweep KEY=V1,V2,...]
      runs the same actors on virtual time over a traffic scenario; writes summary.json, CSVs, plots
  cutover backup [--config F] [--data DIR] --to FILE
      copies the job store while the engine serves (a consistent copy; FILE must not exist)
  cutover drill --url URL [--max-wait D]
      a live rollback drill on a running engine (admin key from CUTOVER_ADMIN_KEY): prints the drill record
  cutover --help | cutover CMD --help | cutover --version
)";

constexpr const char* serve_usage = R"(usage: cutover serve [--config F] [--listen HOST:PORT] [--data DIR] [--log-format text|json]
  --config F          the configuration file (default ./config.yaml)
  --listen HOST:PORT  overrides server.listen
  --data DIR          keeps the job store in DIR/cutover.db (overrides store.path)
  --log-format FMT    text (key=value) or json (one object per line) log lines on stderr; overrides log.format
)";

constexpr const char* check_usage = R"(usage: cutover check-config F
  prints "ok <config-hash>" and exits 0 when F is valid; otherwise one line per error
  ("file:line: key.path: message") and exit 2; exit 1 when F cannot be read
)";

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h")
      return true;
  return false;
}

int usage_error(const std::string& message, const char* text) {
  std::cerr << "cutover: " << message << "\n" << text;
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  cutover::app::tune_allocator();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    return usage_error("missing command", usage);
  const std::string cmd = args.front();
  args.erase(args.begin());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << usage;
    return 0;
  }
  if (cmd == "--version") {
    std::cout << version << "\n";
    return 0;
  }
  if (cmd == "serve") {
    if (wants_help(args)) {
      std::cout << serve_usage;
      return 0;
    }
    cutover::app::serve_flags flags;
    for (std::size_t i = 0; i < args.size(); ++i) {
      auto value = [&](std::string& into) {
        if (i + 1 >= args.size())
          return false;
        into = args[++i];
        return true;
      };
      bool ok = false;
      if (args[i] == "--config")
        ok = value(flags.config);
      else if (args[i] == "--listen")
        ok = value(flags.listen);
      else if (args[i] == "--data")
        ok = value(flags.data_dir);
      else if (args[i] == "--log-format")
        ok = value(flags.log_format) && (flags.log_format == "text" || flags.log_format == "json");
      if (!ok)
        return usage_error("serve: bad argument " + args[i], serve_usage);
    }
    return cutover::app::serve(flags);
  }
  if (cmd == "check-config") {
    if (wants_help(args)) {
      std::cout << check_usage;
      return 0;
    }
    if (args.size() != 1)
      return usage_error("check-config takes one file", check_usage);
    return cutover::config_adapter::run_check_config(args[0], std::cout, std::cerr);
  }
  if (cmd == "simulate") {
    if (wants_help(args)) {
      std::cout << cutover::sim::simulate_usage;
      return 0;
    }
    cutover::sim::simulate_flags flags;
    std::string why;
    if (!cutover::sim::parse_simulate_flags(args, flags, why))
      return usage_error("simulate: " + why, cutover::sim::simulate_usage);
    return cutover::sim::simulate(flags);
  }
  if (cmd == "backup") {
    if (wants_help(args)) {
      std::cout << cutover::app::backup_usage;
      return 0;
    }
    return cutover::app::backup(args);
  }
  if (cmd == "drill") {
    if (wants_help(args)) {
      std::cout << cutover::app::drill_usage;
      return 0;
    }
    return cutover::app::drill(args);
  }
  return usage_error("unknown command " + cmd, usage);
}
