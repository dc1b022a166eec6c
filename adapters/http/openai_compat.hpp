#pragma once
/// The OpenAI-compatible endpoint (`POST /v1/images/generations`): an OpenAI Images request becomes a job, and the
/// finished job becomes OpenAI's answer, so a client of OpenAI's API can point at cutover unchanged.

#include "adapters/http/job_request.hpp"
#include "core/job.hpp"

#include <string>
#include <variant>

namespace cutover::http {

/// OpenAI's request as a job: `prompt` (required), `n` 1..4, `size` (a side of 1536 or more: tier 4k),
/// `quality` (high or hd: tier hd, else sd), `user` (the sticky-routing user; `user_when_absent` when the request
/// names none), `response_format` (`b64_json`, the default; `url` needs an image store and is refused for now).
/// `model`, `output_format`, `style` and `background` are accepted and ignored.
/// The body hash is the SHA-256 of the parsed fields (prompt, n, size, quality, user as sent, model,
/// response_format), so field order and whitespace do not change it, nor does an explicit `n: 1` or
/// `response_format: b64_json` (the defaults this server applies). `size`, `quality` and `model` count as sent: their
/// defaults are the provider model's, which this server does not decide. The routing user given for an absent
/// `user` is not part of it (a retry must find its first request).
std::variant<parsed_job, request_error> parse_openai_request(const std::string& body,
                                                             const std::string& user_when_absent);

/// `{"error":{"message","type","param","code"}}` as OpenAI sends it.
std::string openai_error_json(const std::string& message, const std::string& type, const std::string& param,
                              const std::string& code);

/// The finished job as OpenAI's 200 answer: `{created, provider, data:[{b64_json}|{url}]}`; `provider` names the
/// provider that served it. Stored images come as `b64_json` read from their files (`b64`, OpenAI's default) or as
/// signed URLs; values from before the image store as they are.
struct image_access;
std::string openai_images_json(const core::job_record& job, const image_access* images = nullptr,
                               bool b64 = true);

} // namespace cutover::http
