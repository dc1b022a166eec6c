/// cutover-store-bench: the SQLite job store alone — the writes of N jobs' whole lives (insert, routed, attempt
/// started, attempt finished, finished), committed in groups as the store actor does. Prints jobs/s.

#include "adapters/providers/png.hpp"
#include "adapters/store/sqlite_store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

using namespace cutover;

int main(int argc, char** argv) {
  const long jobs = argc > 1 ? std::atol(argv[1]) : 100000;
  const long group = argc > 2 ? std::atol(argv[2]) : 2000;
  auto dir = std::filesystem::temp_directory_path() / ("cutover-store-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto db = store_adapter::open_sqlite_store((dir / "bench.db").string(), core::sync_mode::normal);
  const core::instant t{std::chrono::seconds(1767225600)};
  const auto image = providers::solid_png_base64(0x336699);
  const auto t0 = std::chrono::steady_clock::now();
  // one commit per stage per group, as when each stage of a group of jobs lands in its own commit
  for (long first = 1; first <= jobs; first += group) {
    const long last = std::min(jobs, first + group - 1);
    std::vector<core::job_record> inserts;
    std::vector<core::job_event> routed, started, finished;
    for (long i = first; i <= last; ++i) {
      core::job_record j;
      j.id = core::job_id{static_cast<std::uint64_t>(i)};
      j.spec.user_id = "user-" + std::to_string(i);
      j.spec.prompt = "a prompt of typical length for an image, with some words " + std::to_string(i);
      j.created_at = j.updated_at = t;
      inserts.push_back(std::move(j));
      core::job_event e;
      e.id = core::job_id{static_cast<std::uint64_t>(i)};
      e.at = t;
      e.kind = core::event_kind::routed;
      e.status = core::job_status::queued;
      e.provider = "gemini";
      e.bucket = 37;
      e.text = "bucket 37 <= 50";
      routed.push_back(e);
      e.kind = core::event_kind::attempt_started;
      e.status = core::job_status::submitted;
      e.attempt.no = 1;
      e.attempt.provider = "gemini";
      e.attempt.started_at = t;
      started.push_back(e);
      e.kind = core::event_kind::attempt_finished;
      e.status = core::job_status::running;
      e.attempt.finished_at = t;
      e.attempt.outcome = core::job_status::succeeded;
      e.attempt.cost = 30000;
      finished.push_back(e);
      e.kind = core::event_kind::finished;
      e.status = core::job_status::succeeded;
      e.images = {image};
      e.cost = 30000;
      finished.push_back(e);
    }
    db->write(inserts, {});
    db->write({}, routed);
    db->write({}, started);
    db->write({}, finished);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("store jobs=%ld group=%ld seconds=%.3f jobs_per_s=%.0f statements_per_job=6\n", jobs, group, s, jobs / s);
  std::filesystem::remove_all(dir);
}
