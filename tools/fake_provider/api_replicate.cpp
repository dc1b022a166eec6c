/// Replicate predictions: create (201, `starting`), poll (`processing` for N polls, then the ending decided at
/// creation), cancel. Outputs are data URLs ("data:image/png;base64,...") where real Replicate gives https file
/// URLs: the fake serves no files, and a data URL needs no second fetch.

#include "adapters/providers/png.hpp"
#include "tools/fake_provider/fake.hpp"
#include "tools/fake_provider/util.hpp"

namespace cutover::fake {

using web::json::value;

namespace {

bool terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "canceled" || status == "aborted";
}

value str_or_null(const std::string& s) { return s.empty() ? value::null() : value::string(s); }

} // namespace

answer provider_fake::replicate_create(const route& r, const call& c, fault f, const fault_settings& s) {
  const auto api = api_kind::replicate;
  auto body = parse_object(c.body);
  if (!body.is_object())
    return bad_request(api, "the body must be a JSON object", "body");
  const bool official = !r.arg.empty(); // POST /v1/models/{owner}/{name}/predictions
  if (!official && (!body.has_string_field("version") || body.at("version").as_string().empty()))
    return bad_request(api, "version is required", "version");
  if (!body.has_object_field("input"))
    return bad_request(api, "input is required", "input");
  const auto& input = body.at("input");
  if (!input.has_string_field("prompt") || input.at("prompt").as_string().empty())
    return bad_request(api, "prompt is required", "input");
  prediction p;
  if (input.has_field("num_outputs")) {
    const auto& v = input.at("num_outputs");
    // Real limits are the model's own (often 4); the fake takes what OpenAI's `n` takes.
    if (!v.is_integer() || v.as_integer() < 1 || v.as_integer() > 10)
      return bad_request(api, "num_outputs must be between 1 and 10", "input.num_outputs");
    p.num_outputs = v.as_integer();
  }
  p.id = next_id();
  p.model = official ? r.arg : "";
  p.version = official ? "" : body.at("version").as_string();
  p.input_json = input.serialize();
  p.created_at = rfc3339_now();
  p.polls_before_done = s.async_polls_before_done;
  p.polls_queued = s.async_polls_queued;
  p.seed = prompt_seed(input.at("prompt").as_string());
  // The ending is drawn now, so the answer to a poll does not depend on when it comes.
  if (f == fault::content_policy)
    p.end = ending::blocked;
  else if (f == fault::empty_data)
    p.end = ending::empty;
  else if (rng_.uniform() < s.async_failure_rate)
    p.end = ending::fail;
  ++counters(api).jobs_created;
  // `Prefer: wait` is honoured loosely: a job due to finish on its first poll is finished in the 201.
  if (c.prefer.rfind("wait", 0) == 0 && p.polls_before_done == 0)
    advance(p);
  auto& stored = predictions_[p.id] = std::move(p);
  answer a{201, prediction_json(stored), "application/json", {}};
  a.headers.emplace_back("Location", base_url_ + "/v1/predictions/" + stored.id);
  return a;
}

answer provider_fake::replicate_poll(const route& r, bool cancel) {
  auto it = predictions_.find(r.arg);
  if (it == predictions_.end())
    return not_found(api_kind::replicate, "The requested resource could not be found.");
  auto& p = it->second;
  if (cancel) {
    if (!terminal(p.status)) {
      p.status = "canceled";
      p.completed_at = rfc3339_now();
    }
  } else if (!terminal(p.status)) {
    advance(p);
  }
  return {200, prediction_json(p), "application/json", {}};
}

void provider_fake::advance(prediction& p) {
  if (++p.polls <= p.polls_queued)
    return; // still `starting`: no worker has taken it
  if (p.started_at.empty())
    p.started_at = rfc3339_now();
  if (p.polls <= p.polls_queued + p.polls_before_done) {
    p.status = "processing";
    return;
  }
  p.completed_at = rfc3339_now();
  switch (p.end) {
  case ending::succeed:
    p.status = "succeeded";
    counters(api_kind::replicate).images += static_cast<std::uint64_t>(p.num_outputs);
    break;
  case ending::empty: p.status = "succeeded"; break;
  case ending::blocked:
  case ending::fail: p.status = "failed"; break;
  }
}

std::string provider_fake::prediction_json(const prediction& p) const {
  value v = value::object();
  v["id"] = value::string(p.id);
  if (!p.model.empty())
    v["model"] = value::string(p.model);
  if (!p.version.empty())
    v["version"] = value::string(p.version);
  v["input"] = value::parse(p.input_json);
  v["logs"] = value::string(p.status == "starting" ? "" : "Running predictions...\n");
  v["output"] = value::null();
  v["error"] = value::null();
  v["status"] = value::string(p.status);
  v["data_removed"] = value::boolean(false);
  v["created_at"] = value::string(p.created_at);
  v["started_at"] = str_or_null(p.started_at);
  v["completed_at"] = str_or_null(p.completed_at);
  value urls = value::object();
  urls["get"] = value::string(base_url_ + "/v1/predictions/" + p.id);
  urls["cancel"] = value::string(base_url_ + "/v1/predictions/" + p.id + "/cancel");
  v["urls"] = urls;
  value metrics = value::object();
  if (p.status == "succeeded") {
    value output = value::array();
    if (p.end == ending::succeed)
      for (int i = 0; i < p.num_outputs; ++i)
        output[static_cast<std::size_t>(i)] = value::string(
            "data:image/png;base64," + providers::solid_png_base64(p.seed + static_cast<std::uint32_t>(i)));
    v["output"] = output;
    metrics["predict_time"] = value::number(0.5 * p.polls); // seconds, made up
  } else if (p.status == "failed") {
    v["error"] = value::string(p.end == ending::blocked ? replicate_nsfw_error
                                                        : "Prediction failed: CUDA out of memory (injected fault).");
  }
  v["metrics"] = metrics;
  return v.serialize();
}

} // namespace cutover::fake
