#include "cli/view_parts.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "cli/views.hpp"
#include "state/job_states.hpp"

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

std::string node_state_text(pb::NodeState state, bool draining) {
  if (state == pb::NODE_ALIVE && draining)
    return "drain";
  return state::node_state_name(state);
}

std::string heard_text(const pb::Node& node) {
  return node.has_heard_ms_ago() ? age_text(node.heard_ms_ago()) : "-";
}

std::string labels_text(const pb::Node& node) {
  std::map<std::string, std::string> sorted(node.labels().begin(), node.labels().end());
  std::string out;
  for (const auto& [key, value] : sorted)
    out += (out.empty() ? "" : ",") + key + "=" + value;
  return or_dash(out);
}

std::string age_text(int64_t ms) {
  if (ms < 10'000)
    return fmt::format("{:.1f}s", static_cast<double>(std::max<int64_t>(ms, 0)) / 1000.0);
  if (ms < 120'000)
    return fmt::format("{}s", ms / 1000);
  if (ms < 2 * 3'600'000)
    return fmt::format("{}m", ms / 60'000);
  if (ms < 2 * 86'400'000)
    return fmt::format("{}h", ms / 3'600'000);
  return fmt::format("{}d", ms / 86'400'000);
}

} // namespace claud::cli
