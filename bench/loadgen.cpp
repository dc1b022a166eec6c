/// cutover-loadgen: an open-loop load generator. Sends POSTs at a fixed rate (each at its scheduled time, whatever
/// the answers do) and reports latency percentiles measured from the scheduled send time, so a slow server cannot
/// hide its queueing (no coordinated omission).
///   cutover-loadgen --url URL --rate R --seconds S [--header "K: V"]... [--body JSON with {i} for the number]

#include <cpprest/http_client.h>
#include <pplx/threadpool.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string url, body = R"({"prompt":"load {i}","user":"user-{i}","n":1})";
  double rate = 1000, seconds = 10;
  std::vector<std::pair<std::string, std::string>> headers;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--url")
      url = v;
    else if (k == "--rate")
      rate = std::stod(v);
    else if (k == "--seconds")
      seconds = std::stod(v);
    else if (k == "--body")
      body = v;
    else if (k == "--header" && v.find(':') != std::string::npos)
      headers.emplace_back(v.substr(0, v.find(':')), v.substr(v.find(':') + 2));
  }
  if (url.empty()) {
    std::fprintf(stderr, "usage: cutover-loadgen --url URL [--rate R] [--seconds S] [--header 'K: V'] [--body B]\n");
    return 2;
  }
  crossplat::threadpool::initialize_with_threads(2);
  web::uri full{url};
  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::seconds(60));
  web::http::client::http_client client(web::uri_builder(full).set_path("").set_query("").to_uri(), cfg);
  const std::string path = full.path();
  const long total = static_cast<long>(rate * seconds);
  std::vector<double> latency_ms(static_cast<std::size_t>(total), -1);
  std::atomic<long> done{0}, ok{0}, failed{0};
  const auto start = clock_type::now() + std::chrono::milliseconds(100);
  for (long i = 0; i < total; ++i) {
    const auto due = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(i / rate));
    std::this_thread::sleep_until(due);
    web::http::http_request req(web::http::methods::POST);
    req.set_request_uri(path);
    std::string b = body;
    for (auto pos = b.find("{i}"); pos != std::string::npos; pos = b.find("{i}"))
      b.replace(pos, 3, std::to_string(i));
    req.set_body(b, "application/json");
    for (const auto& [k, v] : headers)
      req.headers().add(k, v);
    client.request(req)
      .then([](web::http::http_response r) { return r.extract_string(true).then([r](std::string) { return r.status_code(); }); })
      .then([&, i, due](pplx::task<unsigned short> t) {
        try {
          auto status = t.get();
          (status >= 200 && status < 300 ? ok : failed)++;
        } catch (...) {
          failed++;
        }
        latency_ms[static_cast<std::size_t>(i)] =
          std::chrono::duration<double, std::milli>(clock_type::now() - due).count();
        done++;
      });
  }
  const auto sent_by = clock_type::now();
  while (done < total && clock_type::now() - sent_by < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const double elapsed = std::chrono::duration<double>(sent_by - start).count();
  std::vector<double> l;
  for (double v : latency_ms)
    if (v >= 0)
      l.push_back(v);
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * static_cast<double>(l.size())))]; };
  std::printf("loadgen url=%s rate=%.0f sent=%ld answered=%ld ok=%ld failed=%ld achieved_rate=%.0f p50_ms=%.3f "
              "p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
              url.c_str(), rate, total, done.load(), ok.load(), failed.load(), static_cast<double>(total) / elapsed,
              pct(0.50), pct(0.90), pct(0.99), l.empty() ? 0.0 : l.back());
  return failed == 0 && done == total ? 0 : 1;
}
