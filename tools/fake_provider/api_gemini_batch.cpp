/// Gemini Batch Mode with inline requests: create (Operation, BATCH_STATE_PENDING), get (RUNNING for N polls,
/// then SUCCEEDED or FAILED), cancel, delete. Results come in input order under both `metadata.output` and
/// `response`, as providers.md asks. Counts in batchStats are strings: they are int64 in proto3 JSON.

#include "adapters/providers/png.hpp"
#include "tools/fake_provider/fake.hpp"
#include "tools/fake_provider/util.hpp"

namespace cutover::fake {

using web::json::value;

namespace {

value item_json(const provider_fake::batch_item& item, const std::string& model) {
  using ending = provider_fake::ending;
  value out = value::object();
  value meta = value::object();
  meta["key"] = value::string(item.key);
  out["metadata"] = meta;
  if (item.end == ending::fail) {
    value err = value::object();
    err["code"] = value::number(13);
    err["message"] = value::string("Internal error encountered.");
    err["status"] = value::string("INTERNAL");
    out["error"] = err;
    return out;
  }
  value candidate = value::object();
  candidate["index"] = value::number(0);
  if (item.end == ending::blocked) {
    candidate["finishReason"] = value::string("IMAGE_SAFETY");
  } else {
    value part = value::object();
    if (item.end == ending::succeed) {
      value inline_data = value::object();
      inline_data["mimeType"] = value::string("image/png");
      inline_data["data"] = value::string(providers::solid_png_base64(item.seed));
      part["inlineData"] = inline_data;
    } else {
      part["text"] = value::string("I could not generate an image for this request.");
    }
    value content = value::object();
    content["parts"] = value::array({part});
    content["role"] = value::string("model");
    candidate["content"] = content;
    candidate["finishReason"] = value::string("STOP");
  }
  value response = value::object();
  response["candidates"] = value::array({candidate});
  response["modelVersion"] = value::string(model);
  out["response"] = response;
  return out;
}

} // namespace

answer provider_fake::batch_create(const route& r, const call& c, const fault_settings& s) {
  const auto api = api_kind::gemini_batch;
  auto body = parse_object(c.body);
  const auto spec = field(body, {"batch"});
  const auto input = field(spec, {"inputConfig", "input_config"});
  if (!input.is_object())
    return bad_request(api, "* BatchGenerateContentRequest.batch.input_config: input_config is required.");
  if (input.has_field("fileName") || input.has_field("file_name"))
    return bad_request(api, "The fake provider supports inline requests only (inputConfig.requests).");
  const auto requests = field(field(input, {"requests"}), {"requests"});
  if (!requests.is_array() || requests.as_array().size() == 0)
    return bad_request(api, "* BatchGenerateContentRequest.batch.input_config.requests.requests: must not be empty.");
  batch b;
  for (const auto& entry : requests.as_array()) {
    const auto request = field(entry, {"request"});
    const auto contents = field(request, {"contents"});
    if (!contents.is_array() || contents.as_array().size() == 0)
      return bad_request(api, "* GenerateContentRequest.contents: contents is not specified");
    batch_item item;
    const auto key = field(field(entry, {"metadata"}), {"key"});
    item.key = key.is_string() ? key.as_string() : "";
    std::string text = item.key;
    const auto parts = field(contents.as_array().at(0), {"parts"});
    if (parts.is_array() && parts.as_array().size() > 0 && field(parts.as_array().at(0), {"text"}).is_string())
      text = parts.as_array().at(0).at("text").as_string();
    item.seed = prompt_seed(text);
    b.items.push_back(std::move(item));
  }
  // Each item's ending is drawn now, in input order: error, blocked, no image, or an image.
  for (auto& item : b.items) {
    double u = rng_.uniform();
    if ((u -= s.item_error_rate) < 0)
      item.end = ending::fail;
    else if ((u -= s.content_policy_rate) < 0)
      item.end = ending::blocked;
    else if ((u -= s.empty_data_rate) < 0)
      item.end = ending::empty;
  }
  b.fail = rng_.uniform() < s.async_failure_rate;
  b.expire = !b.fail && s.async_expire_rate > 0 && rng_.uniform() < s.async_expire_rate; // no draw when unset
  b.id = next_id();
  b.model = "models/" + r.arg;
  const auto name = field(spec, {"displayName", "display_name"});
  b.display_name = name.is_string() ? name.as_string() : b.id;
  b.create_time = b.update_time = rfc3339_now();
  b.polls_before_done = s.async_polls_before_done;
  b.polls_queued = s.async_polls_queued;
  ++counters(api).jobs_created;
  batch_items_ += b.items.size();
  auto& stored = batches_[b.id] = std::move(b);
  return {200, operation_json(stored), "application/json; charset=UTF-8", {}};
}

answer provider_fake::batch_poll(const route& r, op what) {
  auto it = batches_.find(r.arg);
  if (it == batches_.end())
    return not_found(api_kind::gemini_batch, "Requested entity was not found.");
  auto& b = it->second;
  const bool done = !b.end_time.empty();
  if (what == op::batch_delete) {
    batches_.erase(it);
    return {200, "{}", "application/json; charset=UTF-8", {}};
  }
  if (what == op::batch_cancel) {
    if (!done) {
      b.state = "BATCH_STATE_CANCELLED";
      b.update_time = b.end_time = rfc3339_now();
    }
    return {200, "{}", "application/json; charset=UTF-8", {}};
  }
  if (!done)
    advance(b);
  return {200, operation_json(b), "application/json; charset=UTF-8", {}};
}

void provider_fake::advance(batch& b) {
  b.update_time = rfc3339_now();
  if (++b.polls <= b.polls_queued)
    return; // still BATCH_STATE_PENDING
  if (b.polls <= b.polls_queued + b.polls_before_done) {
    b.state = "BATCH_STATE_RUNNING";
    return;
  }
  b.end_time = b.update_time;
  b.state = b.fail ? "BATCH_STATE_FAILED" : b.expire ? "BATCH_STATE_EXPIRED" : "BATCH_STATE_SUCCEEDED";
  if (!b.fail && !b.expire)
    for (const auto& item : b.items)
      if (item.end == ending::succeed)
        ++counters(api_kind::gemini_batch).images;
}

std::string provider_fake::operation_json(const batch& b) const {
  const bool done = !b.end_time.empty(), succeeded = b.state == "BATCH_STATE_SUCCEEDED";
  std::size_t failed = 0;
  for (const auto& item : b.items)
    failed += item.end == ending::fail ? 1 : 0;
  value stats = value::object();
  stats["requestCount"] = value::string(std::to_string(b.items.size()));
  if (!done)
    stats["pendingRequestCount"] = value::string(std::to_string(b.items.size()));
  if (succeeded) {
    stats["successfulRequestCount"] = value::string(std::to_string(b.items.size() - failed));
    if (failed > 0)
      stats["failedRequestCount"] = value::string(std::to_string(failed));
  }
  value meta = value::object();
  meta["@type"] = value::string("type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch");
  meta["model"] = value::string(b.model);
  meta["displayName"] = value::string(b.display_name);
  meta["name"] = value::string("batches/" + b.id);
  meta["createTime"] = value::string(b.create_time);
  meta["updateTime"] = value::string(b.update_time);
  if (done)
    meta["endTime"] = value::string(b.end_time);
  meta["batchStats"] = stats;
  meta["state"] = value::string(b.state);
  value op = value::object();
  op["name"] = value::string("batches/" + b.id);
  if (succeeded) {
    value items = value::array();
    for (std::size_t i = 0; i < b.items.size(); ++i)
      items[i] = item_json(b.items[i], b.model);
    value inlined = value::object();
    inlined["inlinedResponses"] = items;
    value output = value::object();
    output["inlinedResponses"] = inlined;
    meta["output"] = output;
    output["@type"] = value::string("type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput");
    op["response"] = output;
  }
  op["metadata"] = meta;
  if (done)
    op["done"] = value::boolean(true);
  if (b.state == "BATCH_STATE_FAILED") {
    value err = value::object();
    err["code"] = value::number(13);
    err["message"] = value::string("Batch failed: internal error (injected fault).");
    err["status"] = value::string("INTERNAL");
    op["error"] = err;
  }
  return op.serialize();
}

} // namespace cutover::fake
