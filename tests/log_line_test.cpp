// The engine's log lines are written whole even when several threads log at once (tests read them back line by
// line: a reload's hash, a resumed count).

#include "core/log_line.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

TEST_CASE("log lines of concurrent threads never interleave") {
  char path[] = "/tmp/cutover-log-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::fflush(stderr);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  constexpr int threads = 4, lines = 5000;
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([t] {
        for (int i = 0; i < lines; ++i)
          cutover::core::log_line{} << "event=test thread=" << t << " line=" << i << " hash=" << "0123456789abcdef";
      });
    for (auto& th : pool)
      th.join();
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in{path};
  const std::regex whole{"event=test thread=[0-9] line=[0-9]+ hash=0123456789abcdef"};
  int read = 0, broken = 0;
  for (std::string line; std::getline(in, line); ++read)
    if (!std::regex_match(line, whole))
      ++broken;
  std::remove(path);
  CHECK(read == threads * lines);
  CHECK(broken == 0);
}
