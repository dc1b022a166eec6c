/// cutover-fake-provider: OpenAI Images, Replicate predictions, Imagen :predict and Gemini Batch Mode faked on
/// loopback with their real wire formats, plus fault injection, for tests and benchmarks.
/// Prints exactly one line, `listening http://127.0.0.1:PORT`, once ready; runs until SIGTERM/SIGINT (exit 0).

#include "tools/fake_provider/fake.hpp"
#include "tools/fake_provider/server.hpp"
#include "tools/fake_provider/timers.hpp"

#include <pplx/threadpool.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

constexpr const char* usage = R"(usage: cutover-fake-provider [--port N] [--faults JSON|@FILE] [--seed N] [--api-key K]
                             [--threads N] [--image-bytes N]
  --port N      port on 127.0.0.1 (0 or absent: a free one)
  --faults J    fault settings (JSON text, or @path of a JSON file); also POST /_fake/faults
  --seed N      seed of the fault draws when the faults name none (default 1)
  --api-key K   the only key every api accepts (default test-key)
  --threads N   cpprestsdk worker threads (default 2)
  --image-bytes N  OpenAI images of about N bytes at 1024x1024, more for larger sizes (default: 64x64 PNGs)
faults: {"seed":N, FIELDS, "default":{FIELDS}, "openai"|"replicate"|"imagen"|"gemini_batch":{FIELDS}}
  FIELDS: latency_ms (N or {"p50":ms,"p95":ms}), error_rates ({"500":p,...}), retry_after_s, hang_rate, hang_ms,
          empty_data_rate, malformed_rate, content_policy_rate, quota_rate, async_polls_before_done,
          async_polls_queued,
          async_failure_rate, async_expire_rate, item_error_rate
control: POST /_fake/faults, GET /_fake/calls[?since=SEQ][&wait_ms=MS], GET /_fake/stats, POST /_fake/reset
)";

bool number_arg(const char* text, long long min, long long max, long long& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoll(text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && out >= min && out <= max;
}

int fail(const std::string& message) {
  std::cerr << "cutover-fake-provider: " << message << "\n" << usage << std::flush;
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  long long port = 0, threads = 2, seed = 1, image_bytes = 0;
  std::string faults_text, api_key = "test-key";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--help" || arg == "-h") {
      std::cout << usage << std::flush;
      return 0;
    }
    if (next == nullptr)
      return fail("unknown option or missing value: " + arg);
    ++i;
    if (arg == "--port") {
      if (!number_arg(next, 0, 65535, port))
        return fail("--port must be 0..65535");
    } else if (arg == "--seed") {
      if (!number_arg(next, 0, LLONG_MAX, seed))
        return fail("--seed must be a whole number of at least 0");
    } else if (arg == "--threads") {
      if (!number_arg(next, 1, 64, threads))
        return fail("--threads must be 1..64");
    } else if (arg == "--image-bytes") {
      if (!number_arg(next, 0, 64LL * 1024 * 1024, image_bytes))
        return fail("--image-bytes must be 0..67108864");
    } else if (arg == "--api-key") {
      api_key = next;
    } else if (arg == "--faults") {
      faults_text = next;
      if (!faults_text.empty() && faults_text[0] == '@') {
        std::ifstream in(faults_text.substr(1));
        if (!in)
          return fail("cannot read " + faults_text.substr(1));
        std::stringstream ss;
        ss << in.rdbuf();
        faults_text = ss.str();
      }
    } else {
      return fail("unknown option: " + arg);
    }
  }

  cutover::fake::fake_options opts;
  opts.api_key = api_key;
  opts.seed = static_cast<std::uint64_t>(seed);
  opts.image_bytes = static_cast<std::size_t>(image_bytes);
  if (!faults_text.empty()) {
    auto err = cutover::fake::parse_faults(faults_text, opts.faults);
    if (!err.empty())
      return fail("--faults: " + err);
  }

  // Block the stop signals before any thread exists, so every thread inherits the mask and main takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  crossplat::threadpool::initialize_with_threads(static_cast<std::size_t>(threads));

  cutover::fake::provider_fake fake(std::move(opts));
  cutover::fake::timers clock;
  cutover::fake::server http(fake, clock);
  int bound = 0;
  try {
    bound = http.open(static_cast<int>(port));
  } catch (const std::exception& e) {
    std::cerr << "cutover-fake-provider: " << e.what() << std::endl;
    return 1;
  }
  std::cout << "listening http://127.0.0.1:" << bound << std::endl;

  int sig = 0;
  sigwait(&stop, &sig);
  clock.shutdown(); // held and delayed answers go out now
  http.close();
  return 0;
}
