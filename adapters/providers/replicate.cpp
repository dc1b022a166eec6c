#include "adapters/providers/real.hpp"

#include "adapters/providers/http_call.hpp"
#include "core/retry_policy.hpp"

#include <regex>

namespace cutover::providers {

using namespace cutover::core;
using detail::http_result;

namespace {

/// Replicate predictions: one prediction per item, created, then polled by id until it ends.
/// `model` is "owner/name" (official models: POST /models/{owner}/{name}/predictions) or a 64-hex version id.
class replicate_provider final : public provider_port {
public:
  explicit replicate_provider(const provider_config& cfg)
    : cfg_(cfg), key_(detail::api_key_from_env(cfg.api_key_env)), client_(detail::make_client(cfg.base_url, cfg.timeout)) {}

  bool takes_batches() const override { return false; }

  void submit(const std::vector<work_item>& items, instant now, callback done) override {
    if (key_.empty()) {
      done(detail::failure(error_class::auth, "the environment variable " + cfg_.api_key_env + " holding the API key is not set"));
      return;
    }
    const auto item = items.at(0);
    web::json::value input;
    input["prompt"] = web::json::value::string(item.prompt);
    input["num_outputs"] = web::json::value::number(item.n);
    web::json::value body;
    body["input"] = input;
    detail::http_request req("POST", "");
    if (cfg_.model.find('/') != std::string::npos) {
      req.path = "/models/" + cfg_.model + "/predictions";
    } else {
      body["version"] = web::json::value::string(cfg_.model);
      req.path = "/predictions";
    }
    req.header("Authorization", "Bearer " + key_);
    req.json(body);
    detail::send(*client_, std::move(req), [item, now, done](http_result r) { done(answer(item, r, now)); });
  }

  void poll(const std::string& remote_id, const std::vector<work_item>& items, instant now, callback done) override {
    if (key_.empty()) { // without a key the remote job cannot be followed: say so instead of polling to the deadline
      done(detail::failure(error_class::auth, "the environment variable " + cfg_.api_key_env + " holding the API key is not set"));
      return;
    }
    const auto item = items.at(0);
    detail::http_request req("GET", "/predictions/" + remote_id);
    req.header("Authorization", "Bearer " + key_);
    detail::send(*client_, std::move(req), [item, now, done](http_result r) {
      auto reply = answer(item, r, now);
      // the GET failed, or answered no JSON at all: either way the prediction itself may be fine
      reply.poll_failed = r.status != 200 ||
                          (reply.error == error_class::bad_response && detail::parse_json(r.body).is_null());
      done(std::move(reply));
    });
  }

  /// `POST /v1/predictions/{id}/cancel`: a running prediction ends `canceled` and stops billing.
  void cancel(const std::string& remote_id, instant now, callback done) override {
    if (key_.empty()) {
      done(detail::failure(error_class::auth, "the environment variable " + cfg_.api_key_env + " holding the API key is not set"));
      return;
    }
    detail::http_request req("POST", "/predictions/" + remote_id + "/cancel");
    req.header("Authorization", "Bearer " + key_);
    detail::send(*client_, std::move(req), [remote_id, now, done](http_result r) {
      if (r.status == 0) {
        done(detail::transport_failure(r));
        return;
      }
      if (r.status != 200) {
        done(problem(r, now));
        return;
      }
      provider_reply out;
      out.remote_id = remote_id;
      out.message = "cancel of prediction " + remote_id + " accepted";
      done(std::move(out));
    });
  }

private:
  static bool safety_text(const std::string& error) {
    static const std::regex safety{"NSFW|flagged as sensitive|E005|safety", std::regex::icase};
    return std::regex_search(error, safety);
  }

  /// A prediction (answer to a create or a poll) as a provider reply.
  static provider_reply prediction(const work_item& item, const web::json::value& p,
                                   const http_result& r) {
    auto text = [&p](const char* k) { return p.has_field(k) && p.at(k).is_string() ? p.at(k).as_string() : std::string{}; };
    const auto id = text("id"), status = text("status");
    provider_reply out;
    out.remote_id = id;
    if (status == "starting" || status == "processing") {
      if (id.empty())
        return detail::failure(error_class::bad_response, "a prediction without an id: " + detail::unexpected_body(r));
      out.k = provider_reply::kind::pending;
      out.not_started = status == "starting"; // no worker has taken it: nothing billed yet
      return out;
    }
    if (status == "succeeded") {
      std::vector<std::string> images;
      if (p.has_field("output")) {
        const auto& o = p.at("output");
        if (o.is_string() && !o.as_string().empty())
          images.push_back(o.as_string());
        if (o.is_array())
          for (const auto& u : o.as_array())
            if (u.is_string() && !u.as_string().empty())
              images.push_back(u.as_string());
      }
      out.items.push_back(detail::item_result(item, std::move(images)));
      return out;
    }
    const auto error = p.has_field("error") && p.at("error").is_string() ? p.at("error").as_string() : status;
    if (status == "failed")
      return detail::failure(safety_text(error) ? error_class::content_policy : error_class::server,
                             "prediction " + id + " failed: " + error);
    if (status == "canceled")
      return detail::failure(error_class::cancelled, "prediction " + id + " was canceled");
    if (status == "aborted")
      return detail::failure(error_class::timeout, "prediction " + id + " was aborted before it started");
    return detail::failure(error_class::bad_response, "prediction " + id + " has an unknown status \"" + status + "\"");
  }

  static provider_reply answer(const work_item& item, const http_result& r, instant now) {
    if (r.status == 0)
      return detail::transport_failure(r);
    auto json = detail::parse_json(r.body);
    if (r.status == 200 || r.status == 201) {
      if (!json.is_object())
        return detail::failure(error_class::bad_response, detail::unexpected_body(r));
      auto out = prediction(item, json, r);
      // a create answers the prediction: while it runs, the engine polls it by id
      if (r.status == 201 && out.k == provider_reply::kind::pending)
        out.k = provider_reply::kind::accepted;
      return out;
    }
    return problem(r, now);
  }

  /// An answer other than 200/201 (RFC 7807 problem details) as a failure of the whole call.
  static provider_reply problem(const http_result& r, instant now) {
    auto json = detail::parse_json(r.body);
    auto text = [&json](const char* k) {
      return json.is_object() && json.has_field(k) && json.at(k).is_string() ? json.at(k).as_string() : std::string{};
    };
    const auto message = "HTTP " + std::to_string(r.status) + " " + text("title") + ": " + text("detail");
    switch (r.status) {
      case 401:
      case 403:
        return detail::failure(error_class::auth, message);
      case 402:
        return detail::failure(error_class::quota, message);
      case 400:
      case 404:
      case 422:
        return detail::failure(error_class::bad_request, message);
      case 429: {
        duration wait{0};
        if (auto ra = r.header("retry-after"); !ra.empty())
          wait = parse_retry_after(ra, now).value_or(duration{0});
        std::smatch m;
        const auto detail_text = text("detail");
        static const std::regex in_seconds{"~\\s*([0-9]+)\\s*s"};
        if (wait == duration{0} && std::regex_search(detail_text, m, in_seconds))
          wait = std::chrono::seconds(std::stoll(m[1].str()));
        return detail::failure(error_class::rate_limited, message, wait);
      }
      default:
        return detail::failure(r.status >= 500 ? error_class::server : error_class::bad_response, message);
    }
  }

  provider_config cfg_;
  std::string key_;
  std::unique_ptr<detail::http_client> client_;
};

} // namespace

std::shared_ptr<provider_port> make_replicate_provider(const provider_config& cfg) {
  return std::make_shared<replicate_provider>(cfg);
}

} // namespace cutover::providers
