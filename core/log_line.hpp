#pragma once
/// One line of the engine's log (`key=value` events on stderr, or JSON lines with `log.format: json`), handed to the
/// process's one log sink whole when the line is done: actors log from several threads, and a line built by many
/// `<<` on std::cerr interleaves with theirs. Rare events (start, reload, errors) are written at once; job events
/// (`log_line{log_line::buffered}`) wait in the sink's buffer until it fills, until the next rare event, or until
/// the owner of the process calls log_sink::flush() (serve does every few hundred milliseconds), so a busy engine
/// pays one write per many lines rather than one per line. Never log secrets or prompts.

#include "core/types.hpp"

#include <atomic>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

namespace cutover::core {

std::string_view to_string(log_format f);
bool parse_log_format(std::string_view text, log_format& out);

/// `key=value key="value with spaces"` as one JSON object (`{"key":"value",...}`): numbers stay numbers, a quoted
/// value is unescaped, and a word without `=` belongs to the value before it (values written by older lines).
std::string text_line_to_json(std::string_view line);

/// Where every log line of the process goes (stderr). Thread-safe.
class log_sink {
public:
  /// Buffered lines are written once the buffer holds this much.
  static constexpr std::size_t flush_bytes = 32 * 1024;

  static log_sink& instance();
  void set_format(log_format f) { format_.store(f, std::memory_order_relaxed); }
  log_format format() const { return format_.load(std::memory_order_relaxed); }
  /// Off in `cutover simulate`: days of virtual traffic would print millions of job lines.
  void set_job_events(bool on) { job_events_.store(on, std::memory_order_relaxed); }
  bool job_events() const { return job_events_.load(std::memory_order_relaxed); }
  /// While muted, lines are dropped: `cutover simulate` runs whole engines whose decision and ledger lines would
  /// break up its progress line and its own report on stderr.
  void set_muted(bool on) { muted_.store(on, std::memory_order_relaxed); }

  /// Takes one whole line (without its newline). `urgent`: written now, after whatever was buffered before it.
  void write(std::string_view line, bool urgent);
  /// Writes what is buffered.
  void flush();
  ~log_sink();

private:
  void write_out(); ///< with mutex_ held
  std::mutex mutex_;
  std::string buffer_;
  std::atomic<log_format> format_{log_format::text};
  std::atomic<bool> job_events_{true};
  std::atomic<bool> muted_{false};
};

/// Whether job event lines are wanted (checked before building one: simulate builds none).
inline bool log_jobs() { return log_sink::instance().job_events(); }

/// A value written as `"..."` (with `"` and `\` escaped) when it holds a space, a quote, an `=` or nothing; as it is
/// otherwise. Job lines quote every free text this way, so the JSON form gets it back exactly.
struct quoted {
  std::string_view text;
};
std::ostream& operator<<(std::ostream& out, const quoted& q);

class log_line {
public:
  enum mode { urgent, buffered };
  explicit log_line(mode m = urgent) : mode_(m) {}
  log_line(const log_line&) = delete;
  log_line& operator=(const log_line&) = delete;
  ~log_line() { log_sink::instance().write(out_.str(), mode_ == urgent); }
  template <class T>
  log_line& operator<<(const T& value) {
    out_ << value;
    return *this;
  }

private:
  std::ostringstream out_;
  mode mode_;
};

} // namespace cutover::core
