// The blocking client's event stream, and the waits built on it.
#include <map>
#include <set>

#include "client/client_impl.hpp"
#include "state/job_states.hpp"

namespace claud {

bool client::impl::follow_events(uint64_t id, std::optional<uint64_t>& from,
                                 const event_handler& handler) {
  self->monitor(api);
  caf::actor hub;
  for (;;) {
    enum class outcome { more, stopped, lost } next = outcome::more;
    self->receive(
        [&](events_atom, uint64_t subscription, const event_batch_ref& ref) {
          // Of an earlier subscription, at a master given up on: the number alone does not tell,
          // since each master numbers its subscriptions from 1, and a master that was frozen past
          // event_silence sends on under its number when it resumes (the cluster actor checks
          // the master too).
          const auto& sender = self->current_sender();
          if (subscription != id || !ref.batch || !sender || sender->node() != api.node())
            return;
          const auto& batch = *ref.batch;
          if (!batch.ended().empty()) {
            next = outcome::lost;
            return;
          }
          hub = caf::actor_cast<caf::actor>(self->current_sender());
          self->send(hub, ack_atom::value, id, batch.index());
          // A snapshot counts once its last batch is in; a stream batch once the stream started.
          if (batch.snapshot() ? batch.snapshot_done() : from.has_value())
            from = batch.index();
          const bool keepalive = !batch.snapshot() && batch.events_size() == 0;
          if (!keepalive && !handler(batch))
            next = outcome::stopped;
        },
        [&](stop_events_atom) { next = outcome::stopped; },
        [&](caf::down_msg& down) {
          if (down.source == api.address())
            next = outcome::lost;
        },
        caf::after(options.event_silence) >> [&] { next = outcome::lost; });
    if (next == outcome::stopped && hub)
      self->send(hub, unsubscribe_atom::value, id);
    if (next != outcome::more)
      return next == outcome::lost;
  }
}

void client::events(const event_request& request, const event_handler& handler) {
  auto& d = *impl_;
  auto from = request.from;
  for (;;) {
    pb::Subscribe subscribe;
    *subscribe.mutable_filter() = request.filter;
    if (from)
      subscribe.set_from(*from);
    // Any master serves a subscription: the retries only move past masters that are gone.
    auto subscribed = d.request<pb::Subscribed>(d.options.attempt_timeout, events_atom::value,
                                                subscribe, caf::actor_cast<caf::actor>(d.self));
    if (!d.follow_events(subscribed.subscription(), from, handler))
      return;
    d.reconnect();
  }
}

void client::stop_events() {
  caf::anon_send(caf::actor_cast<caf::actor>(impl_->self), stop_events_atom::value);
}

pb::Job client::wait(const std::string& job_id) {
  return wait_all({job_id}).front();
}

std::vector<pb::Job> client::wait_all(const std::vector<std::string>& job_ids,
                                      const wait_observer& observer) {
  std::map<std::string, pb::Job> ended;
  // The latest state seen of every job waited for, and the counts of them the observer is told.
  std::map<std::string, pb::JobState> states;
  wait_progress progress;
  progress.total = job_ids.size();
  auto count = [&progress](pb::JobState job_state, bool add) {
    auto step = [add](size_t& n) { n = add ? n + 1 : n - 1; };
    if (state::is_terminal(job_state)) {
      step(progress.ended);
      if (job_state != pb::JOB_SUCCEEDED)
        step(progress.unsuccessful);
    }
    if (state::holds_resources(job_state))
      step(progress.running);
  };
  auto record = [&](const std::string& id, pb::JobState job_state) {
    auto& known = states[id]; // JOB_STATE_UNSPECIFIED when first seen: counted nowhere
    count(known, false);
    known = job_state;
    count(known, true);
  };
  for (size_t first = 0; first < job_ids.size(); first += max_jobs_per_wait) {
    const auto last = std::min(job_ids.size(), first + max_jobs_per_wait);
    std::set<std::string> unended{job_ids.begin() + static_cast<long>(first),
                                  job_ids.begin() + static_cast<long>(last)};
    event_request request;
    for (const auto& id : unended)
      request.filter.add_job_ids(id);
    std::vector<std::string> unknown; // to the master subscribed at, maybe behind the leader
    events(request, [&](const pb::EventBatch& batch) {
      for (const auto& event : batch.events()) {
        if (event.kind() == pb::EVENT_JOB_NOT_FOUND) {
          unknown.push_back(event.job_id());
          continue;
        }
        record(event.job_id(), event.state());
        if (event.kind() == pb::EVENT_JOB_ENDED
            || (event.kind() == pb::EVENT_JOB_STATE && state::is_terminal(event.state())))
          unended.erase(event.job_id());
      }
      if (batch.snapshot() && !batch.snapshot_done())
        return true;
      // Through the leader: a job it does not know either does not exist (not_found is thrown);
      // one it knows is this master's to apply, and its events follow in the stream.
      for (const auto& id : unknown) {
        const auto job_state = status(id).state();
        record(id, job_state);
        if (state::is_terminal(job_state))
          unended.erase(id);
      }
      unknown.clear();
      if (observer)
        observer(progress);
      return !unended.empty();
    });
    // Every one has ended: the leader answers a wait for them at once, with their records.
    pb::JobIds ids;
    for (size_t i = first; i < last; ++i)
      if (!ended.count(job_ids[i]))
        ids.add_ids(job_ids[i]);
    if (ids.ids_size() == 0)
      continue;
    auto records
        = impl_->request<pb::JobList>(impl_->options.wait_round_timeout, wait_atom::value, ids);
    for (auto& job : *records.mutable_jobs())
      ended[job.id()] = std::move(job);
  }
  std::vector<pb::Job> out;
  out.reserve(job_ids.size());
  for (const auto& id : job_ids)
    out.push_back(ended.at(id));
  return out;
}

} // namespace claud
