/// The synchronous apis: OpenAI Images (`POST /v1/images/generations`) and Imagen (`POST /v1beta/models/M:predict`).
/// Images are real 64x64 PNGs whose colour comes from the prompt and the image's index.

#include "adapters/providers/png.hpp"
#include "tools/fake_provider/fake.hpp"
#include "tools/fake_provider/util.hpp"

#include <cpprest/json.h>

#include <cstdio>
#include <ctime>

namespace cutover::fake {

using web::json::value;

answer provider_fake::openai_generate(const call& c, fault f) {
  const auto api = api_kind::openai;
  auto body = parse_object(c.body);
  if (!body.is_object())
    return bad_request(api, "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                            "using your HTTP library correctly.)");
  if (!body.has_string_field("prompt") || body.at("prompt").as_string().empty())
    return bad_request(api, "Missing required parameter: 'prompt'.", "prompt");
  int n = 1;
  if (body.has_field("n") && !body.at("n").is_null()) {
    const auto& v = body.at("n");
    if (!v.is_integer() || v.as_integer() < 1 || v.as_integer() > 10)
      return bad_request(api, "Invalid 'n': must be an integer between 1 and 10.", "n");
    n = v.as_integer();
  }
  const std::string model = body.has_string_field("model") ? body.at("model").as_string() : "dall-e-2";
  // The real API answers 400 to a model it does not serve: a misconfigured model id is a request error.
  if (model.rfind("dall-e-", 0) != 0 && model.rfind("gpt-image-", 0) != 0)
    return bad_request(api, "Invalid value: '" + model + "'. Supported values are: 'gpt-image-1', 'dall-e-2' and 'dall-e-3'.",
                       "model");
  const bool gpt_image = model.rfind("gpt-image", 0) == 0;
  if (f == fault::content_policy)
    return openai_content_policy(gpt_image);
  // dall-e answers `url` unless asked for b64_json; a data URL keeps the fake self-contained.
  const bool as_url = !gpt_image && body.has_string_field("response_format") &&
                      body.at("response_format").as_string() == "url";
  const auto prompt = body.at("prompt").as_string();
  // --image-bytes: images of a realistic size, in proportion to the pixels asked for ("1536x1024": 1.5 times)
  std::size_t bytes = 0;
  if (image_bytes_ > 0) {
    long w = 1024, h = 1024;
    if (body.has_string_field("size"))
      std::sscanf(body.at("size").as_string().c_str(), "%ldx%ld", &w, &h);
    bytes = static_cast<std::size_t>(static_cast<double>(image_bytes_) * static_cast<double>(w * h) / (1024.0 * 1024.0));
  }
  value data = value::array();
  if (f != fault::empty_data) {
    for (int i = 0; i < n; ++i) {
      const auto seed = prompt_seed(prompt) + static_cast<std::uint32_t>(i);
      auto png = bytes > 0 ? providers::padded_png_base64(seed, bytes) : providers::solid_png_base64(seed);
      value item = value::object();
      if (as_url)
        item["url"] = value::string("data:image/png;base64," + png);
      else
        item["b64_json"] = value::string(std::move(png));
      data[static_cast<std::size_t>(i)] = item;
    }
    counters(api).images += static_cast<std::uint64_t>(n);
  }
  value out = value::object();
  out["created"] = value::number(static_cast<int64_t>(std::time(nullptr)));
  out["data"] = data;
  if (model.rfind("dall-e", 0) != 0) { // usage is reported by the GPT-image models only
    const int input_tokens = 1 + static_cast<int>(prompt.size() / 4), output_tokens = 272 * n;
    value details = value::object();
    details["text_tokens"] = value::number(input_tokens);
    details["image_tokens"] = value::number(0);
    value usage = value::object();
    usage["input_tokens"] = value::number(input_tokens);
    usage["output_tokens"] = value::number(output_tokens);
    usage["total_tokens"] = value::number(input_tokens + output_tokens);
    usage["input_tokens_details"] = details;
    out["usage"] = usage;
  }
  return {200, out.serialize(), "application/json", {}};
}

answer provider_fake::imagen_predict(const call& c, fault f) {
  const auto api = api_kind::imagen;
  auto body = parse_object(c.body);
  if (!body.is_object())
    return bad_request(api, "Invalid JSON payload received. Unexpected token.");
  if (!body.has_array_field("instances") || body.at("instances").as_array().size() == 0)
    return bad_request(api, "* PredictRequest.instances: instances is required and must not be empty.");
  const auto& instance = body.at("instances").as_array().at(0);
  if (!instance.is_object() || !instance.has_string_field("prompt") || instance.at("prompt").as_string().empty())
    return bad_request(api, "* PredictRequest.instances[0].prompt: a prompt is required.");
  int count = 4; // Imagen's documented default sampleCount
  if (body.has_object_field("parameters") && body.at("parameters").has_field("sampleCount")) {
    const auto& v = body.at("parameters").at("sampleCount");
    if (!v.is_integer() || v.as_integer() < 1 || v.as_integer() > 4)
      return bad_request(api, "sampleCount must be between 1 and 4.");
    count = v.as_integer();
  }
  if (f == fault::content_policy)
    return imagen_content_policy();
  value predictions = value::array();
  if (f != fault::empty_data) {
    const auto seed = prompt_seed(instance.at("prompt").as_string());
    for (int i = 0; i < count; ++i) {
      value p = value::object();
      p["bytesBase64Encoded"] = value::string(providers::solid_png_base64(seed + static_cast<std::uint32_t>(i)));
      p["mimeType"] = value::string("image/png");
      predictions[static_cast<std::size_t>(i)] = p;
    }
    counters(api).images += static_cast<std::uint64_t>(count);
  }
  value out = value::object();
  out["predictions"] = predictions;
  return {200, out.serialize(), "application/json; charset=UTF-8", {}};
}

} // namespace cutover::fake
