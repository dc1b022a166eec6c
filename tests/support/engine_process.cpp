#include "support/engine_process.hpp"

#include <cpprest/http_client.h>
#include <cpprest/json.h>

#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cutover::testing {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string fast_config(int percent, const std::string& failure_rate) {
  const std::string sim = "{latency_p50: 5ms, latency_p95: 20ms, failure_rate: " + failure_rate + ", quality: 0.9}";
  return R"(server: {listen: 127.0.0.1:8080, max_body_bytes: 4096}
store: {path: data/cutover.db, synchronous: normal}
providers:
  gemini:
    kind: simulated
    mode: async
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: )" + sim + R"(
    polling: {schedule: [{every: 50ms, times: 4}, {every: 100ms}], deadline: 30s}
  photomaker:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}
    simulated: )" + sim + R"(
  sdxl:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}
    simulated: )" + sim + R"(
tiers:
  sd: {batch: {max_items: 50, max_wait: 20ms}}
  hd: {batch: {max_items: 50, max_wait: 20ms}}
  4k: {batch: {max_items: 20, max_wait: 20ms}}
fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}
dead_letter: {max_attempts: 3, retention: 14d}
rollout:
  name: test-rollout
  baseline: photomaker
  candidate: gemini
  percent: )" + std::to_string(percent) + R"(
  phases: [{percent: 100}]
)";
}

std::string day_starts_far_from_now() {
  const auto since_midnight = std::chrono::duration_cast<std::chrono::minutes>(
                                std::chrono::system_clock::now().time_since_epoch()) % std::chrono::hours(24);
  const auto at = (since_midnight + std::chrono::hours(12)) % std::chrono::hours(24);
  char text[8];
  std::snprintf(text, sizeof text, "%02d:%02dZ", static_cast<int>(at.count() / 60), static_cast<int>(at.count() % 60));
  return text;
}

engine_process::engine_process(const std::string& dir, const std::string& config_text, int port, std::string host,
                               std::vector<std::string> extra_args)
  : dir_(dir), host_(std::move(host)), extra_args_(std::move(extra_args)), port_(port == 0 ? free_port() : port) {
  std::ofstream(dir_ + "/config.yaml") << config_text;
  // A port free_port() found may be taken by another test's engine before this one binds it (ctest -j2): then the
  // engine exits with "Address already in use", and a fresh port is tried. A chosen port, or any other failure, stays.
  for (int attempt = 1;; ++attempt) {
    try {
      start();
      return;
    } catch (const std::runtime_error& e) {
      if (port != 0 || attempt == 5 || std::string{e.what()}.find("Address already in use") == std::string::npos)
        throw;
      port_ = free_port();
      std::lock_guard<std::mutex> guard{log_mutex_};
      log_.clear();
    }
  }
}

engine_process::~engine_process() {
  if (pid_ > 0)
    kill9();
  if (reader_.joinable())
    reader_.join();
}

void engine_process::start() {
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  const std::string config = dir_ + "/config.yaml", listen = host_ + ":" + std::to_string(port_);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    // CUTOVER_TEST_BINARY runs the same tests against another build (e.g. to see a test fail without a fix)
    const char* bin = std::getenv("CUTOVER_TEST_BINARY") != nullptr ? std::getenv("CUTOVER_TEST_BINARY") : CUTOVER_BINARY;
    std::vector<std::string> args{bin, "serve", "--config", config, "--listen", listen, "--data", dir_};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin, argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  err_fd_ = fds[0];
  // Read stderr until the engine says it listens (or exits); keep draining it afterwards.
  std::string line;
  bool up = false;
  char c;
  while (!up && ::read(err_fd_, &c, 1) == 1) {
    std::lock_guard<std::mutex> guard{log_mutex_};
    log_ += c;
    if (c == '\n') {
      // text or JSON lines (log.format)
      up = line.find("event=listening") != std::string::npos ||
           line.find("\"event\":\"listening\"") != std::string::npos;
      line.clear();
    } else {
      line += c;
    }
  }
  if (!up) {
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ::close(err_fd_);
    throw std::runtime_error("cutover serve did not start:\n" + log());
  }
  reader_ = std::thread([this] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err_fd_, buf, sizeof buf)) > 0) {
      {
        std::lock_guard<std::mutex> guard{log_mutex_};
        log_.append(buf, static_cast<std::size_t>(n));
      }
      log_grew_.notify_all();
    }
    ::close(err_fd_);
  });
}

void engine_process::kill9() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  if (reader_.joinable())
    reader_.join();
}

int engine_process::terminate() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable())
    reader_.join();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void engine_process::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

void engine_process::write_config(const std::string& text) { std::ofstream(dir_ + "/config.yaml") << text; }

bool engine_process::wait_for_log(const std::string& text, std::chrono::milliseconds limit, std::size_t from) {
  std::unique_lock<std::mutex> lock{log_mutex_};
  return log_grew_.wait_for(lock, limit, [&] { return log_.find(text, from) != std::string::npos; });
}

std::string engine_process::wait_for_line(const std::string& text, std::chrono::milliseconds limit,
                                          std::size_t from) {
  std::unique_lock<std::mutex> lock{log_mutex_};
  std::string line;
  log_grew_.wait_for(lock, limit, [&] {
    const auto at = log_.find(text, from);
    const auto end = at == std::string::npos ? at : log_.find('\n', at);
    if (end == std::string::npos)
      return false;
    const auto newline_before = log_.rfind('\n', at);
    const auto start = newline_before == std::string::npos ? 0 : newline_before + 1;
    line = log_.substr(start, end - start);
    return true;
  });
  return line;
}

std::size_t engine_process::log_size() const {
  std::lock_guard<std::mutex> guard{log_mutex_};
  return log_.size();
}

std::string engine_process::log() const {
  std::lock_guard<std::mutex> guard{log_mutex_};
  return log_;
}

struct http_client::impl {
  web::http::client::http_client client;
  explicit impl(const std::string& base) : client(base, [] {
    web::http::client::http_client_config c;
    c.set_timeout(std::chrono::seconds(60));
    return c;
  }()) {}

  pplx::task<http_answer> request(web::http::http_request req) {
    return client.request(req).then([](web::http::http_response resp) {
      auto status = resp.status_code();
      std::map<std::string, std::string> headers;
      for (const auto& h : resp.headers())
        headers[h.first] = h.second;
      return resp.extract_string(true).then([status, headers](std::string body) {
        return http_answer{status, std::move(body), headers};
      });
    });
  }

  static web::http::http_request post_req(const std::string& path, const std::string& body, const std::string& type,
                                          const std::map<std::string, std::string>& headers) {
    web::http::http_request req(web::http::methods::POST);
    req.set_request_uri(path);
    req.set_body(body, type);
    for (const auto& [k, v] : headers)
      req.headers().add(k, v);
    return req;
  }
};

namespace {
/// Waits for every answer; a request that failed at the transport (e.g. the engine was killed) gets status 0.
std::vector<http_answer> collect(std::vector<pplx::task<http_answer>>& tasks) {
  std::vector<http_answer> out;
  for (auto& t : tasks) {
    try {
      out.push_back(t.get());
    } catch (const std::exception& e) {
      out.push_back(http_answer{0, e.what(), {}});
    }
  }
  return out;
}
} // namespace

http_client::http_client(const std::string& base_url) : impl_(std::make_unique<impl>(base_url)) {}
http_client::~http_client() = default;

http_answer http_client::post(const std::string& path, const std::string& body, const std::string& content_type,
                              const std::map<std::string, std::string>& headers) {
  return impl_->request(impl::post_req(path, body, content_type, headers)).get();
}

http_answer http_client::get(const std::string& path) { return send("GET", path); }

http_answer http_client::send(const std::string& method, const std::string& path,
                              const std::map<std::string, std::string>& headers) {
  web::http::http_request req(method);
  req.set_request_uri(path);
  for (const auto& [k, v] : headers)
    req.headers().add(k, v);
  return impl_->request(req).get();
}

std::vector<http_answer> http_client::post_concurrently(const std::string& path, const std::vector<std::string>& bodies,
                                                        const std::vector<std::map<std::string, std::string>>& headers) {
  std::vector<pplx::task<http_answer>> tasks;
  for (std::size_t i = 0; i < bodies.size(); ++i)
    tasks.push_back(impl_->request(impl::post_req(path, bodies[i], "application/json",
                                                  headers.empty() ? std::map<std::string, std::string>{} : headers[i])));
  return collect(tasks);
}

std::vector<http_answer> http_client::get_concurrently(const std::vector<std::string>& paths) {
  std::vector<pplx::task<http_answer>> tasks;
  for (const auto& p : paths) {
    web::http::http_request req(web::http::methods::GET);
    req.set_request_uri(p);
    tasks.push_back(impl_->request(req));
  }
  return collect(tasks);
}

std::string json_field(const std::string& body, const std::string& name) {
  std::error_code ec;
  auto v = web::json::value::parse(body, ec);
  if (ec || !v.is_object() || !v.has_field(name))
    return {};
  const auto& f = v.at(name);
  if (f.is_string())
    return f.as_string();
  return f.serialize();
}

http_answer wait_ready(http_client& http, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  auto r = http.get("/readyz");
  while (r.status != 200 && std::chrono::steady_clock::now() < until)
    r = http.get("/readyz");
  return r;
}

} // namespace cutover::testing
