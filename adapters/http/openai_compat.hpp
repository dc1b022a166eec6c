#pragma once
/// The OpenAI-compatible endpoint (`POST /v1/images/generations`): an OpenAI Images request becomes a job, and the
/// finished job becomes OpenAI's answer, so a client of OpenAI's API can point at cutover unchanged.

#include "adapters/http/job_request.hpp"
#include "core/job.hpp"

#include <string>
#include <variant>

namespace cutover::http {

/// OpenAI's request as a job: `prompt` (required), `n` 1..4, `size` (a side of 1536 or more: tier 4k),
/// `quality` (high or hd: tier hd, else sd), `user` (the sticky-routing user; "anonymous" when absent).
/// `model`, `response_format`, `output_format`, `style` and `background` are accepted and ignored.
std::variant<parsed_job, request_error> parse_openai_request(const std::string& body);

/// `{"error":{"message","type","param","code"}}` as OpenAI sends it.
std::string openai_error_json(const std::string& message, const std::string& type, const std::string& param,
                              const std::string& code);

/// The finished job as OpenAI's 200 answer: `{created, data:[{b64_json}|{url}]}`.
std::string openai_images_json(const core::job_record& job);

} // namespace cutover::http
