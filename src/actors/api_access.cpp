#include "actors/api_access.hpp"

#include <fmt/format.h>

#include "claud/protocol.hpp"

namespace claud {

/// Why the sender of the current message may not ask for `needed`; none when it may. Without
/// TLS every peer may ask anything (loopback, or --insecure); this process's own actors always.
caf::error refusal(api_self self, access needed) {
  auto* identities = self->state.identities;
  const auto& sender = self->current_sender();
  if (!sender || sender->node() == self->node())
    return caf::none;
  if (needed == access::internal)
    return make_error(errc::forbidden, "that message is internal to a master");
  if (!identities)
    return caf::none;
  auto who = identities->find(sender->node());
  if (!who)
    return make_error(errc::forbidden, "this master does not know the sender's certificate");
  auto role = who->role;
  bool allowed = role == net::peer_role::master
                 || (needed == access::read && role != net::peer_role::slave)
                 || (needed == access::operate && role == net::peer_role::client)
                 || (needed == access::slave && role == net::peer_role::slave);
  if (allowed)
    return caf::none;
  const char* may = role == net::peer_role::reader  ? "may only read"
                    : role == net::peer_role::slave ? "may only register and report"
                                                    : "may not send what masters and slaves send";
  return make_error(errc::forbidden,
                    fmt::format("the {} certificate \"{}\" {}; use a certificate of role {}",
                                net::to_string(role), who->name, may,
                                needed == access::slave    ? "slave"
                                : needed == access::master ? "master"
                                                           : "client"));
}

} // namespace claud
