/// Routing, keys, fault draws, the call log and the counters of the fake providers.

#include "tools/fake_provider/fake.hpp"

#include <cpprest/json.h>

namespace cutover::fake {

namespace {

using web::json::value;

/// The call log stops growing here (a long benchmark); stats keep counting.
constexpr std::size_t max_calls_logged = 1000000;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

/// "name:verb" -> {name, verb}
std::pair<std::string, std::string> split_verb(const std::string& segment) {
  auto colon = segment.rfind(':');
  if (colon == std::string::npos)
    return {segment, {}};
  return {segment.substr(0, colon), segment.substr(colon + 1)};
}

std::string bearer(const std::string& header, const char* scheme) {
  const std::string prefix = std::string(scheme) + " ";
  return starts_with(header, prefix.c_str()) ? header.substr(prefix.size()) : std::string{};
}

} // namespace

provider_fake::provider_fake(fake_options opts)
  : api_key_(std::move(opts.api_key)), default_seed_(opts.seed), faults_(std::move(opts.faults)),
    rng_(faults_.seed.value_or(default_seed_)) {
  image_bytes_ = opts.image_bytes;
}

void provider_fake::set_base_url(std::string url) {
  std::lock_guard<std::mutex> lock{mu_};
  base_url_ = std::move(url);
}

provider_fake::route provider_fake::match(const std::string& method, const std::string& path) {
  using api = api_kind;
  const auto p = split_path(path);
  const bool post = method == "POST", get = method == "GET";
  route r;
  if (starts_with(path, "/v1/images/")) {
    r.api = api::openai;
    if (post && p.size() == 3 && p[2] == "generations")
      r.what = op::openai_generate;
  } else if (starts_with(path, "/v1/predictions") || starts_with(path, "/v1/models/")) {
    r.api = api::replicate;
    if (post && p.size() == 2 && p[1] == "predictions")
      r.what = op::replicate_create;
    else if (post && p.size() == 5 && p[1] == "models" && p[4] == "predictions")
      r = {api::replicate, op::replicate_create, p[2] + "/" + p[3]};
    else if (get && p.size() == 3 && p[1] == "predictions")
      r = {api::replicate, op::replicate_get, p[2]};
    else if (post && p.size() == 4 && p[1] == "predictions" && p[3] == "cancel")
      r = {api::replicate, op::replicate_cancel, p[2]};
  } else if (starts_with(path, "/v1beta/models/") && p.size() == 3) {
    auto [model, verb] = split_verb(p[2]);
    r.api = verb == "batchGenerateContent" ? api::gemini_batch : api::imagen;
    if (post && verb == "predict")
      r = {api::imagen, op::imagen_predict, model};
    else if (post && verb == "batchGenerateContent")
      r = {api::gemini_batch, op::batch_create, model};
  } else if (starts_with(path, "/v1beta/batches/") && p.size() == 3) {
    auto [id, verb] = split_verb(p[2]);
    r.api = api::gemini_batch;
    if (get && verb.empty())
      r = {api::gemini_batch, op::batch_get, id};
    else if (post && verb == "cancel")
      r = {api::gemini_batch, op::batch_cancel, id};
    else if (method == "DELETE" && verb.empty())
      r = {api::gemini_batch, op::batch_delete, id};
  }
  return r;
}

bool provider_fake::authorized(api_kind api, const call& c) const {
  switch (api) {
  case api_kind::openai: return bearer(c.authorization, "Bearer") == api_key_;
  case api_kind::replicate:
    return bearer(c.authorization, "Bearer") == api_key_ || bearer(c.authorization, "Token") == api_key_;
  default: return c.goog_api_key == api_key_;
  }
}

planned provider_fake::handle(const call& c) {
  const auto r = match(c.method, c.path);
  std::lock_guard<std::mutex> lock{mu_};
  const auto& s = faults_.of(r.api);
  planned out;
  out.delay = rng_.draw_latency(s.latency);
  fault_draw d;
  if (r.what == op::none) {
    out.reply = not_found(r.api, "No route " + c.method + " " + c.path + " in the fake provider.");
  } else if (!authorized(r.api, c)) {
    out.reply = auth_error(r.api);
  } else {
    d = rng_.draw_fault(s);
    switch (d.kind) {
    case fault::hang:
      out.hang = true;
      out.hang_for = s.hang_for;
      out.reply = status_error(r.api, 503, s.retry_after_s); // sent when the hang is let go
      break;
    case fault::error: out.reply = status_error(r.api, d.status, s.retry_after_s); break;
    case fault::quota:
      // Quota is refused when work is asked for, not on polls.
      if (r.what == op::openai_generate || r.what == op::imagen_predict || r.what == op::replicate_create ||
          r.what == op::batch_create) {
        out.reply = quota_error(r.api, s.retry_after_s);
        break;
      }
      d.kind = fault::none;
      [[fallthrough]];
    default:
      out.reply = run(r, c, d.kind, s);
      if (d.kind == fault::malformed && out.reply.status < 300)
        make_malformed(out.reply);
    }
  }
  if (d.kind != fault::none)
    ++faults_injected_[d.kind];
  record(c, r.api, out.hang ? 0 : out.reply.status, d.kind);
  return out;
}

answer provider_fake::run(const route& r, const call& c, fault f, const fault_settings& s) {
  switch (r.what) {
  case op::openai_generate: return openai_generate(c, f);
  case op::imagen_predict: return imagen_predict(c, f);
  case op::replicate_create: return replicate_create(r, c, f, s);
  case op::replicate_get: return replicate_poll(r, false);
  case op::replicate_cancel: return replicate_poll(r, true);
  case op::batch_create: return batch_create(r, c, s);
  case op::batch_get:
  case op::batch_cancel:
  case op::batch_delete: return batch_poll(r, r.what);
  case op::none: break;
  }
  return not_found(r.api, "No route.");
}

provider_fake::api_counters& provider_fake::counters(api_kind api) {
  return counters_[static_cast<std::size_t>(api)];
}

namespace {
/// The request's `user` (OpenAI), else its first prompt (Replicate input, Imagen instance); empty when none.
std::string request_key(const call& c) {
  if (c.body.empty())
    return {};
  std::error_code ec;
  auto v = web::json::value::parse(c.body, ec);
  if (ec || !v.is_object())
    return {};
  auto text = [](const web::json::value& o, const char* k) {
    return o.is_object() && o.has_field(k) && o.at(k).is_string() ? o.at(k).as_string() : std::string{};
  };
  if (auto user = text(v, "user"); !user.empty())
    return user;
  if (v.has_field("input"))
    return text(v.at("input"), "prompt");
  if (v.has_field("instances") && v.at("instances").is_array() && v.at("instances").size() > 0)
    return text(v.at("instances").at(0), "prompt");
  return {};
}
} // namespace

void provider_fake::wait_for_calls(std::uint64_t since, std::chrono::milliseconds limit) const {
  std::unique_lock<std::mutex> lock{mu_};
  call_logged_.wait_for(lock, limit, [&] { return seq_ > since; });
}

void provider_fake::record(const call& c, api_kind api, int status, fault f) {
  ++seq_;
  call_logged_.notify_all();
  auto& k = counters(api);
  ++k.calls;
  ++k.by_status[status];
  if (calls_.size() >= max_calls_logged) {
    ++calls_dropped_;
    return;
  }
  const auto at = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  calls_.push_back({seq_, static_cast<long long>(at.count()), c.method, c.path, api, status, f, request_key(c)});
}

std::string provider_fake::next_id() {
  // splitmix64 of a counter that survives resets: ids never repeat within a run, and look like real ones.
  std::uint64_t z = ++id_counter_ * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id;
  for (int i = 0; i < 12; ++i, z /= 36)
    id += alphabet[z % 36];
  return id + std::to_string(id_counter_);
}

std::string provider_fake::set_faults(const std::string& json) {
  fault_config cfg;
  auto err = parse_faults(json, cfg);
  if (!err.empty())
    return err;
  std::lock_guard<std::mutex> lock{mu_};
  faults_ = std::move(cfg);
  rng_.reseed(faults_.seed.value_or(default_seed_));
  return {};
}

void provider_fake::reset() {
  std::lock_guard<std::mutex> lock{mu_};
  calls_.clear();
  predictions_.clear();
  batches_.clear();
  counters_ = {};
  faults_injected_.clear();
  seq_ = calls_dropped_ = batch_items_ = 0;
  rng_.reseed(faults_.seed.value_or(default_seed_));
}

std::string provider_fake::calls_json(std::uint64_t since) const {
  std::lock_guard<std::mutex> lock{mu_};
  std::string out = "[";
  for (const auto& r : calls_) {
    if (r.seq <= since)
      continue;
    value v = value::object();
    v["seq"] = value::number(r.seq);
    v["at_ms"] = value::number(static_cast<int64_t>(r.at_ms));
    v["method"] = value::string(r.method);
    v["path"] = value::string(r.path);
    v["api"] = value::string(to_string(r.api));
    v["status"] = value::number(r.status);
    v["fault"] = value::string(to_string(r.f));
    v["key"] = value::string(r.key);
    if (out.size() > 1)
      out += ',';
    out += v.serialize();
  }
  return out + "]";
}

std::string provider_fake::stats_json() const {
  std::lock_guard<std::mutex> lock{mu_};
  value by_api = value::object(), jobs = value::object(), injected = value::object();
  std::uint64_t jobs_total = 0;
  for (std::size_t i = 0; i <= api_count; ++i) {
    const auto& k = counters_[i];
    const auto name = to_string(static_cast<api_kind>(i));
    if (i == api_count && k.calls == 0)
      continue;
    value statuses = value::object();
    for (const auto& [status, n] : k.by_status)
      statuses[std::to_string(status)] = value::number(n);
    value a = value::object();
    a["calls"] = value::number(k.calls);
    a["by_status"] = statuses;
    a["images"] = value::number(k.images);
    a["jobs_created"] = value::number(k.jobs_created);
    by_api[name] = a;
    if (i == static_cast<std::size_t>(api_kind::replicate) || i == static_cast<std::size_t>(api_kind::gemini_batch))
      jobs[name] = value::number(k.jobs_created);
    jobs_total += k.jobs_created;
  }
  jobs["total"] = value::number(jobs_total);
  for (const auto& [f, n] : faults_injected_)
    injected[to_string(f)] = value::number(n);
  value out = value::object();
  out["calls"] = value::number(seq_);
  out["calls_dropped"] = value::number(calls_dropped_);
  out["by_api"] = by_api;
  out["jobs_created"] = jobs;
  out["batch_items_created"] = value::number(batch_items_);
  out["faults_injected"] = injected;
  return out.serialize();
}

} // namespace cutover::fake
