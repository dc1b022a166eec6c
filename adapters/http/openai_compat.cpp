#include "adapters/http/openai_compat.hpp"

#include "adapters/http/json_out.hpp"
#include "adapters/http/image_access.hpp"
#include "adapters/images/image_files.hpp"
#include "core/images.hpp"

#include <cpprest/json.h>

#include <optional>
#include <set>

namespace cutover::http {

namespace {
const std::set<std::string> accepted_fields{"prompt",        "n",     "size",  "quality",   "user", "model",
                                            "response_format", "output_format", "style", "background", "moderation"};
/// SHA-256 in hex over the fields, each length-prefixed (so no field can run into the next).
std::string fingerprint(std::initializer_list<std::string_view> fields) {
  std::string canonical;
  for (const auto f : fields)
    canonical.append(std::to_string(f.size())).append(":").append(f);
  return images::sha256_hex(canonical);
}
} // namespace

std::variant<parsed_job, request_error> parse_openai_request(const std::string& body,
                                                             const std::string& user_when_absent) {
  std::error_code ec;
  auto doc = web::json::value::parse(body, ec);
  if (ec || !doc.is_object())
    return request_error{400, "invalid_json", "We could not parse the JSON body of your request.", ""};
  const auto& obj = doc.as_object();
  for (const auto& kv : obj)
    if (accepted_fields.count(kv.first) == 0)
      return request_error{400, "unknown_parameter", "Unrecognized request argument supplied: " + kv.first, kv.first};
  auto text = [&](const char* k) -> std::optional<std::string> {
    auto it = obj.find(k);
    if (it == obj.end() || it->second.is_null())
      return std::string{};
    if (!it->second.is_string())
      return std::nullopt;
    return it->second.as_string();
  };
  parsed_job out;
  auto& spec = out.spec;
  auto prompt = text("prompt");
  if (!prompt || prompt->empty())
    return request_error{400, "invalid_value", "prompt is required and must be a non-empty string", "prompt"};
  if (prompt->size() > limits::prompt_max)
    return request_error{400, "invalid_value", "prompt is too long", "prompt"};
  spec.prompt = *prompt;
  if (auto it = obj.find("n"); it != obj.end() && !it->second.is_null()) {
    if (!it->second.is_number() || !it->second.as_number().is_int32() || it->second.as_number().to_int32() < 1 ||
        it->second.as_number().to_int32() > limits::n_max)
      return request_error{400, "invalid_value", "n must be an integer between 1 and 4", "n"};
    spec.n = it->second.as_number().to_int32();
  }
  auto size = text("size"), quality = text("quality"), user = text("user"), model = text("model"),
       format = text("response_format");
  if (!size || !quality || !user || !model || !format) {
    const char* field = !size ? "size" : !quality ? "quality" : !user ? "user" : !model ? "model" : "response_format";
    return request_error{400, "invalid_type", std::string(field) + " must be a string", field};
  }
  if (format->empty())
    *format = "b64_json";
  if (*format != "b64_json" && *format != "url")
    return request_error{400, "invalid_value", "response_format must be b64_json or url", "response_format"};
  spec.tier_ = core::tier::sd;
  if (*quality == "high" || *quality == "hd")
    spec.tier_ = core::tier::hd;
  if (size->find("1536") != std::string::npos || size->find("1792") != std::string::npos ||
      size->find("2048") != std::string::npos)
    spec.tier_ = core::tier::k4;
  spec.user_id = (user->empty() ? user_when_absent : *user).substr(0, limits::user_id_max);
  spec.endpoint = "/v1/images/generations";
  out.response_format = *format;
  out.body_hash = fingerprint({spec.prompt, std::to_string(spec.n), *size, *quality, *user, *model, *format});
  return out;
}

std::string openai_error_json(const std::string& message, const std::string& type, const std::string& param,
                              const std::string& code) {
  std::string out = "{\"error\":{\"message\":";
  append_json_string(out, message);
  out += ",\"type\":";
  append_json_string(out, type);
  out += ",\"param\":";
  if (param.empty())
    out += "null";
  else
    append_json_string(out, param);
  out += ",\"code\":";
  if (code.empty())
    out += "null";
  else
    append_json_string(out, code);
  out += "}}";
  return out;
}

std::string openai_images_json(const core::job_record& job, const image_access* images, bool b64) {
  std::string out = "{\"created\":" +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(job.updated_at.time_since_epoch()).count()) +
                    ",\"provider\":";
  append_json_string(out, job.provider);
  if (job.provider == core::cache_provider)
    out += ",\"cached\":true";
  out += ",\"data\":[";
  for (std::size_t i = 0; i < job.images.size(); ++i) {
    if (i > 0)
      out += ',';
    // b64_json is what the client asked for: a data: URL of base64 is that data
    const auto& image = job.images[i];
    if (images != nullptr && core::is_image_digest(image)) {
      images->append_image(out, image, b64);
      continue;
    }
    const auto comma = image.find(',');
    if (image.rfind("data:", 0) == 0 && comma != std::string::npos && image.rfind(";base64", comma) != std::string::npos) {
      out += "{\"b64_json\":";
      append_json_string(out, std::string_view(image).substr(comma + 1));
      out += '}';
    } else {
      append_image_json(out, image);
    }
  }
  out += "]}";
  return out;
}

} // namespace cutover::http
