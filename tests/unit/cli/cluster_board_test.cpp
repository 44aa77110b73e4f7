// cluster_board: the live views' model of the cluster, fed batches of events, and the screens
// drawn from it (order, counts, fitting the terminal).
#include "cli/cluster_board.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace claud;
using namespace claud::cli;

namespace {

pb::Event job_event(pb::EventKind kind, const std::string& id, pb::JobState state, int64_t time_ms,
                    const std::string& node = "") {
  pb::Event e;
  e.set_kind(kind);
  e.set_job_id(id);
  e.set_job_name("job" + id);
  e.set_state(state);
  e.set_node_id(node);
  e.set_time_ms(time_ms);
  return e;
}

pb::Event node_event(pb::EventKind kind, const std::string& id, pb::NodeState state) {
  pb::Event e;
  e.set_kind(kind);
  e.set_node_id(id);
  e.set_node_state(state);
  return e;
}

pb::EventBatch batch(uint64_t index, std::vector<pb::Event> events, bool snapshot = false,
                     bool done = false) {
  pb::EventBatch b;
  b.set_index(index);
  b.set_snapshot(snapshot);
  b.set_snapshot_done(done);
  for (auto& e : events)
    *b.add_events() = std::move(e);
  return b;
}

/// The screen's rows below its two title lines.
std::vector<std::string> rows_of(const std::vector<std::string>& screen) {
  return {screen.begin() + 2, screen.end()};
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("events change the jobs; a snapshot replaces what the board held") {
  cluster_board board;
  board.apply(batch(5,
                    {job_event(pb::EVENT_JOB_STATE, "1", pb::JOB_RUNNING, 0, "n1"),
                     job_event(pb::EVENT_JOB_STATE, "2", pb::JOB_PENDING, 0)},
                    true, false));
  board.apply(batch(5, {job_event(pb::EVENT_JOB_STATE, "3", pb::JOB_SUCCEEDED, 0)}, true, true));
  CHECK(board.jobs().size() == 3); // one snapshot over two batches
  board.apply(batch(6, {job_event(pb::EVENT_JOB_ENDED, "1", pb::JOB_FAILED, 1000, "n1")}));
  CHECK(board.jobs().at("1").state == pb::JOB_FAILED);
  CHECK(board.jobs().at("1").changed_ms == 1000);
  CHECK(board.index() == 6);
  // Missed events: the next snapshot is the whole truth, so job 2 (gone from it) goes.
  auto again = batch(9, {job_event(pb::EVENT_JOB_STATE, "1", pb::JOB_FAILED, 0)}, true, true);
  again.set_missed_from(7);
  board.apply(again);
  CHECK(board.jobs().size() == 1);
  CHECK(board.jobs().at("1").changed_ms == 0); // when it changed last is not known after missing
}

TEST_CASE("node and leader events; an older term does not replace the leader") {
  cluster_board board;
  auto node = node_event(pb::EVENT_NODE_DRAINED, "n1", pb::NODE_ALIVE);
  node.set_draining(true);
  pb::Event leader;
  leader.set_kind(pb::EVENT_LEADER_CHANGED);
  leader.set_leader("127.0.0.1:7402");
  leader.set_term(4);
  board.apply(batch(3, {node, leader}));
  CHECK(board.nodes().at("n1").draining);
  CHECK(board.leader() == "127.0.0.1:7402");
  board.set_leader("127.0.0.1:7401", 3); // read before the election, answered after it
  CHECK(board.leader() == "127.0.0.1:7402");
  CHECK(board.term() == 4);
}

TEST_CASE("the jobs screen: running, then pending, then the latest ended; counts on top") {
  cluster_board board;
  board.apply(batch(10, {job_event(pb::EVENT_JOB_ENDED, "9", pb::JOB_SUCCEEDED, 1000),
                         job_event(pb::EVENT_JOB_SUBMITTED, "8", pb::JOB_PENDING, 2000),
                         job_event(pb::EVENT_JOB_ENDED, "10", pb::JOB_FAILED, 3000),
                         job_event(pb::EVENT_JOB_STARTED, "11", pb::JOB_RUNNING, 4000, "n1")}));
  auto screen = jobs_screen(board, 5000, {120, 24});
  CHECK(starts_with(screen[0],
                    "jobs: 1 running, 1 pending; ended since: 1 succeeded, 1 failed | index 10"));
  CHECK(starts_with(screen[1], "ID"));
  auto rows = rows_of(screen);
  REQUIRE(rows.size() == 4);
  CHECK(starts_with(rows[0], "11 "));
  CHECK(starts_with(rows[1], "8 "));
  CHECK(starts_with(rows[2], "10 ")); // ended at 3000, after job 9
  CHECK(starts_with(rows[3], "9 "));
  CHECK(rows[0].find("n1") != std::string::npos);
  CHECK(rows[0].find("1.0s") != std::string::npos); // running for 5000 - 4000 ms
}

TEST_CASE("the screen fits the terminal: as many rows as there is room for, and a count") {
  cluster_board board;
  std::vector<pb::Event> events;
  for (int i = 1; i <= 30; ++i)
    events.push_back(job_event(pb::EVENT_JOB_SUBMITTED, std::to_string(i), pb::JOB_PENDING, i));
  board.apply(batch(1, std::move(events)));
  auto screen = jobs_screen(board, 100, {40, 10});
  REQUIRE(screen.size() == 10);
  for (const auto& line : screen)
    CHECK(line.size() <= 40);
  CHECK(starts_with(screen[2], "1 ")); // pending in id order: 1, 2, ..., not 1, 10, 11
  CHECK(starts_with(screen[3], "2 "));
  CHECK(starts_with(screen[9], "... and 23 more"));
  CHECK(jobs_screen(board, 100, {40, 2}).size() == 2);   // no room for rows at all
  CHECK(jobs_screen(board, 100, {40, 32}).size() == 32); // every row, no count line
}

TEST_CASE("the nodes screen: state from the stream, resources from the records, running jobs") {
  cluster_board board;
  auto lost = node_event(pb::EVENT_NODE_LOST, "n2", pb::NODE_DOWN);
  lost.set_reason("no heartbeat for 3s");
  board.apply(batch(4, {lost, job_event(pb::EVENT_JOB_STARTED, "1", pb::JOB_RUNNING, 1, "n1"),
                        job_event(pb::EVENT_JOB_PLACED, "2", pb::JOB_PLACED, 1, "n1"),
                        job_event(pb::EVENT_JOB_ENDED, "3", pb::JOB_SUCCEEDED, 1, "n1")}));
  pb::Node n1;
  n1.set_id("n1");
  n1.set_role(pb::ROLE_SLAVE);
  n1.set_state(pb::NODE_ALIVE);
  n1.set_cpu_millis_total(4000);
  n1.set_cpu_millis_used(1500);
  n1.set_memory_bytes_total(8LL << 30);
  pb::Node master;
  master.set_id("m1");
  master.set_role(pb::ROLE_MASTER);
  auto screen = nodes_screen(board, {n1, master}, {120, 24});
  CHECK(starts_with(screen[0], "nodes: 1 alive, 1 down | index 4"));
  auto rows = rows_of(screen);
  REQUIRE(rows.size() == 2); // masters run no jobs: not on this screen
  CHECK(starts_with(rows[0], "n1 "));
  CHECK(rows[0].find("2.5/4") != std::string::npos);
  CHECK(rows[0].find(" 2 ") != std::string::npos); // job 1 and job 2 hold resources there
  CHECK(starts_with(rows[1], "n2 "));
  CHECK(rows[1].find("down") != std::string::npos);
  CHECK(rows[1].find("no heartbeat") != std::string::npos); // no record: the reason it went
}

TEST_CASE("the board keeps the latest ended jobs only") {
  cluster_board board;
  std::vector<pb::Event> events;
  const auto many = cluster_board::max_ended_jobs + 5;
  for (size_t i = 1; i <= many; ++i)
    events.push_back(job_event(pb::EVENT_JOB_ENDED, std::to_string(i), pb::JOB_SUCCEEDED,
                               static_cast<int64_t>(i)));
  events.push_back(job_event(pb::EVENT_JOB_SUBMITTED, "9999", pb::JOB_PENDING, 1));
  board.apply(batch(1, std::move(events)));
  CHECK(board.jobs().size() == cluster_board::max_ended_jobs + 1); // the live one stays
  CHECK(board.jobs().count("5") == 0);                             // the first to end went
  CHECK(board.jobs().count("6") == 1);
  CHECK(board.ended_counts().at(pb::JOB_SUCCEEDED) == many); // counted, kept or not
  CHECK(jobs_screen(board, 100, {200, 5})[0].find(fmt::format("{} succeeded", many))
        != std::string::npos);
}
