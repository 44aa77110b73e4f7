#include "cli/event_views.hpp"

#include <fmt/format.h>

#include "cli/view_parts.hpp"
#include "cli/views.hpp"
#include "log/printable.hpp"
#include "state/events.hpp"
#include "state/job_states.hpp"

namespace claud::cli {

namespace {

bool is_job_event(const pb::Event& event) {
  return !event.job_id().empty();
}

/// What follows the kind on a line of `claud events`.
std::string details(const pb::Event& event) {
  if (event.kind() == pb::EVENT_LEADER_CHANGED)
    return fmt::format("{} leads, term {}", event.leader(), event.term());
  if (event.kind() == pb::EVENT_MASTERS_CHANGED)
    return event.reason();
  if (state::is_node_event(event.kind()))
    return fmt::format("{} {}{}{}", event.node_id(), state::node_state_name(event.node_state()),
                       event.draining() ? " draining" : "",
                       event.reason().empty() ? "" : ": " + event.reason());
  if (event.kind() == pb::EVENT_JOB_NOT_FOUND)
    return event.job_id();
  std::string out = fmt::format("{} {} {}", event.job_id(), log::printable(event.job_name()),
                                state::job_state_name(event.state()));
  if (!event.node_id().empty())
    out += " on " + event.node_id();
  if (event.attempt() > 1)
    out += fmt::format(" attempt {}", event.attempt());
  if (event.has_exit_code() || event.term_signal() != 0)
    out += " exit " + exit_text(event.has_exit_code(), event.exit_code(), event.term_signal());
  if (!event.reason().empty())
    out += ": " + event.reason();
  return out;
}

} // namespace

pb::view::Event to_view(const pb::Event& event) {
  pb::view::Event v;
  v.set_index(static_cast<double>(event.index()));
  *v.mutable_time() = time_or_null(event.time_ms());
  v.set_kind(state::event_kind_name(event.kind()));
  const bool job = is_job_event(event) && event.kind() != pb::EVENT_JOB_NOT_FOUND;
  *v.mutable_job() = string_or_null(event.job_id());
  *v.mutable_name() = job ? string_or_null(log::printable(event.job_name())) : null_value();
  *v.mutable_state() = job ? string_or_null(state::job_state_name(event.state())) : null_value();
  v.set_attempt(event.attempt());
  *v.mutable_node() = string_or_null(event.node_id());
  *v.mutable_exit_code() = number_or_null(event.has_exit_code(), event.exit_code());
  *v.mutable_signal() = number_or_null(event.term_signal() != 0, event.term_signal());
  *v.mutable_reason() = string_or_null(event.reason());
  *v.mutable_node_state() = state::is_node_event(event.kind())
                                ? string_or_null(state::node_state_name(event.node_state()))
                                : null_value();
  v.set_draining(event.draining());
  v.set_term(static_cast<double>(event.term()));
  *v.mutable_leader() = string_or_null(event.leader());
  return v;
}

void print_event_batch(std::ostream& out, const pb::EventBatch& batch, bool json) {
  if (batch.missed_from() != 0) {
    if (json) {
      // From an empty event, so that it has every key of the schema (null where it does not
      // apply) like every other line: an unset Value would leave its key out.
      auto notice = to_view(pb::Event{});
      notice.set_index(static_cast<double>(batch.index()));
      notice.set_kind("missed");
      notice.set_missed_from(static_cast<double>(batch.missed_from()));
      out << to_json(notice) << "\n";
    } else {
      out << fmt::format("-- missed the events from index {}: the states as of index {} follow\n",
                         batch.missed_from(), batch.index());
    }
  }
  for (const auto& event : batch.events()) {
    if (json)
      out << to_json(to_view(event)) << "\n";
    else
      out << fmt::format("{:>8} {:<24} {:<18} {}\n", event.index(),
                         event.time_ms() == 0 ? "-" : format_time_ms(event.time_ms()),
                         state::event_kind_name(event.kind()), details(event));
  }
  out.flush();
}

} // namespace claud::cli
