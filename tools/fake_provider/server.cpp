/// cpprestsdk glue of the fake provider: requests in, `provider_fake` decides, answers out (now, later or held).

#include "tools/fake_provider/server.hpp"

#include "tools/fake_provider/fake.hpp"
#include "tools/fake_provider/timers.hpp"

#include <cpprest/http_listener.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace cutover::fake {

using web::http::http_request;
using web::http::http_response;

namespace {

/// Attempts at binding a port picked as free (another process may take it between the probe and the bind).
constexpr int bind_attempts = 20;
/// How long close() waits for answers still being written.
constexpr auto drain_limit = std::chrono::seconds(5);

answer json_answer(int status, std::string body) { return {status, std::move(body), "application/json", {}}; }

std::string header(const http_request& req, const char* name) {
  auto it = req.headers().find(name);
  return it == req.headers().end() ? std::string{} : it->second;
}

int probe_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0)
    ::close(fd);
  if (port == 0)
    throw std::runtime_error("no free loopback port");
  return port;
}

} // namespace

struct server::impl {
  provider_fake& fake;
  timers& clock;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;
  // Answers handed to cpprestsdk and not yet written: close() waits for them, or the last ones are cut off.
  std::mutex mu;
  std::condition_variable written;
  std::size_t in_flight = 0;

  impl(provider_fake& f, timers& t) : fake(f), clock(t) {}

  void send(const http_request& req, const answer& a) {
    http_response resp(static_cast<web::http::status_code>(a.status));
    for (const auto& [k, v] : a.headers)
      resp.headers().add(k, v);
    if (a.status != 204)
      resp.set_body(a.body, a.content_type);
    {
      std::lock_guard<std::mutex> lock{mu};
      ++in_flight;
    }
    req.reply(resp).then([this](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {
        // the client went away
      }
      std::lock_guard<std::mutex> lock{mu};
      if (--in_flight == 0)
        written.notify_all();
    });
  }

  /// Blocks (main thread, at shutdown only) until every answer handed out is written, or `limit` passes.
  void drain(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock{mu};
    written.wait_for(lock, limit, [this] { return in_flight == 0; });
  }

  void handle(http_request req) {
    const auto path = web::uri::decode(req.relative_uri().path());
    const auto query = req.relative_uri().query();
    req.extract_string(true).then([this, req, path, query](pplx::task<std::string> t) {
      std::string body;
      try {
        body = t.get();
      } catch (...) {
        return; // the client went away while sending
      }
      if (path.rfind("/_fake/", 0) == 0)
        send(req, control(req.method(), path, query, body));
      else
        dispatch(req, path, query, std::move(body));
    });
  }

  void dispatch(const http_request& req, const std::string& path, const std::string& query, std::string body) {
    call c;
    c.method = req.method();
    c.path = path;
    c.query = query;
    c.body = std::move(body);
    c.authorization = header(req, "Authorization");
    c.prefer = header(req, "Prefer");
    c.goog_api_key = header(req, "x-goog-api-key");
    if (c.goog_api_key.empty()) {
      auto params = web::uri::split_query(query);
      if (auto it = params.find("key"); it != params.end())
        c.goog_api_key = web::uri::decode(it->second);
    }
    auto plan = fake.handle(c);
    if (plan.hang)
      clock.hold(plan.hang_for, [this, req, a = std::move(plan.reply)] { send(req, a); });
    else if (plan.delay.count() > 0)
      clock.after(plan.delay, [this, req, a = std::move(plan.reply)] { send(req, a); });
    else
      send(req, plan.reply);
  }

  answer control(const std::string& method, const std::string& path, const std::string& query,
                 const std::string& body) {
    if (path == "/_fake/faults" && method == "POST") {
      auto err = fake.set_faults(body);
      if (!err.empty())
        return json_answer(400, web::json::value::object({{"error", web::json::value::string(err)}}).serialize());
      return {204, {}, {}, {}};
    }
    if (path == "/_fake/calls" && method == "GET") {
      std::uint64_t since = 0;
      auto params = web::uri::split_query(query);
      if (auto it = params.find("since"); it != params.end())
        since = std::strtoull(it->second.c_str(), nullptr, 10);
      // a long poll: answer once a call after `since` is logged, or after wait_ms
      if (auto it = params.find("wait_ms"); it != params.end())
        fake.wait_for_calls(since, std::chrono::milliseconds(std::min(60000LL, std::strtoll(it->second.c_str(), nullptr, 10))));
      return json_answer(200, fake.calls_json(since));
    }
    if (path == "/_fake/stats" && method == "GET")
      return json_answer(200, fake.stats_json());
    if (path == "/_fake/reset" && method == "POST") {
      fake.reset();
      return {204, {}, {}, {}};
    }
    return json_answer(404, R"({"error":"control routes: POST /_fake/faults, GET /_fake/calls, )"
                            R"(GET /_fake/stats, POST /_fake/reset"})");
  }
};

server::server(provider_fake& fake, timers& clock) : impl_(std::make_unique<impl>(fake, clock)) {}

server::~server() { close(); }

int server::open(int port) {
  std::string last_error;
  for (int attempt = 0; attempt < (port == 0 ? bind_attempts : 1); ++attempt) {
    const int p = port == 0 ? probe_free_port() : port;
    const auto base = "http://127.0.0.1:" + std::to_string(p);
    auto listener = std::make_unique<web::http::experimental::listener::http_listener>(base);
    listener->support([this](http_request req) { impl_->handle(std::move(req)); });
    try {
      listener->open().wait(); // start-up only, on the main thread
    } catch (const std::exception& e) {
      last_error = e.what();
      continue;
    }
    impl_->listener = std::move(listener);
    impl_->fake.set_base_url(base);
    return p;
  }
  throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + last_error);
}

void server::close() {
  if (!impl_->listener)
    return;
  impl_->drain(drain_limit);
  try {
    impl_->listener->close().wait();
  } catch (...) {
  }
  impl_->listener.reset();
}

} // namespace cutover::fake
