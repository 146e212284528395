// The ledger in Python: TraceNode, Ledger (open, append, reads, proofs, verify), proof and
// checkpoint checks.
#include "bindings.hpp"

namespace witness::python {

void bind_ledger(py::module_& m) {
  py::class_<PyNode>(m, "TraceNode", "An immutable, content-addressed trace record.")
      .def(
          py::init([](const std::string& origin, const std::string& kind, const py::object& payload,
                      const py::object& timestamp, const std::optional<std::string>& walk,
                      const std::vector<std::string>& tags, const py::object& links) {
            return PyNode{make_node(origin, kind, payload, timestamp, walk, tags, links), {}};
          }),
          py::kw_only(), py::arg("origin"), py::arg("kind"), py::arg("payload") = py::none(),
          py::arg("timestamp") = py::none(), py::arg("walk") = py::none(),
          py::arg("tags") = std::vector<std::string>{}, py::arg("links") = py::none())
      .def_property_readonly("id", [](const PyNode& p) { return p.node.id().to_hex(); })
      .def_property_readonly("seq", [](const PyNode& p) { return p.seq; })
      .def_property_readonly("origin", [](const PyNode& p) { return p.node.origin(); })
      .def_property_readonly("kind", [](const PyNode& p) { return p.node.kind(); })
      .def_property_readonly(
          "timestamp",
          [](const PyNode& p) { return p.node.timestamp().time_since_epoch().count(); })
      .def_property_readonly("walk", [](const PyNode& p) { return p.node.walk(); })
      .def_property_readonly("tags",
                             [](const PyNode& p) {
                               return std::vector<std::string>(p.node.tags().begin(),
                                                               p.node.tags().end());
                             })
      .def_property_readonly("links", [](const PyNode& p) { return links_of(p.node); })
      .def_property_readonly("payload",
                             [](const PyNode& p) { return loads(p.node.payload_json()); })
      .def_property_readonly("payload_json", [](const PyNode& p) { return p.node.payload_json(); })
      .def("to_dict", &node_dict)
      .def("to_json", [](const PyNode& p) { return wl::to_json_line(p.node); })
      .def("__eq__", [](const PyNode& a, const PyNode& b) { return a.node == b.node; })
      .def("__hash__", [](const PyNode& p) { return py::hash(py::str(p.node.id().to_hex())); })
      .def("__repr__", [](const PyNode& p) {
        return "TraceNode(" + (p.seq ? "seq=" + std::to_string(*p.seq) + ", " : std::string()) +
               "id=" + p.node.id().to_hex().substr(0, 12) + ", origin=" + p.node.origin() +
               ", kind=" + p.node.kind() + ")";
      });

  py::class_<QueryIterator>(m, "QueryIterator",
                            "Entries of a query, read lazily from one snapshot.")
      .def("__iter__", [](QueryIterator& it) -> QueryIterator& { return it; })
      .def("__next__", &QueryIterator::next)
      .def_property_readonly("next_cursor", &QueryIterator::next_cursor,
                             "set after a limited query stopped early: pass as cursor=");

  py::class_<PyLedger> ledger(m, "Ledger",
                              "An append-only, hash-chained ledger in a RocksDB directory.");
  ledger
      .def_static(
          "open",
          [](const std::string& path, bool create, bool read_only, const std::string& durability,
             std::optional<bool> gate, const std::string& bypass_note, double wait) {
            if (!(wait >= 0 && wait <= 86400)) {
              throw py::value_error("wait: expected seconds from 0 to 86400");
            }
            wl::OpenOptions o{
                .create_if_missing = create,
                .read_only = read_only,
                .lock_wait = std::chrono::milliseconds(static_cast<std::int64_t>(wait * 1000))};
            if (durability == "sync") {
              o.durability = wl::Durability::kSync;
            } else if (durability != "buffered") {
              throw py::value_error("durability: expected 'buffered' or 'sync'");
            }
            std::optional<wl::Ledger> l;
            {
              py::gil_scoped_release release;
              auto opened = wl::Ledger::open(path, o);
              py::gil_scoped_acquire acquire;
              if (!opened && opened.error().code == witness::ErrorCode::kNotFound &&
                  opened.error().message.starts_with("no ledger at")) {
                // The library's hint names its C++ option; here the option is create=True.
                throw py::key_error("no ledger at " + path +
                                    " (Ledger.open(path, create=True) creates one)");
              }
              l.emplace(unwrap(std::move(opened)));
            }
            return std::make_unique<PyLedger>(std::move(*l), read_only, gate, bypass_note);
          },
          py::arg("path"), py::kw_only(), py::arg("create") = false, py::arg("read_only") = false,
          py::arg("durability") = "buffered", py::arg("gate") = py::none(),
          py::arg("bypass_note") = "", py::arg("wait") = 0.0,
          "Opens a ledger. gate: None (gated once a covenant is registered), True (always; "
          "deny all until one is) or False (ungated; recorded as covenant.bypass). wait: "
          "seconds to wait while another process writes to the ledger (then BlockingIOError "
          "naming it).")
      .def("__enter__", [](PyLedger& l) -> PyLedger& { return l; })
      .def("__exit__", [](PyLedger& l, const py::args&) { l.close(); })
      .def("close", &PyLedger::close)
      .def_property_readonly("closed", &PyLedger::closed)
      .def("__len__", [](PyLedger& l) { return l.get().size(); })
      .def(
          "append",
          [](PyLedger& l, const py::object& node, const std::optional<std::string>& origin,
             const std::optional<std::string>& kind, const py::object& payload,
             const py::object& timestamp, const std::optional<std::string>& walk,
             const std::vector<std::string>& tags, const py::object& links) {
            const wl::TraceNode n = node.is_none()
                                        ? make_node(origin.value_or(""), kind.value_or(""), payload,
                                                    timestamp, walk, tags, links)
                                        : cast_arg<const PyNode&>(node, "node", "a TraceNode").node;
            wl::Appender& out = l.appender();
            const auto done = without_gil([&] { return out.append(n); });
            if (done.refused()) raise_refused(done);
            return PyNode{n, done.result.seq};
          },
          py::arg("node") = py::none(), py::kw_only(), py::arg("origin") = py::none(),
          py::arg("kind") = py::none(), py::arg("payload") = py::none(),
          py::arg("timestamp") = py::none(), py::arg("walk") = py::none(),
          py::arg("tags") = std::vector<std::string>{}, py::arg("links") = py::none(),
          "Appends a node (a TraceNode, or keyword fields) and returns it with its seq.")
      .def(
          "append_batch",
          [](PyLedger& l, const std::vector<PyNode>& nodes) {
            std::vector<wl::TraceNode> batch;
            batch.reserve(nodes.size());
            for (const auto& p : nodes) batch.push_back(p.node);
            wl::Appender& appender = l.appender();
            const auto done =
                without_gil([&] { return appender.append_batch(batch, wl::BatchMode::kAtomic); });
            for (const auto& one : done) {
              if (one.refused()) raise_refused(one);
            }
            std::vector<PyNode> out;
            for (std::size_t i = 0; i < batch.size(); ++i)
              out.push_back({batch[i], done[i].result.seq});
            return out;
          },
          py::arg("nodes"),
          "Appends all nodes atomically, or none (raises; GateRefusedError when the gate refuses "
          "one: its denial is recorded, nothing of the batch is appended).");
  ledger
      .def("get",
           [](PyLedger& l, wl::SequenceNumber seq) {
             auto e = unwrap(l.get().get(seq));
             return PyNode{e.node, e.seq};
           })
      .def("find",
           [](PyLedger& l, const std::string& id) {
             auto e = unwrap(l.get().find(unwrap(wl::Digest::from_hex(id))));
             return PyNode{e.node, e.seq};
           })
      .def(
          "query",
          [](PyLedger& l, const std::optional<std::string>& origin,
             const std::optional<std::string>& kind, const std::optional<std::string>& walk,
             const std::vector<std::string>& tags, const py::object& since, const py::object& until,
             std::optional<wl::SequenceNumber> from_seq, std::optional<wl::SequenceNumber> to_seq,
             bool newest_first, std::optional<std::size_t> limit,
             const std::optional<std::string>& cursor) {
            wl::Query q{.origin = origin,
                        .kind = kind,
                        .walk = walk,
                        .tags = tags,
                        .from_seq = from_seq,
                        .to_seq = to_seq,
                        .order = newest_first ? wl::Order::kNewestFirst : wl::Order::kOldestFirst,
                        .limit = limit};
            if (!since.is_none()) q.since = to_timestamp(since, "since");
            if (!until.is_none()) q.until = to_timestamp(until, "until");
            if (cursor) q.cursor = unwrap(wl::Cursor::parse(*cursor));
            return QueryIterator(l.track(unwrap(l.get().query(q))));
          },
          py::kw_only(), py::arg("origin") = py::none(), py::arg("kind") = py::none(),
          py::arg("walk") = py::none(), py::arg("tags") = std::vector<std::string>{},
          py::arg("since") = py::none(), py::arg("until") = py::none(),
          py::arg("from_seq") = py::none(), py::arg("to_seq") = py::none(),
          py::arg("newest_first") = false, py::arg("limit") = py::none(),
          py::arg("cursor") = py::none(), py::keep_alive<0, 1>(),
          "Iterates the entries matching every given filter, in seq order.")
      .def(
          "lineage",
          [](PyLedger& l, const py::object& start, const std::string& direction, unsigned depth) {
            if (direction != "ancestors" && direction != "descendants") {
              throw py::value_error("direction: expected 'ancestors' or 'descendants'");
            }
            const auto id = id_or_seq(l.get(), start);
            wl::Ledger& led = l.get();
            const auto steps = without_gil([&] {
              return led.lineage(id,
                                 direction == "ancestors" ? wl::Direction::kAncestors
                                                          : wl::Direction::kDescendants,
                                 depth);
            });
            py::list out;
            for (const auto& s : steps) {
              out.append(py::make_tuple(s.depth, std::string(wl::relation_name(s.relation)),
                                        PyNode{s.entry.node, s.entry.seq}));
            }
            return out;
          },
          py::arg("start"), py::arg("direction") = "ancestors", py::arg("depth") = 16,
          "Returns [(depth, relation, node)] reached from start (a seq, hex id or node).")
      .def(
          "replay",
          [](PyLedger& l, const std::function<void(PyNode)>& callback,
             std::optional<wl::SequenceNumber> from_seq, std::optional<wl::SequenceNumber> to_seq,
             bool verify) {
            wl::Ledger& led = l.get();
            const auto summary = without_gil([&] {
              return led.replay({.from_seq = from_seq, .to_seq = to_seq, .verify_chain = verify},
                                [&](const wl::Entry& e) -> witness::Status {
                                  py::gil_scoped_acquire acquire;
                                  callback(PyNode{e.node, e.seq});
                                  return witness::ok_status();
                                });
            });
            return summary.visited;
          },
          py::arg("callback"), py::kw_only(), py::arg("from_seq") = py::none(),
          py::arg("to_seq") = py::none(), py::arg("verify") = false,
          "Calls callback(node) for each entry in seq order; returns how many were visited.")
      .def(
          "verify",
          [](PyLedger& l, const std::optional<std::string>& public_key) {
            const wl::Ledger& led = l.get();
            const auto r = without_gil(
                [&] { return led.verify(wl::VerifyOptions{.public_key = public_key}); });
            py::dict d;
            d["ok"] = r.ok();
            d["entries"] = r.entries;
            d["index_entries"] = r.index_entries;
            d["merkle_nodes"] = r.merkle_nodes;
            d["checkpoints"] = r.checkpoints;
            d["signatures_checked"] = r.signatures_checked;
            d["chain_head"] = r.chain_head.to_hex();
            d["merkle_root"] = r.merkle_root.to_hex();
            if (r.problem) {
              d["problem_seq"] = r.problem->seq;
              d["problem"] = r.problem->what;
            }
            return d;
          },
          py::kw_only(), py::arg("public_key") = py::none(),
          "Full check; returns a report dict whose 'ok' is False with 'problem' and 'problem_seq'. "
          "public_key (a verifier key, as Ledger.verifier_key or `witness checkpoint "
          "--public-key` give it) checks every stored checkpoint's signature; without it the "
          "ledger's own key is used when readable, and 'signatures_checked' says whether they "
          "were.")
      .def(
          "inclusion_proof",
          [](PyLedger& l, wl::SequenceNumber seq, std::optional<std::uint64_t> size) {
            return loads(wl::to_proof_json(unwrap(l.get().inclusion_proof(seq, size))));
          },
          py::arg("seq"), py::arg("size") = py::none())
      .def("consistency_proof",
           [](PyLedger& l, std::uint64_t size1, std::uint64_t size2) {
             return loads(wl::to_proof_json(unwrap(l.get().consistency_proof(size1, size2))));
           })
      .def("checkpoint", [](PyLedger& l) { return unwrap(l.get().checkpoint()); })
      .def_property_readonly("verifier_key", [](PyLedger& l) { return l.get().verifier_key(); })
      .def_property_readonly("stats", [](PyLedger& l) {
        const auto s = l.get().stats();
        py::dict d;
        d["size"] = s.size;
        d["chain_head"] = s.chain_head.to_hex();
        d["merkle_root"] = s.merkle_root.to_hex();
        d["format_version"] = s.format_version;
        d["ledger_id"] = s.ledger_id;
        return d;
      });

  m.def(
      "verify_proof",
      [](const py::object& proof) {
        const std::string text =
            py::isinstance<py::str>(proof) ? proof.cast<std::string>() : dumps(proof);
        const auto claim = unwrap(wl::parse_proof_json(text));
        return wl::verify_claim(claim).has_value();
      },
      py::arg("proof"), "Checks an inclusion or consistency proof (dict or JSON) with no ledger.");
  m.def(
      "verify_checkpoint",
      [](const std::string& note, const std::string& public_key) {
        auto cp = wl::verify_checkpoint(note, public_key);
        if (!cp) {
          if (cp.error().code == witness::ErrorCode::kCorruption) return py::object(py::none());
          raise(cp.error());
        }
        py::dict d;
        d["origin"] = cp->origin;
        d["size"] = cp->size;
        d["root"] = cp->root.to_hex();
        return py::object(d);
      },
      py::arg("note"), py::arg("public_key"),
      "Returns {'origin','size','root'} when the note is signed by that key, else None.");
  m.def("canonicalize_json",
        [](const std::string& text) { return unwrap(wl::canonicalize_json(text)); });
}

}  // namespace witness::python
