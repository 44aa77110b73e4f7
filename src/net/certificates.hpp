#pragma once
// The cluster's certificates, made and read with libcrypto (`claud tls ca`, `claud tls cert`, and
// every node and client that loads its files).
//
// A cluster CA signs one certificate per node and per user. The certificate names its holder
// (subject CN) and its role (subject OU, one of the roles below): a connection is refused unless
// the peer's certificate chains to the cluster CA, and what the peer may ask for follows from its
// role (see peer_identities). Keys are EC P-256 (fast handshakes), written with mode 0600; a key
// file anyone else can read is refused when it is loaded.

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

struct x509_st;

namespace claud::net {

/// What a certificate lets its holder do. Ordered: each role is trusted with less than the one
/// before it, except that slave and reader are incomparable.
enum class peer_role { master, client, reader, slave };

/// "master", "client", "reader", "slave".
const char* to_string(peer_role role);

/// The role named by `text`; throws std::invalid_argument naming the roles otherwise.
peer_role parse_peer_role(const std::string& text);

/// A certificate or key that cannot be made, read or trusted; the message is one line.
class certificate_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct certificate_request {
  peer_role role = peer_role::client;
  std::string name;                      // subject CN: the node id or the user's name
  std::vector<std::string> ip_addresses; // subjectAltName IP entries
  std::vector<std::string> dns_names;    // subjectAltName DNS entries
  std::chrono::hours lifetime{24 * 365};
};

/// OpenSSL's last error as one line (and the error queue cleared).
std::string last_openssl_error();

/// Writes DIR/ca.pem and DIR/ca-key.pem, a self-signed CA named after the cluster; refuses to
/// overwrite either.
void make_certificate_authority(const std::string& dir, const std::string& cluster_name,
                                std::chrono::hours lifetime);

/// Writes DIR/NAME.pem and DIR/NAME-key.pem, signed by DIR/ca.pem and DIR/ca-key.pem; refuses to
/// overwrite either. Returns the certificate's path.
std::string issue_certificate(const std::string& dir, const certificate_request& request);

/// Throws certificate_error unless `path` is a regular file that only its owner may read or
/// write (a private key).
void check_private_key_file(const std::string& path);

/// The holder of the PEM certificate at `path`: its role and name; throws certificate_error.
struct certificate_holder {
  peer_role role;
  std::string name;
};
certificate_holder read_certificate_holder(const std::string& path);

/// The holder of a certificate a peer presented (OpenSSL's X509); throws certificate_error when
/// it names no role.
certificate_holder holder_of_certificate(const x509_st* certificate);

} // namespace claud::net
