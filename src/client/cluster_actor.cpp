// The cluster actor (include/claud/cluster.hpp): requests relayed to a master's api with retries,
// and event subscriptions kept alive across masters.
//
// States of its connection: none -> connecting (one master after another, each bounded by
// connect_timeout) -> connected (the api is monitored; its loss goes back to none). Requests and
// subscriptions that need a master while none is connected wait for the connection.
#include "claud/cluster.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "client/request_retries.hpp"
#include "net/address.hpp"

namespace claud {

namespace {

using retry_atom = caf::atom_constant<caf::atom("retry")>;
using silence_atom = caf::atom_constant<caf::atom("silence")>;

struct subscription {
  pb::EventFilter filter;
  caf::actor subscriber;
  std::optional<uint64_t> from; // the last index fully delivered
  uint64_t remote = 0;          // the master's number for it; 0 while (re)subscribing
  caf::node_id master;          // the node serving it
  caf::actor hub;               // where its batches come from, acknowledgements go
  std::chrono::steady_clock::time_point last_heard;
  std::shared_ptr<request_retries> retries; // of the current attempt to subscribe
};

struct cluster_actor_state {
  cluster_options options;
  std::vector<net::host_port> masters;
  size_t next_master = 0;
  caf::actor api;
  bool connecting = false;
  std::vector<std::function<void(const caf::actor&)>> waiting; // for a connection
  std::map<uint64_t, std::function<void()>> retries;           // after their backoff
  uint64_t next_retry = 0;
  std::map<uint64_t, subscription> subscriptions; // by the number its subscriber knows
  uint64_t next_subscription = 0;
  static inline const char* name = "claud_cluster";
};

using self_pointer = caf::stateful_actor<cluster_actor_state>*;

/// Runs `use` with the connected api, or once a master answers; with a null actor when a whole
/// round of masters did not (the request then fails as if its master were lost, and retries).
void with_api(self_pointer self, std::function<void(const caf::actor&)> use);

void connect_next(self_pointer self, size_t tried) {
  auto& st = self->state;
  if (tried == st.masters.size()) {
    st.connecting = false;
    for (auto& use : std::exchange(st.waiting, {}))
      use(caf::actor{});
    return;
  }
  const auto where = st.masters[st.next_master];
  st.next_master = (st.next_master + 1) % st.masters.size();
  self->request(self->system().middleman().actor_handle(), st.options.connect_timeout,
                caf::connect_atom::value, where.host, where.port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
            auto api = caf::actor_cast<caf::actor>(handle);
            if (!api) {
              connect_next(self, tried + 1);
              return;
            }
            auto& st = self->state;
            st.api = api;
            st.connecting = false;
            self->monitor(api);
            for (auto& use : std::exchange(st.waiting, {}))
              use(api);
          },
          [=](caf::error&) { connect_next(self, tried + 1); });
}

void with_api(self_pointer self, std::function<void(const caf::actor&)> use) {
  auto& st = self->state;
  if (st.api) {
    use(st.api);
    return;
  }
  st.waiting.push_back(std::move(use));
  if (!st.connecting) {
    st.connecting = true;
    connect_next(self, 0);
  }
}

/// Forgets the master (it went away, or knows no leader for too long): the next need connects to
/// the one after it.
void drop_api(self_pointer self) {
  auto& st = self->state;
  if (st.api)
    self->demonitor(st.api);
  st.api = caf::actor{};
}

void after_backoff(self_pointer self, std::chrono::milliseconds backoff, std::function<void()> f) {
  auto serial = ++self->state.next_retry;
  self->state.retries.emplace(serial, std::move(f));
  self->delayed_send(self, backoff, retry_atom::value, serial);
}

/// Asks the api for `Result`, retrying by request_retries; `key` is a submission's idempotency
/// key, named in the error when a try may have been applied.
template<class Result, class... Ts>
void relay(self_pointer self, caf::response_promise promise,
           std::shared_ptr<request_retries> retries, std::string key, Ts... xs) {
  with_api(self, [=](const caf::actor& api) mutable {
    auto failed = [=](const caf::error& err) mutable {
      auto next = retries->after(err, request_retries::clock::now());
      if (next.ask_another)
        drop_api(self);
      if (next.retry) {
        after_backoff(self, next.backoff,
                      [=]() mutable { relay<Result>(self, promise, retries, key, xs...); });
        return;
      }
      if (!next.exhausted) {
        promise.deliver(err); // final: the request itself is refused (not found, invalid, ...)
        return;
      }
      if (next.maybe_applied && !key.empty())
        next.message += fmt::format("; the submission may or may not have been applied: submit "
                                    "again with idempotency key {} to get its job, or to make it "
                                    "once",
                                    key);
      promise.deliver(
          make_error(next.maybe_applied ? errc::outcome_unknown : errc::unavailable, next.message));
    };
    if (!api) {
      failed(caf::sec::request_receiver_down);
      return;
    }
    self->request(api, self->state.options.attempt_timeout, xs...)
        .then([=](Result& answer) mutable { promise.deliver(std::move(answer)); },
              [=](caf::error& err) mutable { failed(err); });
  });
}

template<class Result, class... Ts>
caf::response_promise ask(self_pointer self, std::string key, Ts... xs) {
  auto promise = self->make_response_promise();
  auto retries = std::make_shared<request_retries>(self->state.options.request_timeout,
                                                   request_retries::clock::now());
  relay<Result>(self, promise, retries, std::move(key), std::move(xs)...);
  return promise;
}

/// The stream could not be resumed: the subscriber's last batch says why.
void end_subscription(self_pointer self, uint64_t id, const std::string& why) {
  auto& st = self->state;
  auto i = st.subscriptions.find(id);
  if (i == st.subscriptions.end())
    return;
  pb::EventBatch last;
  last.set_subscription(id);
  last.set_index(i->second.from.value_or(0));
  last.set_ended(why);
  self->send(i->second.subscriber, events_atom::value, std::move(last));
  st.subscriptions.erase(i);
}

/// Subscribes (again) at the connected master from the last index delivered.
void subscribe(self_pointer self, uint64_t id) {
  with_api(self, [=](const caf::actor& api) {
    auto& st = self->state;
    auto i = st.subscriptions.find(id);
    if (i == st.subscriptions.end())
      return;
    auto& sub = i->second;
    sub.remote = 0;
    sub.hub = caf::actor{};
    sub.last_heard = std::chrono::steady_clock::now();
    auto failed = [=](const caf::error& err) {
      auto i = self->state.subscriptions.find(id);
      if (i == self->state.subscriptions.end())
        return;
      auto next = i->second.retries->after(err, request_retries::clock::now());
      if (next.ask_another)
        drop_api(self);
      if (next.retry)
        after_backoff(self, next.backoff, [=] { subscribe(self, id); });
      else
        end_subscription(self, id, next.message);
    };
    if (!api) {
      failed(caf::sec::request_receiver_down);
      return;
    }
    pb::Subscribe request;
    *request.mutable_filter() = sub.filter;
    if (sub.from)
      request.set_from(*sub.from);
    sub.master = api.node();
    self->request(api, st.options.attempt_timeout, events_atom::value, std::move(request),
                  caf::actor_cast<caf::actor>(self))
        .then(
            [=](const pb::Subscribed& answer) {
              auto i = self->state.subscriptions.find(id);
              if (i == self->state.subscriptions.end())
                return;
              i->second.remote = answer.subscription();
              i->second.retries = std::make_shared<request_retries>(
                  self->state.options.request_timeout, request_retries::clock::now());
            },
            failed);
  });
}

/// Moves a subscription to another master (its own was lost, silent, or ended it).
void resubscribe(self_pointer self, uint64_t id, bool other_master) {
  if (other_master)
    drop_api(self);
  subscribe(self, id);
}

void on_batch(self_pointer self, uint64_t remote, const pb::EventBatch& batch) {
  auto& st = self->state;
  const auto& sender = self->current_sender();
  for (auto& [id, sub] : st.subscriptions) {
    if (sub.remote == 0 || sub.remote != remote || !sender || sender->node() != sub.master)
      continue;
    if (!batch.ended().empty()) {
      resubscribe(self, id, false);
      return;
    }
    sub.hub = caf::actor_cast<caf::actor>(sender);
    sub.last_heard = std::chrono::steady_clock::now();
    self->send(sub.hub, ack_atom::value, sub.remote, batch.index());
    // A snapshot counts once its last batch is in; a stream batch once the stream started.
    if (batch.snapshot() ? batch.snapshot_done() : sub.from.has_value())
      sub.from = batch.index();
    if (batch.snapshot() || batch.events_size() > 0) {
      auto theirs = batch; // the hub's batch is shared; this one names the script's number
      theirs.set_subscription(id);
      self->send(sub.subscriber, events_atom::value, std::move(theirs));
    }
    return;
  }
}

void check_silence(self_pointer self) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<uint64_t> silent;
  for (const auto& [id, sub] : self->state.subscriptions)
    if (sub.remote != 0 && now - sub.last_heard > self->state.options.event_silence)
      silent.push_back(id);
  for (auto id : silent)
    resubscribe(self, id, true);
}

void on_down(self_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  if (st.api && down.source == st.api.address()) {
    drop_api(self);
    std::vector<uint64_t> lost;
    for (const auto& [id, sub] : st.subscriptions)
      if (sub.remote != 0)
        lost.push_back(id);
    for (auto id : lost)
      subscribe(self, id);
    return;
  }
  for (auto i = st.subscriptions.begin(); i != st.subscriptions.end();) {
    if (i->second.subscriber.address() != down.source) {
      ++i;
      continue;
    }
    if (i->second.hub)
      self->send(i->second.hub, unsubscribe_atom::value, i->second.remote);
    i = st.subscriptions.erase(i);
  }
}

caf::behavior cluster_actor(self_pointer self, cluster_options options) {
  auto& st = self->state;
  for (const auto& address : options.addresses)
    st.masters.push_back(net::parse_host_port(address)); // checked by spawn_cluster
  st.options = std::move(options);
  self->set_down_handler([=](caf::down_msg& down) { on_down(self, down); });
  self->send(self, silence_atom::value);
  return {
      [=](submit_atom atom, pb::JobSpec& spec) {
        if (spec.idempotency_key().empty())
          spec.set_idempotency_key(new_idempotency_key());
        auto key = spec.idempotency_key();
        return ask<pb::Job>(self, key, atom, std::move(spec));
      },
      [=](status_atom atom, const std::string& id) { return ask<pb::Job>(self, "", atom, id); },
      [=](kill_atom atom, const std::string& id) { return ask<pb::Job>(self, "", atom, id); },
      [=](nodes_atom atom) { return ask<pb::NodeList>(self, "", atom); },
      [=](events_atom, pb::EventFilter& filter, caf::actor& subscriber) -> caf::result<uint64_t> {
        if (!subscriber)
          return make_error(errc::invalid_request, "a subscription needs an actor to tell");
        auto& st = self->state;
        const auto id = ++st.next_subscription;
        subscription sub;
        sub.filter = std::move(filter);
        sub.subscriber = subscriber;
        sub.retries = std::make_shared<request_retries>(st.options.request_timeout,
                                                        request_retries::clock::now());
        self->monitor(subscriber);
        st.subscriptions.emplace(id, std::move(sub));
        subscribe(self, id);
        return id;
      },
      [=](unsubscribe_atom, uint64_t id) {
        auto& st = self->state;
        auto i = st.subscriptions.find(id);
        if (i == st.subscriptions.end() || self->current_sender() != i->second.subscriber.address())
          return;
        if (i->second.hub)
          self->send(i->second.hub, unsubscribe_atom::value, i->second.remote);
        st.subscriptions.erase(i);
      },
      [=](events_atom, uint64_t remote, const event_batch_ref& ref) {
        if (ref.batch)
          on_batch(self, remote, *ref.batch);
      },
      [=](retry_atom, uint64_t serial) {
        auto& retries = self->state.retries;
        if (auto i = retries.find(serial); i != retries.end()) {
          auto f = std::move(i->second);
          retries.erase(i);
          f();
        }
      },
      [=](silence_atom) {
        check_silence(self);
        self->delayed_send(self, std::chrono::milliseconds{500}, silence_atom::value);
      },
  };
}

} // namespace

caf::actor spawn_cluster(caf::actor_system& system, cluster_options options) {
  if (options.addresses.empty())
    throw std::invalid_argument("the cluster actor needs at least one master's HOST:PORT");
  for (const auto& address : options.addresses)
    net::parse_host_port(address); // throws std::invalid_argument naming it
  return system.spawn(cluster_actor, std::move(options));
}

} // namespace claud
