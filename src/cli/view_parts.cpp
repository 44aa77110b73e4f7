#include "cli/view_parts.hpp"

#include <fmt/format.h>

#include "cli/views.hpp"

namespace claud::cli {

using google::protobuf::Value;

Value null_value() {
  Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}

Value number_or_null(bool present, double number) {
  if (!present)
    return null_value();
  Value v;
  v.set_number_value(number);
  return v;
}

Value string_or_null(const std::string& text) {
  if (text.empty())
    return null_value();
  Value v;
  v.set_string_value(text);
  return v;
}

Value time_or_null(int64_t ms) {
  return string_or_null(ms == 0 ? std::string{} : format_time_ms(ms));
}

std::string exit_text(bool has_exit_code, int32_t exit_code, int32_t term_signal) {
  if (has_exit_code)
    return std::to_string(exit_code);
  if (term_signal != 0)
    return fmt::format("sig{}", term_signal);
  return "-";
}

std::string exit_text(const pb::Job& job) {
  return exit_text(job.has_exit_code(), job.exit_code(), job.term_signal());
}

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

} // namespace claud::cli
