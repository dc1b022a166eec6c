// The official `openai` npm client (tests/openai-client: openai@4, pinned by its package-lock.json, installed into
// the build tree by the `npm ci` fixture) generates an image through the real binary, changing only its base URL.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <sys/wait.h>

using namespace cutover::testing;

namespace {

struct run_result {
  int status = -1;
  std::string output;
};

/// Runs generate.mjs against `base` asking for `format`; its exit status and what it printed.
run_result run_client(const std::string& base, const std::string& format) {
  const std::string command =
    std::string{NODE_BINARY} + " " + OPENAI_CLIENT_DIR + "/generate.mjs " + base + "/v1 " + format + " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  run_result r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  const int status = ::pclose(p);
  REQUIRE(WIFEXITED(status));
  r.status = WEXITSTATUS(status);
  return r;
}

} // namespace

TEST_CASE("the official openai npm client asks for response_format url and fetches the signed URL it got, a PNG") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(50)};
  const auto r = run_client(engine.base_url(), "url");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.rfind("ok ", 0) == 0);
  CHECK(count_rows(dir.file("cutover.db"),
                   "SELECT COUNT(*) FROM jobs WHERE user_id='npm-client-user' AND status='succeeded'") == 1);
}

TEST_CASE("the official openai npm client generates an image through the engine by changing only its base URL") {
  temp_dir dir;
  engine_process engine{dir.path.string(), fast_config(50)};
  const std::string command = std::string{NODE_BINARY} + " " + OPENAI_CLIENT_DIR + "/generate.mjs " +
                              engine.base_url() + "/v1 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string output;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    output.append(buf, n);
  const int status = ::pclose(p);
  INFO(command << "\n" << output);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(output.rfind("ok ", 0) == 0);
  // the image was a job of the engine, for the user the client named, and it succeeded
  CHECK(count_rows(dir.file("cutover.db"),
                   "SELECT COUNT(*) FROM jobs WHERE user_id='npm-client-user' AND status='succeeded'") == 1);
}
