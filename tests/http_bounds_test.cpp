// The HTTP edge's bounds, over real loopback sockets against the real binary: bodies are bounded while they
// stream, headers are bounded, JSON depth is checked before parsing, slow and idle connections are dropped, and
// the number of connections is capped. Timeouts are short in these configs: they are the timeouts under test.

#include "support/db_probe.hpp"
#include "support/engine_process.hpp"
#include "support/raw_http.hpp"

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <fstream>
#include <memory>
#include <vector>

using namespace cutover::testing;
using namespace std::chrono_literals;

namespace {

/// The test config (max_body_bytes 4096) with more `server` keys.
std::string with_server(const std::string& extra) {
  auto text = fast_config();
  const std::string from = "max_body_bytes: 4096}";
  text.replace(text.find(from), from.size(), "max_body_bytes: 4096, " + extra + "}");
  return text;
}

std::string job_body(const std::string& user, const std::string& metadata = "") {
  return R"({"user_id":")" + user + R"(","prompt":"a kite","tier":"sd")" +
         (metadata.empty() ? "" : ",\"metadata\":" + metadata) + "}";
}

std::string post(const std::string& path, const std::string& body, const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

std::string chunk(std::size_t n, char c = 'x') {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", n);
  return size + std::string(n, c) + "\r\n";
}

/// Peak resident set of a process in kB (VmHWM), from /proc.
long peak_rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

struct engine {
  temp_dir dir;
  engine_process process;
  explicit engine(const std::string& config = fast_config()) : process(dir.path.string(), config) {}
  long long jobs() const { return count_rows(dir.file("cutover.db"), "SELECT COUNT(*) FROM jobs"); }
};

} // namespace

TEST_CASE("a chunked body over the limit gets 413 as soon as the limit is passed, before the body ends") {
  engine e;
  for (const std::string path : {"/v1/jobs", "/v1/images/generations", "/v1/jobs/j1/feedback"}) {
    INFO(path);
    raw_connection c{e.process.port()};
    REQUIRE(c.send("POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n"));
    for (int i = 0; i < 8; ++i) // 8 KB against a 4 KB limit; the last chunk is never sent
      REQUIRE(c.send(chunk(1024)));
    const auto answer = c.read_answer(10s);
    CHECK(status_of(answer) == 413);
    CHECK(answer.find("body_too_large") != std::string::npos);
  }
  CHECK(e.jobs() == 0);
}

TEST_CASE("a route's own body limit holds below server.max_body_bytes: feedback takes 4 KB, jobs take the server's") {
  auto config = fast_config();
  config.replace(config.find("max_body_bytes: 4096"), 20, "max_body_bytes: 65536");
  engine e{config};
  const std::string padding(8000, 'x'); // 8 KB: over feedback's own limit, under the server's
  raw_connection jobs{e.process.port()};
  REQUIRE(jobs.send(post("/v1/jobs", R"({"user_id":"u1","prompt":")" + padding + R"(","tier":"sd"})")));
  CHECK(status_of(jobs.read_answer(10s)) == 202);
  raw_connection feedback{e.process.port()};
  REQUIRE(feedback.send(post("/v1/jobs/j1/feedback", "{\"quality\":0.5" + std::string(8000, ' ') + "}")));
  CHECK(status_of(feedback.read_answer(10s)) == 413);
}

TEST_CASE("a Content-Length over a route's limit gets 413 before any of the body is sent, on every route with a body") {
  engine e;
  for (const std::string path : {"/v1/jobs", "/v1/images/generations", "/v1/jobs/j1/feedback", "/v1/admin/reload"}) {
    INFO(path);
    raw_connection c{e.process.port()};
    REQUIRE(c.send("POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                   "Content-Length: 104857600\r\n\r\n"));
    CHECK(status_of(c.read_answer(10s)) == 413);
  }
  // the OpenAI endpoint and feedback are bounded too when the body does arrive
  raw_connection c{e.process.port()};
  REQUIRE(c.send(post("/v1/jobs/j1/feedback", "{\"quality\":0.5" + std::string(5000, ' ') + "}")));
  CHECK(status_of(c.read_answer(10s)) == 413);
  CHECK(e.jobs() == 0);
}

TEST_CASE("requests pipelined on one connection are answered in order") {
  engine e;
  raw_connection c{e.process.port()};
  REQUIRE(c.send(healthz + post("/v1/jobs", job_body("u1")) + "GET /v1/jobs/j999 HTTP/1.1\r\nHost: t\r\n\r\n" +
                 healthz));
  CHECK(status_of(c.read_answer(10s)) == 200);
  const auto job = c.read_answer(10s);
  CHECK(status_of(job) == 202);
  CHECK(job.find("Location: /v1/jobs/j1") != std::string::npos);
  CHECK(status_of(c.read_answer(10s)) == 404);
  CHECK(status_of(c.read_answer(10s)) == 200);
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body is sent, then the answer") {
  engine e;
  raw_connection c{e.process.port()};
  const auto body = job_body("u1");
  REQUIRE(c.send("POST /v1/jobs HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  CHECK(status_of(c.read_answer(10s)) == 100);
  REQUIRE(c.send(body));
  CHECK(status_of(c.read_answer(10s)) == 202);
}

TEST_CASE("more headers than server.max_headers or more header bytes than server.max_header_bytes get 431") {
  engine e{with_server("max_headers: 20, max_header_bytes: 2048")};
  std::string many = "GET /healthz HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 20; ++i)
    many += "X-H" + std::to_string(i) + ": v\r\n";
  raw_connection a{e.process.port()};
  REQUIRE(a.send(many + "\r\n"));
  const auto too_many = a.read_answer(10s);
  CHECK(status_of(too_many) == 431);
  CHECK(too_many.find("too_many_headers") != std::string::npos);
  raw_connection b{e.process.port()};
  REQUIRE(b.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(3000, 'b') + "\r\n\r\n"));
  const auto too_big = b.read_answer(10s);
  CHECK(status_of(too_big) == 431);
  CHECK(too_big.find("headers_too_large") != std::string::npos);
  raw_connection ok{e.process.port()}; // within both limits
  REQUIRE(ok.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: 1\r\nX-B: " + std::string(1000, 'b') + "\r\n\r\n"));
  CHECK(status_of(ok.read_answer(10s)) == 200);
}

TEST_CASE("JSON nested deeper than server.max_json_depth is refused with 400 before it is parsed, and nothing is stored") {
  engine e{with_server("max_json_depth: 8")};
  auto nested = [](int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i)
      s += "{\"a\":";
    s += "1";
    for (int i = 0; i < levels; ++i)
      s += "}";
    return s;
  };
  raw_connection c{e.process.port()};
  REQUIRE(c.send(post("/v1/jobs", job_body("u1", nested(8))))); // 9 levels with the body's own object
  const auto deep = c.read_answer(10s);
  CHECK(status_of(deep) == 400);
  CHECK(deep.find("json_too_deep") != std::string::npos);
  REQUIRE(c.send(post("/v1/jobs", job_body("u1", "{\"s\":\"[[[[[[[[[[[[[[[[\"}")))); // brackets in strings do not count
  CHECK(status_of(c.read_answer(10s)) == 202);
  REQUIRE(c.send(post("/v1/jobs", job_body("u2", nested(7)))));
  CHECK(status_of(c.read_answer(10s)) == 202);
  CHECK(e.jobs() == 2);
}

TEST_CASE("a client that sends its headers too slowly is dropped after server.header_timeout") {
  engine e{with_server("header_timeout: 300ms, idle_timeout: 1h")};
  raw_connection slow{e.process.port()};
  REQUIRE(slow.send("GET /healthz HTTP/1.1\r\nHost: t\r\n")); // and never the blank line
  CHECK(slow.closed_within(10s));
  // a client that keeps sending, a byte every 50 ms, is dropped all the same: the timeout is for the whole header
  // block, not renewed by each byte (120 bytes would take 6 s)
  raw_connection drip{e.process.port()};
  const std::string header = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(80, 'z') + "\r\n\r\n";
  std::size_t sent = 0;
  bool dropped = false;
  while (sent < header.size() && !dropped) {
    if (!drip.send(header.substr(sent, 1)))
      dropped = true;
    else
      ++sent, dropped = drip.closed_within(50ms);
  }
  CHECK(dropped);
  CHECK(sent < header.size() / 2);
  // a connection that has not started a request is under idle_timeout (1h here), not header_timeout
  raw_connection idle{e.process.port()};
  CHECK_FALSE(idle.closed_within(1s));
  REQUIRE(idle.send(healthz));
  CHECK(status_of(idle.read_answer(10s)) == 200);
}

TEST_CASE("a keep-alive connection with no request is closed after server.idle_timeout") {
  engine e{with_server("idle_timeout: 300ms")};
  raw_connection c{e.process.port()};
  REQUIRE(c.send(healthz));
  CHECK(status_of(c.read_answer(10s)) == 200);
  CHECK(c.closed_within(10s));
}

TEST_CASE("over server.max_connections a new connection gets 503, and clients are served again once one closes") {
  engine e{with_server("max_connections: 4")};
  std::vector<std::unique_ptr<raw_connection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<raw_connection>(e.process.port()));
    REQUIRE(held.back()->send(healthz)); // answered: the server holds it
    REQUIRE(status_of(held.back()->read_answer(10s)) == 200);
  }
  raw_connection over{e.process.port()};
  const auto refused = over.read_answer(10s);
  CHECK(status_of(refused) == 503);
  CHECK(refused.find("Retry-After: 1") != std::string::npos);
  held.pop_back();
  int status = 0; // the server notices the close on its own time: wait for it, bounded
  for (auto until = std::chrono::steady_clock::now() + 10s; status != 200 && std::chrono::steady_clock::now() < until;) {
    raw_connection again{e.process.port()};
    if (again.send(healthz))
      status = status_of(again.read_answer(10s));
  }
  CHECK(status == 200);
}

TEST_CASE("a 400 MB chunked body raises the engine's peak RSS by less than 10 MB") {
  engine e;
  raw_connection warm{e.process.port()}; // the first requests grow the heap a little anyway
  REQUIRE(warm.send(post("/v1/jobs", job_body("u1"))));
  REQUIRE(status_of(warm.read_answer(10s)) == 202);
  const long before = peak_rss_kb(e.process.pid());
  REQUIRE(before > 0);
  raw_connection c{e.process.port()};
  REQUIRE(c.send("POST /v1/jobs HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n"));
  const auto mb = chunk(1024 * 1024);
  std::size_t sent_mb = 0;
  while (sent_mb < 400 && c.send(mb))
    ++sent_mb;
  INFO("sent " << sent_mb << " MB before the server closed");
  CHECK(sent_mb > 0);
  const long after = peak_rss_kb(e.process.pid());
  INFO("VmHWM before " << before << " kB, after " << after << " kB");
  CHECK(after - before < 10 * 1024);
  CHECK(e.jobs() == 1);
}

TEST_CASE("1,000 idle connections do not stop a new client from being served") {
  raise_open_files(4096);
  engine e;
  std::vector<std::unique_ptr<raw_connection>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<raw_connection>(e.process.port()));
    REQUIRE(idle.back()->connected());
  }
  raw_connection c{e.process.port()};
  REQUIRE(c.send(healthz));
  CHECK(status_of(c.read_answer(10s)) == 200);
  REQUIRE(c.send(post("/v1/jobs", job_body("u1"))));
  CHECK(status_of(c.read_answer(10s)) == 202);
  CHECK_FALSE(idle.front()->closed_within(0ms)); // and they are still open
}

TEST_CASE("the engine raises its open-files soft limit to fit server.max_connections") {
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  REQUIRE(saved.rlim_max >= 8192); // room to raise into
  rlimit low = saved;
  low.rlim_cur = 1024; // what the engine inherits
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  engine e{with_server("max_connections: 6000")};
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  std::ifstream in("/proc/" + std::to_string(e.process.pid()) + "/limits");
  std::string line;
  long soft = -1;
  while (std::getline(in, line))
    if (line.rfind("Max open files", 0) == 0)
      soft = std::stol(line.substr(std::string("Max open files").size()));
  CHECK(soft >= 6000);
}
