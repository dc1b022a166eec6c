#include "fake_provider_process.hpp"

#include <cpprest/http_client.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace cutover::testing {

namespace {

std::string binary_of(const fake_provider_process::options& opts) {
  if (!opts.binary.empty())
    return opts.binary;
#ifdef FAKE_PROVIDER_BINARY
  return FAKE_PROVIDER_BINARY;
#else
  if (const char* env = std::getenv("CUTOVER_FAKE_PROVIDER"))
    return env;
  throw std::runtime_error("fake_provider_process: no binary (options::binary, FAKE_PROVIDER_BINARY or "
                           "$CUTOVER_FAKE_PROVIDER)");
#endif
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

} // namespace

fake_provider_process::fake_provider_process() : fake_provider_process(options{}) {}

fake_provider_process::fake_provider_process(options opts) : opts_(std::move(opts)) {
  const std::string binary = binary_of(opts_);
  std::vector<std::string> args{binary,        "--port", "0", "--api-key",
                                opts_.api_key, "--seed", std::to_string(opts_.seed)};
  if (!opts_.faults.empty()) {
    args.push_back("--faults");
    args.push_back(opts_.faults);
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) // close-on-exec: other children must not hold the pipe open
    throw std::runtime_error("fake_provider_process: pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error("fake_provider_process: fork failed");
  }
  if (pid_ == 0) { // the child: only async-signal-safe calls until exec
    ::dup2(fds[1], 1);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  stdout_fd_ = fds[0];

  // The one line the fake prints once it listens; EOF first means it exited (bad arguments, missing binary).
  std::string line;
  char c;
  while (::read(stdout_fd_, &c, 1) == 1 && c != '\n')
    line += c;
  const std::string prefix = "listening ";
  if (line.rfind(prefix, 0) != 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ::close(stdout_fd_);
    throw std::runtime_error("fake_provider_process: " + binary + " did not start (printed \"" + line + "\")");
  }
  url_ = line.substr(prefix.size());
  port_ = std::stoi(url_.substr(url_.rfind(':') + 1));

  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::seconds(30));
  control_ = std::make_unique<web::http::client::http_client>(url_, cfg);
}

fake_provider_process::~fake_provider_process() {
  control_.reset();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
}

fake_answer fake_provider_process::request(const std::string& method, const std::string& path,
                                           const std::string& body, const std::map<std::string, std::string>& headers) {
  web::http::http_request req(method);
  req.set_request_uri(path);
  if (!body.empty())
    req.set_body(body, "application/json");
  for (const auto& [k, v] : headers)
    req.headers().add(k, v);
  try {
    auto resp = control_->request(req).get();
    fake_answer out;
    out.status = resp.status_code();
    for (const auto& h : resp.headers())
      out.headers[lower(h.first)] = h.second;
    out.body = resp.extract_string(true).get();
    return out;
  } catch (const std::exception& e) {
    throw std::runtime_error("fake_provider_process: " + method + " " + path + " failed: " + e.what());
  }
}

void fake_provider_process::set_faults(const std::string& json) {
  auto a = request("POST", "/_fake/faults", json);
  if (a.status != 204)
    throw std::runtime_error("fake_provider_process: faults refused (HTTP " + std::to_string(a.status) +
                             "): " + a.body);
}

void fake_provider_process::reset() {
  auto a = request("POST", "/_fake/reset");
  if (a.status != 204)
    throw std::runtime_error("fake_provider_process: reset answered HTTP " + std::to_string(a.status));
}

std::vector<fake_call> fake_provider_process::calls(std::uint64_t since, int wait_ms) {
  auto a = request("GET", "/_fake/calls?since=" + std::to_string(since) +
                            (wait_ms > 0 ? "&wait_ms=" + std::to_string(wait_ms) : std::string{}));
  std::error_code ec;
  auto json = web::json::value::parse(a.body, ec);
  if (a.status != 200 || ec || !json.is_array())
    throw std::runtime_error("fake_provider_process: unexpected /_fake/calls answer: " + a.body);
  std::vector<fake_call> out;
  for (const auto& v : json.as_array()) {
    fake_call c;
    c.seq = v.at("seq").as_number().to_uint64();
    c.at_ms = static_cast<long long>(v.at("at_ms").as_number().to_int64());
    c.method = v.at("method").as_string();
    c.path = v.at("path").as_string();
    c.api = v.at("api").as_string();
    c.status = v.at("status").as_integer();
    c.fault = v.at("fault").as_string();
    if (v.has_field("key"))
      c.key = v.at("key").as_string();
    out.push_back(std::move(c));
  }
  return out;
}

web::json::value fake_provider_process::stats() {
  auto a = request("GET", "/_fake/stats");
  std::error_code ec;
  auto json = web::json::value::parse(a.body, ec);
  if (a.status != 200 || ec || !json.is_object())
    throw std::runtime_error("fake_provider_process: unexpected /_fake/stats answer: " + a.body);
  return json;
}

int fake_provider_process::terminate() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace cutover::testing
