#include "adapters/providers/real.hpp"

#include "adapters/providers/http_call.hpp"
#include "core/retry_policy.hpp"

namespace cutover::providers {

using namespace cutover::core;
using detail::http_result;

namespace {

/// OpenAI Images (`POST {base_url}/images/generations`): synchronous, one call per item, n images per call.
class openai_provider final : public provider_port {
public:
  explicit openai_provider(const provider_config& cfg)
    : cfg_(cfg), key_(detail::api_key_from_env(cfg.api_key_env)), client_(detail::make_client(cfg.base_url, cfg.timeout)) {}

  bool takes_batches() const override { return false; }

  void submit(const std::vector<work_item>& items, instant now, callback done) override {
    if (key_.empty()) {
      done(detail::failure(error_class::auth, "the environment variable " + cfg_.api_key_env + " holding the API key is not set"));
      return;
    }
    const auto item = items.at(0);
    web::json::value body;
    body["model"] = web::json::value::string(cfg_.model.empty() ? "gpt-image-1" : cfg_.model);
    body["prompt"] = web::json::value::string(item.prompt);
    body["n"] = web::json::value::number(item.n);
    body["size"] = web::json::value::string(item.tier_ == tier::k4 ? "1536x1024" : "1024x1024");
    const bool dalle = cfg_.model.rfind("dall-e", 0) == 0;
    if (dalle) {
      body["response_format"] = web::json::value::string("b64_json");
      if (cfg_.model == "dall-e-3")
        body["quality"] = web::json::value::string(item.tier_ == tier::sd ? "standard" : "hd");
    } else {
      body["quality"] = web::json::value::string(item.tier_ == tier::sd ? "low" : "high");
    }
    body["user"] = web::json::value::string(item.user_id);
    detail::http_request req("POST", "images/generations");
    req.header("Authorization", "Bearer " + key_);
    req.json(body);
    detail::send(*client_, std::move(req), [item, now, done](http_result r) { done(answer(item, r, now)); });
  }

  void poll(const std::string&, const std::vector<work_item>&, instant, callback done) override {
    done(detail::failure(error_class::bad_request, "OpenAI images are synchronous: nothing to poll"));
  }

  void cancel(const std::string&, instant, callback done) override {
    done(detail::nothing_to_cancel("OpenAI images are synchronous: no remote job to cancel"));
  }

private:
  static provider_reply answer(const work_item& item, const http_result& r, instant now) {
    if (r.status == 0)
      return detail::transport_failure(r);
    auto json = detail::parse_json(r.body);
    if (r.status == 200) {
      if (!json.is_object() || !json.has_field("data") || !json.at("data").is_array())
        return detail::failure(error_class::bad_response, detail::unexpected_body(r));
      std::vector<std::string> images;
      for (const auto& d : json.at("data").as_array()) {
        if (d.has_field("b64_json") && d.at("b64_json").is_string() && !d.at("b64_json").as_string().empty())
          images.push_back(d.at("b64_json").as_string());
        else if (d.has_field("url") && d.at("url").is_string() && !d.at("url").as_string().empty())
          images.push_back(d.at("url").as_string());
      }
      provider_reply ok;
      ok.items.push_back(detail::item_result(item, std::move(images)));
      return ok;
    }
    std::string code, type, message = detail::unexpected_body(r);
    if (json.is_object() && json.has_field("error") && json.at("error").is_object()) {
      const auto& e = json.at("error");
      auto text = [&e](const char* k) { return e.has_field(k) && e.at(k).is_string() ? e.at(k).as_string() : std::string{}; };
      code = text("code");
      type = text("type");
      message = "HTTP " + std::to_string(r.status) + " " + (code.empty() ? type : code) + ": " + text("message");
    }
    provider_reply out;
    switch (r.status) {
      case 400:
        out = detail::failure(code == "content_policy_violation" || code == "moderation_blocked" ||
                                  type == "image_generation_user_error"
                                ? error_class::content_policy
                                : error_class::bad_request,
                              message);
        break;
      case 401:
      case 403:
        out = detail::failure(error_class::auth, message);
        break;
      case 404:
        out = detail::failure(error_class::bad_request, message);
        break;
      case 429:
        if (type == "insufficient_quota" || code == "insufficient_quota" || code == "credit_balance_exhausted")
          out = detail::failure(error_class::quota, message);
        else
          out = detail::failure(error_class::rate_limited, message, retry_hint(r, now));
        break;
      default:
        out = detail::failure(r.status >= 500 || r.status == 408 || r.status == 409 ? error_class::server
                                                                                    : error_class::bad_response,
                              message);
    }
    if (r.header("x-should-retry") == "false")
      out.no_retry = true;
    return out;
  }

  /// retry-after-ms, then retry-after (seconds or HTTP date), then x-ratelimit-reset-requests ("6m0s").
  static duration retry_hint(const http_result& r, instant now) {
    if (auto ms = r.header("retry-after-ms"); !ms.empty())
      if (auto d = parse_retry_after_ms(ms))
        return *d;
    if (auto ra = r.header("retry-after"); !ra.empty())
      if (auto d = parse_retry_after(ra, now))
        return *d;
    if (auto reset = r.header("x-ratelimit-reset-requests"); !reset.empty())
      if (auto d = parse_go_duration(reset))
        return *d;
    return duration{0};
  }

  provider_config cfg_;
  std::string key_;
  std::unique_ptr<detail::http_client> client_;
};

} // namespace

std::shared_ptr<provider_port> make_openai_provider(const provider_config& cfg) {
  return std::make_shared<openai_provider>(cfg);
}

} // namespace cutover::providers
