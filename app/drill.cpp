#include "app/drill.hpp"

#include "adapters/http/admin_client.hpp"

#include <cstdlib>
#include <iostream>

namespace cutover::app {

const char* const drill_usage = R"(usage: cutover drill --url URL [--max-wait D]
  runs a live rollback drill on the engine at URL (e.g. http://127.0.0.1:8080): the rollout is rolled back, the
  engine times how long until the router sends the candidate's users to the baseline and until no job is left at
  the candidate, then returns the rollout to its phase, percent and phase start. Prints the drill record (JSON);
  the engine stores it in its decision audit (GET /v1/rollout/decisions: drill_rollback, drill_restore).
  --url URL      the engine's base URL
  --max-wait D   how long to wait for the candidate to drain (500ms, 90s, 5m, 1h; default: the engine's
                 rollback.cancel_in_flight_after plus the candidate's attempt deadline, at most 1h)
  the admin key is read from the environment variable CUTOVER_ADMIN_KEY (unset: no key, for an engine without
  auth.keys_file on loopback)
exit: 0 the drill passed; 1 it failed or could not run; 2 usage error
)";

namespace {

/// The whole seconds the client waits for the answer: the drill's own wait and a margin.
std::chrono::seconds client_timeout(const std::string& max_wait) {
  std::chrono::seconds wait = std::chrono::hours(1); // the engine's longest default
  if (!max_wait.empty()) {
    std::size_t pos = 0;
    long long v = 0;
    try {
      v = std::stoll(max_wait, &pos);
    } catch (...) {
      v = 0; // the engine answers 400 and says why
    }
    const auto unit = max_wait.substr(pos);
    if (unit == "ms")
      wait = std::chrono::seconds(v / 1000 + 1);
    else if (unit == "s")
      wait = std::chrono::seconds(v);
    else if (unit == "m")
      wait = std::chrono::minutes(v);
    else if (unit == "h")
      wait = std::chrono::hours(v);
  }
  return wait + std::chrono::seconds(60);
}

} // namespace

int drill(const std::vector<std::string>& args) {
  std::string url, max_wait;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string* into = args[i] == "--url" ? &url : args[i] == "--max-wait" ? &max_wait : nullptr;
    if (into == nullptr || i + 1 >= args.size()) {
      std::cerr << "cutover: drill: bad argument " << args[i] << "\n" << drill_usage;
      return 2;
    }
    *into = args[++i];
  }
  if (url.empty()) {
    std::cerr << "cutover: drill: --url URL is required\n" << drill_usage;
    return 2;
  }
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  const char* key = std::getenv("CUTOVER_ADMIN_KEY");
  std::string path = "/v1/rollout/drill";
  if (!max_wait.empty())
    path += "?max_wait=" + max_wait;
  const auto answer = http::post_admin(url, path, key ? key : "", client_timeout(max_wait));
  if (answer.status == 0) {
    std::cerr << "cutover: drill: no answer from " << url << ": " << answer.error << "\n";
    return 1;
  }
  if (answer.status != 200) {
    std::cerr << "cutover: drill: " << url << path << " answered " << answer.status << ": " << answer.body << "\n";
    return 1;
  }
  std::cout << answer.body << "\n";
  if (answer.body.find("\"result\":\"passed\"") == std::string::npos) {
    std::cerr << "cutover: drill: the drill failed (the record above says why: the router did not confirm, or jobs "
                 "were still at the candidate at max_wait)\n";
    return 1;
  }
  return 0;
}

} // namespace cutover::app
