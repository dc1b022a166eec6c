#include "app/backup.hpp"

#include "adapters/config/loader.hpp"
#include "adapters/store/sqlite_backup.hpp"

#include <filesystem>
#include <iostream>

namespace cutover::app {

const char* const backup_usage = R"(usage: cutover backup [--config F] [--data DIR] --to FILE
  copies the job store (store.path of F, or DIR/cutover.db) into FILE while the engine may go on serving:
  the copy holds every job acknowledged before it began. FILE must not exist.
  --config F   the configuration the engine runs with (default ./config.yaml)
  --data DIR   the --data the engine was started with (overrides store.path)
  --to FILE    where the copy goes
restore: stop the engine, put FILE in place of the store file (and remove its -wal and -shm files), start it;
everything written after the backup began is lost
)";

int backup(const std::vector<std::string>& args) {
  std::string config = "config.yaml", data_dir, to;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string* into = args[i] == "--config" ? &config : args[i] == "--data" ? &data_dir : args[i] == "--to" ? &to : nullptr;
    if (into == nullptr || i + 1 >= args.size()) {
      std::cerr << "cutover: backup: bad argument " << args[i] << "\n" << backup_usage;
      return 2;
    }
    *into = args[++i];
  }
  if (to.empty()) {
    std::cerr << "cutover: backup: --to FILE is required\n" << backup_usage;
    return 2;
  }
  std::string path;
  if (!data_dir.empty()) {
    path = (std::filesystem::path(data_dir) / "cutover.db").string();
  } else {
    auto loaded = config_adapter::load_config_file(config);
    if (!loaded.config) {
      for (const auto& e : loaded.errors)
        std::cerr << config_adapter::to_string(e) << "\n";
      return loaded.unreadable ? 1 : 2;
    }
    path = loaded.config->store.path;
  }
  const auto r = store_adapter::backup_sqlite(path, to);
  if (!r.ok) {
    std::cerr << "cutover: backup of " << path << " failed: " << r.error << "\n";
    return 1;
  }
  std::cout << "ok " << to << " bytes=" << r.bytes << " jobs=" << r.jobs << "\n";
  return 0;
}

} // namespace cutover::app
