// The cost of one job log line on the hot path: the same lines written whole one at a time (a write and an fflush
// per line, as every line was before job lines existed) against buffered (written per 32 KiB or per flush), by 1 and
// 2 threads, text and JSON. Prints ns per line; stderr goes where the caller sends it (a file, /dev/null).
//   cutover-log-bench [LINES] 2>/tmp/log.out

#include "core/log_line.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

using cutover::core::log_line;

double run(int threads, long lines, log_line::mode mode) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([=] {
      for (long i = 0; i < lines; ++i)
        log_line{mode} << "event=job_routed job=j" << i << " provider=gemini attempt=1 bucket=37 reason="
                       << cutover::core::quoted{"bucket 37 <= 50"} << " at=2026-12-07T09:18:34.626Z";
    });
  for (auto& th : pool)
    th.join();
  cutover::core::log_sink::instance().flush();
  const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  return ns / (static_cast<double>(lines) * threads);
}

} // namespace

int main(int argc, char** argv) {
  const long lines = argc > 1 ? std::atol(argv[1]) : 200000;
  auto& sink = cutover::core::log_sink::instance();
  std::printf("%-6s %-8s %-9s %12s\n", "format", "threads", "mode", "ns/line");
  for (auto format : {cutover::core::log_format::text, cutover::core::log_format::json}) {
    sink.set_format(format);
    for (int threads : {1, 2})
      for (auto mode : {log_line::urgent, log_line::buffered})
        std::printf("%-6s %-8d %-9s %12.0f\n", format == cutover::core::log_format::text ? "text" : "json", threads,
                    mode == log_line::urgent ? "per-line" : "buffered", run(threads, lines, mode));
  }
  return 0;
}
