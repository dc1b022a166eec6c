// The engine's log lines are written whole even when several threads log at once (tests read them back line by
// line: a reload's hash, a resumed count).

#include "core/log_line.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
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

namespace {

/// Runs `body` with stderr sent to a temporary file; what was written there.
template <class Fn>
std::string capture_stderr(Fn body) {
  char path[] = "/tmp/cutover-log-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::fflush(stderr);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  body(path);
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::remove(path);
  return text;
}

std::string file_text(const char* path) {
  std::ifstream in{path};
  return std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE("buffered job lines wait for a flush, an urgent line, or a full buffer, and keep their order") {
  using cutover::core::log_line;
  auto& sink = cutover::core::log_sink::instance();
  sink.flush();
  const auto text = capture_stderr([&](const char* path) {
    log_line{log_line::buffered} << "event=job_accepted job=j1";
    log_line{log_line::buffered} << "event=job_routed job=j1";
    CHECK(file_text(path).empty()); // not written per line
    sink.flush();
    CHECK(file_text(path) == "event=job_accepted job=j1\nevent=job_routed job=j1\n");
    log_line{log_line::buffered} << "event=job_final job=j1";
    log_line{} << "event=reloaded"; // an urgent line writes what waited before it, in order
    CHECK(file_text(path) == "event=job_accepted job=j1\nevent=job_routed job=j1\nevent=job_final job=j1\n"
                             "event=reloaded\n");
    const std::string line = "event=job_routed job=j2 pad=" + std::string(100, 'x');
    const auto before = file_text(path).size();
    for (std::size_t written = 0; written <= cutover::core::log_sink::flush_bytes; written += line.size() + 1)
      log_line{log_line::buffered} << line;
    // a full buffer is written without a flush
    CHECK(file_text(path).size() > before + cutover::core::log_sink::flush_bytes);
  });
  sink.flush();
  CHECK(!text.empty());
}

TEST_CASE("text lines become JSON objects: quoted values unescaped, numbers as numbers, stray words kept") {
  using cutover::core::text_line_to_json;
  CHECK(text_line_to_json("event=job_final job=j7 status=succeeded cost_usd=0.040000 wait_ms=12") ==
        R"({"event":"job_final","job":"j7","status":"succeeded","cost_usd":0.040000,"wait_ms":12})");
  CHECK(text_line_to_json(R"(event=job_routed reason="bucket 37 <= 50; a \"quote\"" at=x)") ==
        R"({"event":"job_routed","reason":"bucket 37 <= 50; a \"quote\"","at":"x"})");
  // an older line's value with spaces and no quotes stays whole; a quoted number stays a string
  CHECK(text_line_to_json(R"x(event=x error=error(runtime_error, "no = way") n="12")x") ==
        R"x({"event":"x","error":"error(runtime_error, \"no = way\")","n":"12"})x");
  // numbers JSON would refuse stay strings
  CHECK(text_line_to_json("a=007 b=1. c=-3 d=j1") == R"({"a":"007","b":"1.","c":-3,"d":"j1"})");
}

TEST_CASE("quoted values round-trip through the JSON form") {
  using cutover::core::quoted;
  std::ostringstream line;
  line << "event=e plain=" << quoted{"word"} << " spaced=" << quoted{"two words"} << " tricky="
       << quoted{R"(a "b" \c = d)"} << " empty=" << quoted{""};
  CHECK(line.str() == R"(event=e plain=word spaced="two words" tricky="a \"b\" \\c = d" empty="")");
  CHECK(cutover::core::text_line_to_json(line.str()) ==
        R"({"event":"e","plain":"word","spaced":"two words","tricky":"a \"b\" \\c = d","empty":""})");
}

TEST_CASE("log.format json writes every line as JSON") {
  auto& sink = cutover::core::log_sink::instance();
  sink.set_format(cutover::core::log_format::json);
  const auto text = capture_stderr([](const char*) { cutover::core::log_line{} << "event=listening address=x:1"; });
  sink.set_format(cutover::core::log_format::text);
  CHECK(text == "{\"event\":\"listening\",\"address\":\"x:1\"}\n");
}
