#pragma once
/// `cutover serve`: loads the config, wires the actor tree with the real adapters, listens, and drains on
/// SIGTERM/SIGINT. Returns the process exit code.

#include <string>

namespace cutover::app {

struct serve_flags {
  std::string config = "config.yaml";
  std::string listen;   ///< overrides server.listen when set
  std::string data_dir; ///< when set, the store is DATA_DIR/cutover.db
  std::string log_format; ///< "text" or "json": overrides log.format when set
};

int serve(const serve_flags& flags);

} // namespace cutover::app
