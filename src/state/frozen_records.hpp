#pragma once
// Records of the cluster state that never change again — an ended job, a retired idempotency
// key — kept as their protobuf bytes instead of parsed messages: an ended job's parsed record
// takes about 1.6 KiB of memory where its bytes take 200, and only queries (`claud status`,
// `jobs`) read it, never the lifecycle's hot path.
//
// Each record's bytes are serialized fields of pb::ClusterState (an entry of its `jobs` map, of
// its `submission_keys` map, or both), so the records are fragments of a snapshot as they are:
// protobuf parses concatenated messages as one, merged. The bytes go into chunks that are sealed
// when full and never written again; a snapshot shares the sealed chunks instead of copying them
// (chunks()), which is what lets the raft thread hand a snapshot to a writer thread in
// microseconds. Records leave only by time (remove_older: a retention), which drops or rewrites
// whole chunks.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace claud::state {

using shared_bytes = std::shared_ptr<const std::string>;

class frozen_records {
public:
  /// A chunk is sealed once it holds this many bytes.
  static constexpr size_t chunk_bytes = 256 * 1024;

  /// Adds the record `id` (which must be new: a std::logic_error otherwise), stamped with
  /// `time_ms`, the time remove_older compares. A non-empty `alias` (an ended job's idempotency
  /// key) finds its id, until the record is removed; an alias already known is a logic_error.
  void add(const std::string& id, int64_t time_ms, std::string_view bytes,
           const std::string& alias = {});
  /// The bytes of record `id`, valid until the next call that changes the store.
  std::optional<std::string_view> find(const std::string& id) const;
  /// The id of the record added with `alias`.
  std::optional<std::string> id_of_alias(const std::string& alias) const;
  size_t size() const {
    return store_->by_id.size();
  }
  /// Every record's bytes, in the order they were added.
  void for_each(const std::function<void(std::string_view bytes)>& visit) const;
  /// Removes every record stamped before `before_ms`, first handing each one's bytes to `removed`.
  void
  remove_older(int64_t before_ms,
               const std::function<void(std::string_view id, std::string_view bytes)>& removed);
  /// The records' bytes as chunks: the sealed ones shared, the open one copied (it is at most
  /// chunk_bytes). Their concatenation is every record, in the order they were added.
  std::vector<shared_bytes> chunks() const;

private:
  struct record {
    std::pmr::string id;
    std::pmr::string alias; // empty for none
    int64_t time_ms = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
  };
  struct chunk {
    shared_bytes sealed; // null while the chunk is open
    std::string open;    // the bytes until it is sealed
    std::vector<record> records;
    const std::string& bytes() const {
      return sealed ? *sealed : open;
    }
  };
  struct location {
    uint64_t chunk = 0; // sequence number: chunks[chunk - first_chunk]
    uint32_t record = 0;
  };

  chunk& open_chunk();
  /// Rewrites chunk `seq` with only the records for which `keep` holds, and reindexes them.
  void rewrite(uint64_t seq, const std::vector<bool>& keep);

  // The index and the records' ids and aliases are made from a pool of their own. They are made
  // one by one as jobs end, over hours; from the general heap they would be scattered among the
  // pages of the parsed records freed meanwhile, which the allocator could then never give back:
  // a leader's memory stayed at the peak of a burst of submissions. Everything is in one store
  // behind a pointer: the pool's address, which the strings hold, survives a move, and the pool
  // is declared first, so it is destroyed last, after every string made from it.
  struct store {
    std::pmr::unsynchronized_pool_resource pool;
    std::pmr::unordered_map<std::pmr::string, location> by_id{&pool};
    std::pmr::unordered_map<std::pmr::string, std::pmr::string> id_by_alias{&pool};
    std::deque<chunk> chunks; // the last one may be open
    uint64_t first_chunk = 0;
  };

  std::unique_ptr<store> store_ = std::make_unique<store>();
};

} // namespace claud::state
