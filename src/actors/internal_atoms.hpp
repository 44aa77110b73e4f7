#pragma once
// Atoms of messages between the actors inside one claud process (the public ones are in
// include/claud/protocol.hpp). Atoms are at most 10 characters.

#include <caf/atom.hpp>

namespace claud {

using propose_atom = caf::atom_constant<caf::atom("propose")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using view_atom = caf::atom_constant<caf::atom("view")>;
using place_atom = caf::atom_constant<caf::atom("place")>;
using job_update_atom = caf::atom_constant<caf::atom("jobupdate")>;
using node_update_atom = caf::atom_constant<caf::atom("nodeupdate")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;
using escalate_atom = caf::atom_constant<caf::atom("escalate")>;
using link_to_atom = caf::atom_constant<caf::atom("linkto")>;
using relay_atom = caf::atom_constant<caf::atom("relay")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using peer_down_atom = caf::atom_constant<caf::atom("peerdown")>;
using peer_up_atom = caf::atom_constant<caf::atom("peerup")>;
using role_atom = caf::atom_constant<caf::atom("role")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using resend_atom = caf::atom_constant<caf::atom("resend")>;
using started_atom = caf::atom_constant<caf::atom("started")>;
using drained_atom = caf::atom_constant<caf::atom("drained")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using disk_atom = caf::atom_constant<caf::atom("disk")>;
using snapshot_written_atom = caf::atom_constant<caf::atom("snapwrote")>;
using discovered_atom = caf::atom_constant<caf::atom("discovered")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;

} // namespace claud
