#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace cutover::testing {

namespace {

using clock_type = std::chrono::steady_clock;

/// Waits until `fd` is readable or `deadline`; false on timeout.
bool readable(int fd, clock_type::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
  if (left <= 0)
    return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

/// Where an answer in `buf` ends (headers and Content-Length body), or npos when it is not complete yet.
std::size_t answer_end(const std::string& buf) {
  const auto head = buf.find("\r\n\r\n");
  if (head == std::string::npos)
    return std::string::npos;
  std::size_t length = 0;
  std::string lower = buf.substr(0, head);
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (const auto cl = lower.find("\r\ncontent-length:"); cl != std::string::npos)
    length = std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
  // 1xx answers have no body
  if (buf.compare(9, 1, "1") == 0)
    length = 0;
  return buf.size() >= head + 4 + length ? head + 4 + length : std::string::npos;
}

} // namespace

raw_connection::raw_connection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool raw_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string raw_connection::read_answer(std::chrono::milliseconds limit) {
  const auto deadline = clock_type::now() + limit;
  for (;;) {
    if (const auto end = answer_end(pending_); end != std::string::npos) {
      auto answer = pending_.substr(0, end);
      pending_.erase(0, end);
      return answer;
    }
    if (!readable(fd_, deadline))
      return {};
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return {};
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

bool raw_connection::closed_within(std::chrono::milliseconds limit) {
  const auto deadline = clock_type::now() + limit;
  while (readable(fd_, deadline)) {
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return true;
  }
  return false;
}

int status_of(const std::string& answer) {
  if (answer.size() < 12 || answer.compare(0, 5, "HTTP/") != 0)
    return 0;
  return std::atoi(answer.c_str() + 9);
}

void raise_open_files(std::size_t n) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= n)
    return;
  lim.rlim_cur = std::min<rlim_t>(n, lim.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

} // namespace cutover::testing
