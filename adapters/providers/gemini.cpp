#include "adapters/providers/real.hpp"

#include "adapters/providers/http_call.hpp"
#include "core/retry_policy.hpp"

#include <algorithm>
#include <optional>
#include <regex>

namespace cutover::providers {

using namespace cutover::core;
using detail::http_result;
using web::json::value;

namespace {

std::string text_of(const value& v, const char* k) {
  return v.is_object() && v.has_field(k) && v.at(k).is_string() ? v.at(k).as_string() : std::string{};
}

/// Google's error body `{"error":{code, message, status, details}}` as an error class.
provider_reply google_error(const http_result& r) {
  auto json = detail::parse_json(r.body);
  const value err = json.is_object() && json.has_field("error") ? json.at("error") : value::object();
  const auto status = text_of(err, "status"), message = text_of(err, "message");
  std::string reason, quota_id;
  duration retry_delay{0};
  if (err.has_field("details") && err.at("details").is_array())
    for (const auto& d : err.at("details").as_array()) {
      if (!text_of(d, "reason").empty())
        reason = text_of(d, "reason");
      if (auto delay = text_of(d, "retryDelay"); !delay.empty())
        retry_delay = parse_go_duration(delay).value_or(duration{0});
      if (d.has_field("violations") && d.at("violations").is_array())
        for (const auto& v : d.at("violations").as_array())
          if (!text_of(v, "quotaId").empty())
            quota_id = text_of(v, "quotaId");
    }
  const auto what = "HTTP " + std::to_string(r.status) + " " + status + ": " + message;
  static const std::regex rai{"responsible ai|sensitive|safety|prohibited", std::regex::icase};
  switch (r.status) {
    case 400:
      if (reason == "API_KEY_INVALID")
        return detail::failure(error_class::auth, what);
      if (status == "FAILED_PRECONDITION")
        return detail::failure(error_class::quota, what);
      return detail::failure(std::regex_search(message, rai) ? error_class::content_policy : error_class::bad_request,
                             what);
    case 401:
    case 403:
      return detail::failure(error_class::auth, what);
    case 404:
      return detail::failure(error_class::bad_request, what);
    case 429:
      if (quota_id.find("PerDay") != std::string::npos)
        return detail::failure(error_class::quota, what);
      return detail::failure(error_class::rate_limited, what, retry_delay);
    case 504:
      return detail::failure(error_class::timeout, what);
    default:
      return detail::failure(r.status >= 500 ? error_class::server : error_class::bad_response,
                             json.is_null() ? detail::unexpected_body(r) : what);
  }
}

/// Images of one GenerateContentResponse: inlineData parts; a safety block is content_policy.
provider_reply::item generated_item(const work_item& item, const value& response) {
  std::vector<std::string> images;
  std::string blocked;
  if (response.has_field("promptFeedback"))
    blocked = text_of(response.at("promptFeedback"), "blockReason");
  if (response.has_field("candidates") && response.at("candidates").is_array())
    for (const auto& c : response.at("candidates").as_array()) {
      auto finish = text_of(c, "finishReason");
      if (finish == "IMAGE_SAFETY" || finish == "PROHIBITED_CONTENT" || finish == "SAFETY")
        blocked = finish;
      if (!c.has_field("content") || !c.at("content").has_field("parts") || !c.at("content").at("parts").is_array())
        continue;
      for (const auto& part : c.at("content").at("parts").as_array())
        if (part.has_field("inlineData") && !text_of(part.at("inlineData"), "data").empty())
          images.push_back(text_of(part.at("inlineData"), "data"));
    }
  if (images.empty() && !blocked.empty()) {
    provider_reply::item out;
    out.id = item.id;
    out.error = error_class::content_policy;
    out.message = "blocked: " + blocked;
    return out;
  }
  return detail::item_result(item, std::move(images));
}

/// Gemini API: `mode: sync` calls Imagen's :predict per item; `mode: async` makes one Gemini batch per batch,
/// keyed by job id, and polls the operation until it ends.
class gemini_provider final : public provider_port {
public:
  explicit gemini_provider(const provider_config& cfg)
    : cfg_(cfg), key_(detail::api_key_from_env(cfg.api_key_env)), client_(detail::make_client(cfg.base_url, cfg.timeout)) {}

  bool takes_batches() const override { return cfg_.mode == provider_mode::async; }

  void submit(const std::vector<work_item>& items, instant now, callback done) override {
    (void) now;
    if (key_.empty()) {
      done(detail::failure(error_class::auth, "the environment variable " + cfg_.api_key_env + " holding the API key is not set"));
      return;
    }
    detail::http_request req("POST", "");
    req.header("x-goog-api-key", key_);
    if (cfg_.mode == provider_mode::sync) {
      const auto item = items.at(0);
      value instance;
      instance["prompt"] = value::string(item.prompt);
      value params;
      params["sampleCount"] = value::number(item.n);
      params["sampleImageSize"] = value::string(item.tier_ == tier::sd ? "1K" : "2K");
      value body;
      body["instances"] = value::array({instance});
      body["parameters"] = params;
      req.path = "/models/" + cfg_.model + ":predict";
      req.json(body);
      detail::send(*client_, std::move(req), [item, done](http_result r) { done(predicted(item, r)); });
      return;
    }
    // A GenerateContentRequest asks for one image and the batch API documents no count per request, so an
    // item of n images is n requests, keyed "j42#1" .. "j42#n" (n = 1: "j42"), gathered back by key.
    std::vector<value> requests;
    for (const auto& item : items)
      for (int k = 1; k <= requests_of(item); ++k) {
        value part;
        part["text"] = value::string(item.prompt);
        value content;
        content["parts"] = value::array({part});
        value request;
        request["contents"] = value::array({content});
        value meta;
        meta["key"] = value::string(request_key(item, k));
        value entry;
        entry["request"] = request;
        entry["metadata"] = meta;
        requests.push_back(entry);
      }
    value inner;
    inner["requests"] = value::array(requests);
    value input;
    input["requests"] = inner;
    value batch;
    batch["displayName"] = value::string("cutover-" + to_string(items.at(0).id));
    batch["inputConfig"] = input;
    value body;
    body["batch"] = batch;
    req.path = "/models/" + cfg_.model + ":batchGenerateContent";
    req.json(body);
    detail::send(*client_, std::move(req), [items, done](http_result r) { done(operation(items, r, true)); });
  }

  void poll(const std::string& remote_id, const std::vector<work_item>& items, instant, callback done) override {
    if (key_.empty()) { // without a key the remote job cannot be followed: say so instead of polling to the deadline
      done(detail::failure(error_class::auth, "the environment variable " + cfg_.api_key_env + " holding the API key is not set"));
      return;
    }
    detail::http_request req("GET", "/" + remote_id);
    req.header("x-goog-api-key", key_);
    detail::send(*client_, std::move(req), [items, done](http_result r) {
      auto reply = operation(items, r, false);
      // the GET failed, or answered no JSON at all: either way the batch itself may be fine
      reply.poll_failed = r.status != 200 ||
                          (reply.error == error_class::bad_response && detail::parse_json(r.body).is_null());
      done(std::move(reply));
    });
  }

  /// Batch mode: `POST /v1beta/batches/{id}:cancel`. Imagen (`mode: sync`) has no remote job to stop.
  void cancel(const std::string& remote_id, instant, callback done) override {
    if (cfg_.mode == provider_mode::sync) {
      done(detail::nothing_to_cancel("Imagen :predict is synchronous: no remote job to cancel"));
      return;
    }
    if (key_.empty()) {
      done(detail::failure(error_class::auth, "the environment variable " + cfg_.api_key_env + " holding the API key is not set"));
      return;
    }
    detail::http_request req("POST", "/" + remote_id + ":cancel");
    req.header("x-goog-api-key", key_);
    detail::send(*client_, std::move(req), [remote_id, done](http_result r) {
      if (r.status == 0) {
        done(detail::transport_failure(r));
        return;
      }
      if (r.status != 200) {
        done(google_error(r));
        return;
      }
      provider_reply out;
      out.remote_id = remote_id;
      out.message = "cancel of " + remote_id + " accepted";
      done(std::move(out));
    });
  }

private:
  static provider_reply predicted(const work_item& item, const http_result& r) {
    if (r.status == 0)
      return detail::transport_failure(r);
    if (r.status != 200)
      return google_error(r);
    auto json = detail::parse_json(r.body);
    if (!json.is_object())
      return detail::failure(error_class::bad_response, detail::unexpected_body(r));
    std::vector<std::string> images;
    bool filtered = false;
    if (json.has_field("predictions") && json.at("predictions").is_array())
      for (const auto& p : json.at("predictions").as_array()) {
        if (!text_of(p, "bytesBase64Encoded").empty())
          images.push_back(text_of(p, "bytesBase64Encoded"));
        else if (!text_of(p, "raiFilteredReason").empty())
          filtered = true;
      }
    provider_reply out;
    if (images.empty() && filtered)
      return detail::failure(error_class::content_policy, "every image was filtered by Responsible AI");
    out.items.push_back(detail::item_result(item, std::move(images)));
    return out;
  }

  /// An Operation (answer to a batch create or get) as a provider reply.
  static provider_reply operation(const std::vector<work_item>& items,
                                  const http_result& r, bool create) {
    if (r.status == 0)
      return detail::transport_failure(r);
    if (r.status != 200)
      return google_error(r);
    auto op = detail::parse_json(r.body);
    const auto name = text_of(op, "name");
    if (!op.is_object() || name.empty())
      return detail::failure(error_class::bad_response, detail::unexpected_body(r));
    const value meta = op.has_field("metadata") ? op.at("metadata") : value::object();
    auto state = text_of(meta, "state");
    for (const char* prefix : {"BATCH_STATE_", "JOB_STATE_"})
      if (state.rfind(prefix, 0) == 0)
        state = state.substr(std::string{prefix}.size());
    provider_reply out;
    out.remote_id = name;
    if (state == "PENDING" || state == "RUNNING" || (state.empty() && !op.has_field("done"))) {
      out.k = create ? provider_reply::kind::accepted : provider_reply::kind::pending;
      out.not_started = state == "PENDING"; // queued, no request processed yet: nothing billed
      return out;
    }
    if (state == "FAILED")
      return detail::failure(error_class::server, "batch " + name + " failed");
    if (state == "CANCELLED")
      return detail::failure(error_class::cancelled, "batch " + name + " was cancelled");
    if (state == "EXPIRED")
      return detail::failure(error_class::timeout, "batch " + name + " expired");
    if (state != "SUCCEEDED")
      return detail::failure(error_class::bad_response, "batch " + name + " has an unknown state " + state);
    // results: metadata.output (as the SDK reads) or response (as Google's sample reads)
    const value* responses = nullptr;
    for (const value* holder : std::initializer_list<const value*>{&meta, &op}) {
      const char* field = holder == &meta ? "output" : "response";
      if (holder->has_field(field) && holder->at(field).has_field("inlinedResponses")) {
        const auto& ir = holder->at(field).at("inlinedResponses");
        if (ir.has_field("inlinedResponses") && ir.at("inlinedResponses").is_array()) {
          responses = &ir.at("inlinedResponses");
          break;
        }
      }
    }
    if (responses == nullptr)
      return detail::failure(error_class::bad_response, "batch " + name + " succeeded without inlined responses");
    const auto& list = responses->as_array();
    // Without keys, answers come in input order: the requests as sent (n per item), or one per item (a batch made
    // before items were split).
    std::vector<std::size_t> sent;
    for (std::size_t i = 0; i < items.size(); ++i)
      sent.insert(sent.end(), static_cast<std::size_t>(requests_of(items[i])), i);
    if (list.size() != sent.size() && list.size() == items.size()) {
      sent.resize(items.size());
      for (std::size_t i = 0; i < items.size(); ++i)
        sent[i] = i;
    }
    std::vector<std::vector<provider_reply::item>> parts(items.size()); // per item, its requests' results
    std::size_t position = 0;
    for (const auto& entry : list) {
      const auto key = entry.has_field("metadata") ? text_of(entry.at("metadata"), "key") : std::string{};
      std::optional<std::size_t> index;
      if (!key.empty()) {
        const auto job = key.substr(0, key.find('#'));
        for (std::size_t i = 0; i < items.size(); ++i)
          if (to_string(items[i].id) == job)
            index = i;
      } else if (position < sent.size()) {
        index = sent[position];
      }
      ++position;
      if (!index)
        continue;
      const auto& item = items[*index];
      if (entry.has_field("error")) {
        provider_reply::item failed;
        failed.id = item.id;
        failed.error = error_class::server;
        failed.message = "batch item failed: " + text_of(entry.at("error"), "message");
        parts[*index].push_back(failed);
        continue;
      }
      parts[*index].push_back(generated_item(item, entry.has_field("response") ? entry.at("response") : value::object()));
    }
    for (std::size_t i = 0; i < items.size(); ++i)
      if (!parts[i].empty())
        out.items.push_back(gathered(items[i], std::move(parts[i])));
    return out;
  }

  /// Requests sent for an item: one per image asked for.
  static int requests_of(const work_item& item) { return std::max(item.n, 1); }
  static std::string request_key(const work_item& item, int k) {
    return item.n <= 1 ? to_string(item.id) : to_string(item.id) + "#" + std::to_string(k);
  }

  /// One item's result from its requests' results: every image that came (fewer than n is partial), or, when
  /// none came, the first failure.
  static provider_reply::item gathered(const work_item& item, std::vector<provider_reply::item> parts) {
    provider_reply::item out;
    out.id = item.id;
    double quality = 0;
    for (auto& p : parts)
      if (p.error == error_class::none) {
        out.images.insert(out.images.end(), std::make_move_iterator(p.images.begin()),
                          std::make_move_iterator(p.images.end()));
        quality = std::max(quality, p.quality);
      }
    out.quality = quality;
    if (!out.images.empty())
      return out;
    return parts.front();
  }

  provider_config cfg_;
  std::string key_;
  std::unique_ptr<detail::http_client> client_;
};

} // namespace

std::shared_ptr<provider_port> make_gemini_provider(const provider_config& cfg) {
  return std::make_shared<gemini_provider>(cfg);
}


} // namespace cutover::providers
