// The cluster in Python (docs/cluster.md): append through the stream, acknowledged once a
// quorum of replicas applied and synced each node, and checkpoints cosigned by the replicas.
#include "witness/cluster/cluster.hpp"

#include "bindings.hpp"

namespace witness::python {
namespace {

namespace cl = witness::cluster;

struct PyCluster {
  cl::NatsOptions nats;
  std::size_t quorum = 2;
  std::unique_ptr<cl::Client> client;
};

}  // namespace

void bind_cluster(py::module_& m) {
  py::class_<PyCluster>(m, "Cluster",
                        "A cluster's stream: append nodes through it, ask its replicas for a "
                        "cosigned checkpoint (docs/cluster.md).")
      .def(py::init([](const std::string& nats, const std::string& stream, std::size_t quorum,
                       double timeout) {
             if (timeout <= 0) throw py::value_error("timeout: expected seconds > 0");
             auto p = std::make_unique<PyCluster>();
             p->nats = {.servers = cl::split_servers(nats), .stream = stream};
             p->quorum = quorum;
             const auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000));
             p->client = without_gil([&] {
               return cl::Client::connect(p->nats, {.quorum = quorum, .ack_timeout = ms});
             });
             return p;
           }),
           py::arg("nats"), py::kw_only(), py::arg("stream") = "witness", py::arg("quorum") = 2,
           py::arg("timeout") = 30.0,
           "Connects to NATS (servers comma-separated). `quorum` replicas must have applied a "
           "node before append() returns it; `timeout` in seconds, then BlockingIOError (safe "
           "to retry: ids deduplicate).")
      .def(
          "append",
          [](PyCluster& c, const py::iterable& nodes) {
            std::vector<wl::TraceNode> list;
            for (const auto& n : nodes) list.push_back(n.cast<const PyNode&>().node);
            const auto acks = without_gil([&] { return c.client->append(list); });
            py::list out;
            for (const auto& a : acks) {
              py::dict d;
              d["seq"] = a.seq;
              d["id"] = a.id.to_hex();
              d["outcome"] = std::string(cl::outcome_name(a.outcome));
              if (a.outcome != cl::Outcome::kAppended) {
                d["reason"] = a.reason;
                d["detail"] = a.detail;
              }
              out.append(d);
            }
            return out;
          },
          py::arg("nodes"),
          "Publishes TraceNodes in order and returns, once a quorum of replicas applied each, "
          "[{'seq', 'id', 'outcome'} (+ 'reason', 'detail' when denied or rejected)].")
      .def(
          "checkpoint",
          [](const PyCluster& c, std::optional<std::uint64_t> size, std::size_t quorum,
             double wait) {
            const auto got = without_gil([&] {
              return cl::cosign_checkpoint(
                  c.nats,
                  {.size = size,
                   .quorum = quorum,
                   .wait = std::chrono::milliseconds(static_cast<std::int64_t>(wait * 1000))});
            });
            py::list forks;
            for (const auto& f : got.forks) {
              py::dict d;
              d["replica"] = f.replica;
              d["root"] = f.root.to_hex();
              d["note"] = f.note;
              forks.append(d);
            }
            py::dict d;
            d["note"] = got.note;
            d["size"] = got.checkpoint.size;
            d["root"] = got.checkpoint.root.to_hex();
            d["signers"] = got.signers;
            d["verifier_keys"] = got.verifier_keys;
            d["forks"] = forks;
            d["behind"] = got.behind;
            return d;
          },
          py::kw_only(), py::arg("size") = py::none(), py::arg("quorum") = 2, py::arg("wait") = 1.0,
          "Asks every replica to sign its tree head at `size` (default: the largest a quorum "
          "holds) and returns {'note', 'size', 'root', 'signers', 'verifier_keys', 'forks', "
          "'behind'}; BlockingIOError when fewer than `quorum` agree.");
  m.def(
      "verify_checkpoint_quorum",
      [](const std::string& note, const std::vector<std::string>& public_keys, std::size_t quorum) {
        auto q = wl::verify_checkpoint_quorum(note, public_keys, quorum);
        if (!q) {
          if (q.error().code == witness::ErrorCode::kCorruption) return py::object(py::none());
          raise(q.error());
        }
        py::dict d;
        d["origin"] = q->checkpoint.origin;
        d["size"] = q->checkpoint.size;
        d["root"] = q->checkpoint.root.to_hex();
        d["signers"] = q->signers;
        return py::object(d);
      },
      py::arg("note"), py::arg("public_keys"), py::arg("quorum"),
      "Returns {'origin','size','root','signers'} when at least `quorum` of the keys signed "
      "the note validly, else None.");
}

}  // namespace witness::python
