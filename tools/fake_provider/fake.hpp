#pragma once
/// The fake providers' brain, free of any HTTP library: it routes one call to its api, checks the key, draws the
/// faults, runs the api (jobs live here: Replicate predictions, Gemini batches), records the call and returns
/// the answer to send with its delay. Thread-safe: one mutex around everything (a fake needs no more).
/// Jobs advance per successful poll, not with time, so tests and benchmarks see every state deterministically.

#include "tools/fake_provider/faults.hpp"
#include "tools/fake_provider/wire.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace cutover::fake {

struct fake_options {
  std::string api_key = "test-key";
  std::uint64_t seed = 1; ///< used when the faults name no seed
  fault_config faults;
  /// OpenAI images of about this many bytes each at 1024x1024, in proportion to the size asked (0: 64x64 PNGs of
  /// about 100 bytes): a realistic result for benches of the image store.
  std::size_t image_bytes = 0;
};

/// What to do with one call: send `reply` after `delay`, or hold it (hang) and send `on_release` when let go.
struct planned {
  answer reply;
  std::chrono::milliseconds delay{0};
  bool hang = false;
  std::chrono::milliseconds hang_for{0};
};

class provider_fake {
public:
  explicit provider_fake(fake_options opts);
  /// Where the urls in Replicate predictions point (http://127.0.0.1:PORT).
  void set_base_url(std::string url);

  planned handle(const call& c);

  /// Replaces every fault setting and reseeds the draws; returns the error text (and changes nothing) if invalid.
  std::string set_faults(const std::string& json);
  /// Forgets calls, jobs and counters and reseeds the draws; faults stay.
  void reset();
  /// `[{seq, at_ms, method, path, api, status, fault}]` with seq > since; status 0 = hung.
  std::string calls_json(std::uint64_t since) const;
  /// Blocks until a call with a sequence number above `since` is recorded, at most `limit`.
  void wait_for_calls(std::uint64_t since, std::chrono::milliseconds limit) const;
  /// Counts per api and status, jobs created per api, images returned, faults injected.
  std::string stats_json() const;

  // Internal types, public so the api files can name them.
  enum class op {
    none, openai_generate, replicate_create, replicate_get, replicate_cancel, imagen_predict,
    batch_create, batch_get, batch_cancel, batch_delete
  };
  struct route {
    api_kind api = api_kind::unknown;
    op what = op::none;
    std::string arg; ///< model (create/predict) or job id (get/cancel)
  };
  /// How an async job ends, decided when it is created.
  enum class ending { succeed, empty, blocked, fail };
  struct prediction {
    std::string id, model, version, input_json, status = "starting";
    std::string created_at, started_at, completed_at;
    ending end = ending::succeed;
    int polls = 0, polls_queued = 0, polls_before_done = 1, num_outputs = 1;
    std::uint32_t seed = 0;
  };
  struct batch_item {
    std::string key;
    ending end = ending::succeed;
    std::uint32_t seed = 0;
  };
  struct batch {
    std::string id, model, display_name, state = "BATCH_STATE_PENDING", create_time, update_time, end_time;
    bool fail = false;
    bool expire = false;
    int polls = 0, polls_queued = 0, polls_before_done = 1;
    std::vector<batch_item> items;
  };
  static route match(const std::string& method, const std::string& path);

private:
  struct call_record {
    std::uint64_t seq;
    long long at_ms;
    std::string method, path;
    api_kind api;
    int status;
    fault f;
    std::string key; ///< who asked: OpenAI's `user`, else the first prompt in the body (lets tests follow one job)
  };
  struct api_counters {
    std::map<int, std::uint64_t> by_status;
    std::uint64_t calls = 0, images = 0, jobs_created = 0;
  };

  std::size_t image_bytes_ = 0; ///< fake_options::image_bytes
  bool authorized(api_kind api, const call& c) const;
  answer run(const route& r, const call& c, fault f, const fault_settings& s);
  answer openai_generate(const call& c, fault f);
  answer imagen_predict(const call& c, fault f);
  answer replicate_create(const route& r, const call& c, fault f, const fault_settings& s);
  answer replicate_poll(const route& r, bool cancel);
  answer batch_create(const route& r, const call& c, const fault_settings& s);
  answer batch_poll(const route& r, op what);
  void advance(prediction& p);
  void advance(batch& b);
  std::string prediction_json(const prediction& p) const;
  std::string operation_json(const batch& b) const;
  std::string next_id();
  void record(const call& c, api_kind api, int status, fault f);
  api_counters& counters(api_kind api);

  mutable std::mutex mu_;
  mutable std::condition_variable call_logged_; ///< a call was recorded (wait_for_calls)
  const std::string api_key_;
  const std::uint64_t default_seed_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::string base_url_;
  fault_config faults_;
  random_source rng_;
  std::uint64_t id_counter_ = 0, seq_ = 0, calls_dropped_ = 0, batch_items_ = 0;
  std::vector<call_record> calls_;
  std::unordered_map<std::string, prediction> predictions_;
  std::unordered_map<std::string, batch> batches_;
  std::array<api_counters, api_count + 1> counters_{};
  std::map<fault, std::uint64_t> faults_injected_;
};

} // namespace cutover::fake
