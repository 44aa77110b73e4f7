#include "state/frozen_records.hpp"

#include <stdexcept>

namespace claud::state {

namespace {

/// A key to look an id up with, from the default heap (short ids need none): only the index's own
/// keys belong in its pool.
std::pmr::string lookup_key(const std::string& id) {
  return std::pmr::string{id};
}

} // namespace

frozen_records::chunk& frozen_records::open_chunk() {
  if (!store_->chunks.empty() && !store_->chunks.back().sealed)
    return store_->chunks.back();
  store_->chunks.emplace_back();
  store_->chunks.back().open.reserve(chunk_bytes);
  return store_->chunks.back();
}

void frozen_records::add(const std::string& id, int64_t time_ms, std::string_view bytes,
                         const std::string& alias) {
  if (store_->by_id.count(lookup_key(id)) != 0)
    throw std::logic_error("frozen_records: record " + id + " is already kept");
  if (!alias.empty()
      && !store_->id_by_alias.try_emplace(std::pmr::string{alias, &store_->pool}, id).second)
    throw std::logic_error("frozen_records: alias " + alias + " is already kept");
  chunk& c = open_chunk();
  const auto seq = store_->first_chunk + store_->chunks.size() - 1;
  c.records.push_back({std::pmr::string{id, &store_->pool}, std::pmr::string{alias, &store_->pool},
                       time_ms, static_cast<uint32_t>(c.open.size()),
                       static_cast<uint32_t>(bytes.size())});
  c.open.append(bytes);
  store_->by_id.emplace(c.records.back().id,
                        location{seq, static_cast<uint32_t>(c.records.size() - 1)});
  if (c.open.size() >= chunk_bytes) {
    c.open.shrink_to_fit();
    c.sealed = std::make_shared<const std::string>(std::move(c.open));
    c.open = {};
  }
}

std::optional<std::string_view> frozen_records::find(const std::string& id) const {
  auto i = store_->by_id.find(lookup_key(id));
  if (i == store_->by_id.end())
    return std::nullopt;
  const chunk& c = store_->chunks[i->second.chunk - store_->first_chunk];
  const record& r = c.records[i->second.record];
  return std::string_view{c.bytes()}.substr(r.offset, r.length);
}

std::optional<std::string> frozen_records::id_of_alias(const std::string& alias) const {
  auto i = store_->id_by_alias.find(lookup_key(alias));
  if (i == store_->id_by_alias.end())
    return std::nullopt;
  return std::string{i->second};
}

void frozen_records::for_each(const std::function<void(std::string_view bytes)>& visit) const {
  for (const auto& c : store_->chunks) {
    const std::string_view bytes{c.bytes()};
    for (const auto& r : c.records)
      visit(bytes.substr(r.offset, r.length));
  }
}

void frozen_records::remove_older(
    int64_t before_ms,
    const std::function<void(std::string_view id, std::string_view bytes)>& removed) {
  for (size_t k = 0; k < store_->chunks.size(); ++k) {
    const chunk& c = store_->chunks[k];
    const std::string_view bytes{c.bytes()};
    std::vector<bool> keep(c.records.size(), true);
    size_t kept = c.records.size();
    for (size_t r = 0; r < c.records.size(); ++r) {
      const record& rec = c.records[r];
      if (rec.time_ms >= before_ms)
        continue;
      removed(rec.id, bytes.substr(rec.offset, rec.length));
      store_->by_id.erase(rec.id);
      if (!rec.alias.empty())
        store_->id_by_alias.erase(rec.alias);
      keep[r] = false;
      --kept;
    }
    if (kept != c.records.size())
      rewrite(store_->first_chunk + k, keep);
  }
  // Emptied chunks at the front go; one in the middle stays, empty, until those before it do
  // (the sequence numbers of the chunks after it must not move).
  while (!store_->chunks.empty() && store_->chunks.front().records.empty()
         && store_->chunks.front().sealed) {
    store_->chunks.pop_front();
    ++store_->first_chunk;
  }
}

void frozen_records::rewrite(uint64_t seq, const std::vector<bool>& keep) {
  chunk& c = store_->chunks[seq - store_->first_chunk];
  const std::string_view old_bytes{c.bytes()};
  std::string bytes;
  std::vector<record> records;
  for (size_t r = 0; r < c.records.size(); ++r) {
    if (!keep[r])
      continue;
    record moved = std::move(c.records[r]);
    const auto old_offset = moved.offset;
    moved.offset = static_cast<uint32_t>(bytes.size());
    bytes.append(old_bytes.substr(old_offset, moved.length));
    store_->by_id[moved.id] = location{seq, static_cast<uint32_t>(records.size())};
    records.push_back(std::move(moved));
  }
  c.records = std::move(records);
  if (c.sealed) {
    // A snapshot may still hold the old bytes: they are replaced, never changed.
    c.sealed = std::make_shared<const std::string>(std::move(bytes));
  } else {
    c.open = std::move(bytes);
    c.open.reserve(chunk_bytes);
  }
}

std::vector<shared_bytes> frozen_records::chunks() const {
  std::vector<shared_bytes> out;
  out.reserve(store_->chunks.size());
  for (const auto& c : store_->chunks) {
    if (c.records.empty())
      continue;
    out.push_back(c.sealed ? c.sealed : std::make_shared<const std::string>(c.open));
  }
  return out;
}

} // namespace claud::state
