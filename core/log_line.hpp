#pragma once
/// One line of the engine's log (key=value events on stderr), written with a single call when the line is done:
/// actors log from several threads, and a line built by many `<<` on std::cerr interleaves with theirs.

#include <cstdio>
#include <sstream>

namespace cutover::core {

class log_line {
public:
  log_line() = default;
  log_line(const log_line&) = delete;
  log_line& operator=(const log_line&) = delete;
  ~log_line() {
    out_ << '\n';
    const auto text = out_.str();
    std::fwrite(text.data(), 1, text.size(), stderr); // stdio locks the stream for the whole call
    std::fflush(stderr);
  }
  template <class T>
  log_line& operator<<(const T& value) {
    out_ << value;
    return *this;
  }

private:
  std::ostringstream out_;
};

} // namespace cutover::core
