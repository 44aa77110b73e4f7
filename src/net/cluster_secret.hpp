#pragma once
// The cluster secret that authenticates discovery beacons (--secret-file): a file of its owner
// only, made by `claud tls secret` (64 hex digits: 256 random bits, easy to copy between hosts).

#include <stdexcept>
#include <string>

namespace claud::net {

struct secret_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The secret in `path`: its bytes, one trailing newline dropped. Throws secret_error with one
/// line when the file cannot be read, may be read by others (run chmod 600), or holds fewer than
/// min_secret_bytes or more than max_secret_bytes (net/beacon_codec.hpp).
std::string read_cluster_secret(const std::string& path);

/// Writes a new random secret to `path` (mode 0600, never over an existing file). Throws
/// secret_error with one line.
void make_cluster_secret(const std::string& path);

} // namespace claud::net
