// views: the stable --json documents (exact keys, null where unknown, numbers as numbers, times as
// RFC 3339 UTC with milliseconds), read back with protobuf's own JSON parser; and the tables.
#include "cli/views.hpp"

#include <catch2/catch.hpp>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <set>
#include <sstream>
#include <string>

using namespace claud;
using claud::cli::format_time_ms;
using claud::cli::to_json;
using claud::cli::to_view;
using google::protobuf::Struct;
using google::protobuf::Value;
using keys = std::set<std::string>;

namespace {

constexpr int64_t gib = int64_t{1} << 30;
constexpr int64_t t0 = 1795428930123; // 2026-11-23T10:15:30.123Z

template<class Message>
Message parse(const std::string& json) {
  Message m;
  auto status = google::protobuf::util::JsonStringToMessage(json, &m);
  INFO(json);
  REQUIRE(status.ok());
  return m;
}

keys keys_of(const Struct& s) {
  keys out;
  for (const auto& [key, value] : s.fields())
    out.insert(key);
  return out;
}

bool is_null(const Struct& s, const std::string& key) {
  return s.fields().at(key).kind_case() == Value::kNullValue;
}
double number(const Struct& s, const std::string& key) {
  REQUIRE(s.fields().at(key).kind_case() == Value::kNumberValue);
  return s.fields().at(key).number_value();
}
std::string text(const Struct& s, const std::string& key) {
  REQUIRE(s.fields().at(key).kind_case() == Value::kStringValue);
  return s.fields().at(key).string_value();
}

pb::Job pending_job() {
  pb::Job job;
  job.set_id("12");
  job.mutable_spec()->set_name("train");
  job.mutable_spec()->add_argv("python3");
  job.mutable_spec()->add_argv("train.py");
  job.mutable_spec()->set_cpu_millis(1500);
  job.mutable_spec()->set_memory_bytes(3 * gib);
  job.set_state(pb::JOB_PENDING);
  job.set_submitted_at_ms(t0);
  return job;
}

const keys job_keys{"id",           "name",     "state",        "exit_code",    "signal",
                    "node",         "attempts", "submitted_at", "started_at",   "finished_at",
                    "reason",       "command",  "cpus",         "memory_bytes", "restart",
                    "max_attempts", "history",  "constraints",  "strategy",     "idempotency_key",
                    "user",         "env",      "workdir",      "timeout_ms",   "on_node_lost",
                    "backoff_ms",   "after",    "waits_for",    "stdin"};

const keys event_keys{"time", "attempt", "state", "node", "exit_code", "signal", "reason"};

} // namespace

TEST_CASE("times are RFC 3339 UTC with milliseconds") {
  CHECK(format_time_ms(t0) == "2026-11-23T10:15:30.123Z");
  CHECK(format_time_ms(951868799007) == "2000-02-29T23:59:59.007Z");
  CHECK(format_time_ms(1000) == "1970-01-01T00:00:01.000Z");
}

TEST_CASE("a pending job's JSON has every documented key, null where nothing is known") {
  auto json = to_json(to_view(pending_job()));
  CHECK(json.find('\n') == std::string::npos);
  auto doc = parse<Struct>(json);
  CHECK(keys_of(doc) == job_keys);
  CHECK(text(doc, "id") == "12");
  CHECK(text(doc, "name") == "train");
  CHECK(text(doc, "state") == "pending");
  for (const char* unknown :
       {"exit_code", "signal", "node", "started_at", "finished_at", "reason"}) {
    INFO(unknown);
    CHECK(is_null(doc, unknown));
  }
  CHECK(number(doc, "attempts") == 0);
  CHECK(text(doc, "submitted_at") == "2026-11-23T10:15:30.123Z");
  CHECK(number(doc, "cpus") == 1.5);
  CHECK(number(doc, "memory_bytes") == 3.0 * gib);
  CHECK(doc.fields().at("constraints").list_value().values().empty());
  CHECK(text(doc, "strategy") == "binpack");
  const auto& command = doc.fields().at("command");
  REQUIRE(command.kind_case() == Value::kListValue);
  REQUIRE(command.list_value().values_size() == 2);
  CHECK(command.list_value().values(1).string_value() == "train.py");
}

TEST_CASE("an ended job's JSON carries its outcome as numbers and strings") {
  auto job = pending_job();
  job.set_state(pb::JOB_FAILED);
  job.set_node_id("s1");
  job.set_attempts(2);
  job.set_started_at_ms(t0 + 1000);
  job.set_finished_at_ms(t0 + 61001);
  job.set_reason("cannot exec 'python3'");

  SECTION("with an exit code") {
    job.set_has_exit_code(true);
    job.set_exit_code(0); // zero is a value, not "unknown"
    auto doc = parse<Struct>(to_json(to_view(job)));
    CHECK(keys_of(doc) == job_keys);
    CHECK(number(doc, "exit_code") == 0);
    CHECK(is_null(doc, "signal"));
    CHECK(text(doc, "node") == "s1");
    CHECK(number(doc, "attempts") == 2);
    CHECK(text(doc, "state") == "failed");
    CHECK(text(doc, "started_at") == "2026-11-23T10:15:31.123Z");
    CHECK(text(doc, "finished_at") == "2026-11-23T10:16:31.124Z");
    CHECK(text(doc, "reason") == "cannot exec 'python3'");
  }
  SECTION("ended by a signal") {
    job.set_term_signal(9);
    auto doc = parse<Struct>(to_json(to_view(job)));
    CHECK(is_null(doc, "exit_code"));
    CHECK(number(doc, "signal") == 9);
  }
}

TEST_CASE("a node's JSON has its documented keys and free resources") {
  pb::Node node;
  node.set_id("s1");
  node.set_role(pb::ROLE_SLAVE);
  node.set_address("10.0.0.2:7400");
  node.set_state(pb::NODE_ALIVE);
  node.set_cpu_millis_total(4000);
  node.set_cpu_millis_used(2500);
  node.set_memory_bytes_total(8 * gib);
  node.set_memory_bytes_used(3 * gib);
  auto doc = parse<Struct>(to_json(to_view(node)));
  CHECK(keys_of(doc)
        == keys{"id", "role", "address", "state", "cpus_total", "cpus_free", "memory_total_bytes",
                "memory_free_bytes", "labels", "draining", "limits", "max_output_bytes",
                "disk_note", "run_as", "allowed_users", "version", "tls", "heard_seconds_ago"});
  CHECK(doc.fields().at("labels").struct_value().fields().empty());
  CHECK_FALSE(doc.fields().at("draining").bool_value());
  CHECK(text(doc, "id") == "s1");
  CHECK(text(doc, "role") == "slave");
  CHECK(text(doc, "address") == "10.0.0.2:7400");
  CHECK(text(doc, "state") == "alive");
  CHECK(number(doc, "cpus_total") == 4);
  CHECK(number(doc, "cpus_free") == 1.5);
  CHECK(number(doc, "memory_total_bytes") == 8.0 * gib);
  CHECK(number(doc, "memory_free_bytes") == 5.0 * gib);
  CHECK(is_null(doc, "heard_seconds_ago"));
  CHECK(text(doc, "version").empty());
  CHECK_FALSE(doc.fields().at("tls").bool_value());

  node.set_heard_ms_ago(1500);
  node.set_version("0.1.0");
  node.set_tls(true);
  doc = parse<Struct>(to_json(to_view(node)));
  CHECK(number(doc, "heard_seconds_ago") == 1.5);
  CHECK(text(doc, "version") == "0.1.0");
  CHECK(doc.fields().at("tls").bool_value());
}

TEST_CASE("the leader's JSON has term, leader and masters") {
  pb::LeaderInfo info;
  info.set_term(7);
  info.set_commit_index(99);
  info.mutable_leader()->set_id("m1");
  info.mutable_leader()->set_address("10.0.0.1:7400");
  for (const char* id : {"m1", "m2"}) {
    auto* m = info.add_masters();
    m->set_id(id);
    m->set_address(std::string(id) + ":7400");
    m->set_role(id == std::string("m1") ? "leader" : "follower");
    m->set_match_index(id == std::string("m1") ? 99 : 0);
  }
  auto doc = parse<Struct>(to_json(to_view(info)));
  CHECK(keys_of(doc) == keys{"term", "leader", "masters"});
  CHECK(number(doc, "term") == 7);
  const auto& leader = doc.fields().at("leader").struct_value();
  CHECK(keys_of(leader) == keys{"id", "address"});
  CHECK(text(leader, "address") == "10.0.0.1:7400");
  const auto& masters = doc.fields().at("masters").list_value();
  REQUIRE(masters.values_size() == 2);
  const auto& follower = masters.values(1).struct_value();
  CHECK(keys_of(follower) == keys{"id", "address", "role", "match_index", "health"});
  CHECK(text(follower, "role") == "follower");
  CHECK(number(follower, "match_index") == 0);
  CHECK(number(masters.values(0).struct_value(), "match_index") == 99);
  const auto& health = follower.fields().at("health").struct_value();
  CHECK(keys_of(health)
        == keys{"answered", "version", "tls", "leader_known", "data_dir_writable",
                "disk_free_bytes", "problem"});
}

TEST_CASE("the leader table shows each master's claud and health, and why one is unhealthy") {
  pb::LeaderInfo info;
  info.set_term(3);
  info.mutable_leader()->set_id("m1");
  info.mutable_leader()->set_address("10.0.0.1:7400");
  auto add = [&](const char* id, const char* role) -> pb::NodeHealth& {
    auto* m = info.add_masters();
    m->set_id(id);
    m->set_address(std::string(id) + ":7400");
    m->set_role(role);
    return *m->mutable_health();
  };
  auto& healthy = add("m1", "leader");
  healthy.set_answered(true);
  healthy.set_version("0.1.0");
  healthy.set_tls(true);
  healthy.set_leader_known(true);
  healthy.set_data_dir_writable(true);
  auto& full = add("m2", "follower");
  full.set_answered(true);
  full.set_version("0.1.0");
  full.set_problem("data dir nearly full: 0.1 GiB free");
  auto& frozen = add("m3", "follower");
  frozen.set_problem("did not answer within 1000 ms");
  add("m4", "learner"); // an older claud: no health at all

  std::ostringstream out;
  cli::print_leader(out, info);
  auto table = out.str();
  CHECK(table.find(" CLAUD      HEALTH\n") != std::string::npos);
  CHECK(table.find(" 0.1.0+tls  ok\n") != std::string::npos);
  CHECK(table.find(" 0.1.0      unhealthy\n") != std::string::npos);
  CHECK(table.find(" -          no answer\n") != std::string::npos);
  CHECK(table.find(" -          -\n") != std::string::npos);
  CHECK(table.find("m2: data dir nearly full: 0.1 GiB free\n") != std::string::npos);
  CHECK(table.find("m3: did not answer within 1000 ms\n") != std::string::npos);
  CHECK(table.find("m1: ") == std::string::npos);

  auto doc = parse<Struct>(to_json(to_view(info)));
  const auto& masters = doc.fields().at("masters").list_value();
  REQUIRE(masters.values_size() == 4);
  const auto& m2 = masters.values(1).struct_value().fields().at("health").struct_value();
  CHECK(m2.fields().at("answered").bool_value());
  CHECK(text(m2, "problem") == "data dir nearly full: 0.1 GiB free");
}

TEST_CASE("a job's environment and working directory show in JSON and its details") {
  auto job = pending_job();
  for (auto [name, value] : {std::pair{"MODE", "fast"}, {"URL", "a=b"}, {"MODE", "safe"}}) {
    auto* var = job.mutable_spec()->add_env();
    var->set_name(name);
    var->set_value(value);
  }
  job.mutable_spec()->set_workdir("/srv/data");
  job.mutable_spec()->set_timeout_ms(90 * 60 * 1000);
  auto doc = parse<Struct>(to_json(to_view(job)));
  CHECK(number(doc, "timeout_ms") == 5400000);
  const auto& env = doc.fields().at("env").struct_value();
  CHECK(keys_of(env) == keys{"MODE", "URL"});
  CHECK(text(env, "MODE") == "safe"); // the last of a name is what the job gets
  CHECK(text(env, "URL") == "a=b");
  CHECK(text(doc, "workdir") == "/srv/data");

  std::ostringstream details;
  cli::print_job_details(details, job);
  CHECK(details.str().find("workdir:     /srv/data\n") != std::string::npos);
  CHECK(details.str().find("timeout:     1.5h\n") != std::string::npos);
  CHECK(details.str().find("env:         MODE=fast\nenv:         URL=a=b\nenv:         MODE=safe\n")
        != std::string::npos);

  auto plain = parse<Struct>(to_json(to_view(pending_job())));
  CHECK(plain.fields().at("env").struct_value().fields().empty());
  CHECK(text(plain, "workdir").empty());
  CHECK(text(plain, "stdin").empty());
  CHECK(plain.fields().at("after").list_value().values().empty());
}

TEST_CASE("a job's input and the jobs it waits for show in JSON and its details") {
  auto job = pending_job();
  job.mutable_spec()->set_stdin_file("/srv/in.txt");
  auto* ok = job.mutable_spec()->add_after();
  ok->set_job_id("3");
  auto* any = job.mutable_spec()->add_after();
  any->set_job_id("4");
  any->set_condition(pb::AFTER_ANY);
  job.add_waits_for("4");
  auto doc = parse<Struct>(to_json(to_view(job)));
  CHECK(text(doc, "stdin") == "/srv/in.txt");
  const auto& after = doc.fields().at("after").list_value();
  REQUIRE(after.values_size() == 2);
  CHECK(after.values(0).string_value() == "3:ok");
  CHECK(after.values(1).string_value() == "4:any");
  const auto& waits = doc.fields().at("waits_for").list_value();
  REQUIRE(waits.values_size() == 1);
  CHECK(waits.values(0).string_value() == "4");

  std::ostringstream details;
  cli::print_job_details(details, job);
  CHECK(details.str().find("stdin:       /srv/in.txt\n") != std::string::npos);
  CHECK(details.str().find("after:       3:ok 4:any\n") != std::string::npos);
}

TEST_CASE("a list of documents is one JSON array") {
  auto a = to_view(pending_job());
  auto b = a;
  b.set_id("13");
  CHECK(cli::to_json_array({}) == "[]");
  auto list = parse<google::protobuf::ListValue>(cli::to_json_array({&a, &b}));
  REQUIRE(list.values_size() == 2);
  CHECK(text(list.values(1).struct_value(), "id") == "13");
}

TEST_CASE("the tables show exits, signals and free/total resources") {
  auto job = pending_job();
  job.set_state(pb::JOB_FAILED);
  job.set_term_signal(9);
  auto exited = pending_job();
  exited.set_id("13");
  exited.set_has_exit_code(true);
  exited.set_exit_code(3);
  std::ostringstream jobs;
  cli::print_job_table(jobs, {pending_job(), job, exited});
  CHECK(jobs.str().rfind("ID ", 0) == 0);
  CHECK(jobs.str().find("pending    -      -") != std::string::npos);
  CHECK(jobs.str().find("failed     sig9") != std::string::npos);
  CHECK(jobs.str().find("13       train            pending    3 ") != std::string::npos);

  std::ostringstream details;
  cli::print_job_details(details, job);
  CHECK(details.str().find("command:     python3 train.py\n") != std::string::npos);
  CHECK(details.str().find("resources:   1.5 CPUs, 3G memory\n") != std::string::npos);
  CHECK(details.str().find("submitted:   2026-11-23T10:15:30.123Z\n") != std::string::npos);
  CHECK(details.str().find("started:     -\n") != std::string::npos);
  CHECK(details.str().find("reason:") == std::string::npos);
  CHECK(details.str().find("placement:") == std::string::npos);

  pb::Node node;
  node.set_id("s1");
  node.set_role(pb::ROLE_DEV);
  node.set_state(pb::NODE_DOWN);
  node.set_cpu_millis_total(4000);
  node.set_cpu_millis_used(2500);
  node.set_memory_bytes_total(8 * gib);
  node.set_memory_bytes_used(gib);
  std::ostringstream nodes;
  cli::print_node_table(nodes, {node});
  CHECK(nodes.str().find("dev") != std::string::npos);
  CHECK(nodes.str().find("down") != std::string::npos);
  CHECK(nodes.str().find("1.5/4") != std::string::npos);
  CHECK(nodes.str().find("7G/8G") != std::string::npos);
  CHECK(nodes.str().rfind("ID ", 0) == 0);
  CHECK(nodes.str().find(" LABELS\n") != std::string::npos);
  CHECK(nodes.str().find(" down        - ") != std::string::npos);
  CHECK(nodes.str().find("7G/8G none     -          ?          -\n") != std::string::npos);

  node.set_state(pb::NODE_ALIVE);
  node.set_heard_ms_ago(420);
  node.set_version("0.1.0");
  node.set_tls(true);
  std::ostringstream heard;
  cli::print_node_table(heard, {node});
  CHECK(heard.str().find(" HEARD ") != std::string::npos);
  CHECK(heard.str().find(" alive    0.4s ") != std::string::npos);
  CHECK(heard.str().find(" 0.1.0+tls  -\n") != std::string::npos);
}

TEST_CASE("which limits a node enforces shows in JSON and tables, and why not") {
  pb::Node enforcing;
  enforcing.set_id("s1");
  enforcing.set_role(pb::ROLE_SLAVE);
  enforcing.mutable_limits()->set_memory(true);
  enforcing.mutable_limits()->set_cpu(true);
  enforcing.mutable_limits()->set_mechanism("cgroup v2");
  pb::Node unlimited;
  unlimited.set_id("s2");
  unlimited.set_role(pb::ROLE_SLAVE);
  unlimited.mutable_limits()->set_mechanism("none");
  unlimited.mutable_limits()->set_note("cgroup v2: other processes share /sys/fs/cgroup/x");

  auto doc = parse<Struct>(to_json(to_view(enforcing)));
  const auto& limits = doc.fields().at("limits").struct_value();
  CHECK(keys_of(limits) == keys{"memory", "cpu", "mechanism", "note"});
  CHECK(limits.fields().at("memory").bool_value());
  CHECK(limits.fields().at("cpu").bool_value());
  CHECK(text(limits, "mechanism") == "cgroup v2");
  CHECK(text(limits, "note").empty());

  std::ostringstream nodes;
  cli::print_node_table(nodes, {enforcing, unlimited});
  auto table = nodes.str();
  CHECK(table.find(" LIMITS   JOBS AS    CLAUD      LABELS\n") != std::string::npos);
  CHECK(table.find(" mem,cpu  -          ?          -\n") != std::string::npos);
  CHECK(table.find(" none     -          ?          -\n") != std::string::npos);
  CHECK(table.find("s2: limits not enforced: cgroup v2: other processes share /sys/fs/cgroup/x\n")
        != std::string::npos);
  CHECK(table.find("s1: limits") == std::string::npos);
}

TEST_CASE("labels, constraints and the strategy show in JSON and tables") {
  pb::Node node;
  node.set_id("s1");
  node.set_role(pb::ROLE_SLAVE);
  (*node.mutable_labels())["zone"] = "a";
  (*node.mutable_labels())["disk"] = "ssd";
  auto doc = parse<Struct>(to_json(to_view(node)));
  const auto& labels = doc.fields().at("labels").struct_value();
  CHECK(keys_of(labels) == keys{"zone", "disk"});
  CHECK(text(labels, "zone") == "a");
  CHECK(text(labels, "disk") == "ssd");
  std::ostringstream nodes;
  cli::print_node_table(nodes, {node});
  CHECK(nodes.str().find(" disk=ssd,zone=a\n") != std::string::npos);

  auto job = pending_job();
  auto* zone = job.mutable_spec()->add_constraints();
  zone->set_key("zone");
  zone->set_value("a");
  auto* disk = job.mutable_spec()->add_constraints();
  disk->set_key("disk");
  disk->set_value("hdd");
  disk->set_negated(true);
  job.mutable_spec()->set_strategy(pb::STRATEGY_SPREAD);
  auto job_doc = parse<Struct>(to_json(to_view(job)));
  CHECK(keys_of(job_doc) == job_keys);
  const auto& constraints = job_doc.fields().at("constraints").list_value();
  REQUIRE(constraints.values_size() == 2);
  CHECK(constraints.values(0).string_value() == "zone=a");
  CHECK(constraints.values(1).string_value() == "disk!=hdd");
  CHECK(text(job_doc, "strategy") == "spread");
  std::ostringstream details;
  cli::print_job_details(details, job);
  CHECK(details.str().find("placement:   spread on nodes with zone=a, disk!=hdd\n")
        != std::string::npos);
}

TEST_CASE("a job's history lists each step with the documented keys") {
  auto job = pending_job();
  job.mutable_spec()->set_restart(pb::RESTART_ON_FAILURE);
  job.mutable_spec()->set_max_attempts(3);
  auto* placed = job.add_history();
  placed->set_time_ms(t0);
  placed->set_attempt(1);
  placed->set_state(pb::JOB_PLACED);
  placed->set_node_id("s1");
  auto* failed = job.add_history();
  failed->set_time_ms(t0 + 5);
  failed->set_attempt(1);
  failed->set_state(pb::JOB_FAILED);
  failed->set_node_id("s1");
  failed->set_has_exit_code(true);
  failed->set_exit_code(2);
  auto doc = parse<Struct>(to_json(to_view(job)));
  CHECK(text(doc, "restart") == "on-failure");
  CHECK(number(doc, "max_attempts") == 3);
  const auto& history = doc.fields().at("history").list_value();
  REQUIRE(history.values_size() == 2);
  const auto& first = history.values(0).struct_value();
  const auto& second = history.values(1).struct_value();
  CHECK(keys_of(first) == event_keys);
  CHECK(text(first, "state") == "placed");
  CHECK(text(first, "time") == "2026-11-23T10:15:30.123Z");
  CHECK(is_null(first, "exit_code"));
  CHECK(number(second, "exit_code") == 2);
  CHECK(text(second, "node") == "s1");
}
