// The Python module `witness` (SPEC 9): the ledger, its nodes, proofs and checkpoints, in
// Python's idiom. Errors raise exceptions carrying the library's message; long operations
// release the GIL.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include "witness/covenant/appender.hpp"
#include "witness/covenant/gated_ledger.hpp"
#include "witness/covenant/manifest.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/detect/detector.hpp"
#include "witness/detect/detector_run.hpp"
#include "witness/detect/traffic.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/ledger.hpp"
#include "witness/ledger/proof_json.hpp"
#include "witness/vsa/atoms.hpp"
#include "witness/vsa/encoder.hpp"
#include "witness/vsa/ops.hpp"

namespace py = pybind11;
namespace wl = witness::ledger;
namespace wv = witness::vsa;
namespace detect = witness::detect;
namespace cv = witness::covenant;

namespace {

// Raised for corruption and failed verification; the other codes map to built-in exceptions.
PyObject* g_corruption_error = nullptr;
// Raised when the gate refuses an append (a PermissionError).
PyObject* g_gate_refused_error = nullptr;

[[noreturn]] void raise(const witness::Error& e) {
  switch (e.code) {
    case witness::ErrorCode::kInvalidArgument:
      throw py::value_error(e.message);
    case witness::ErrorCode::kNotFound:
      throw py::key_error(e.message);
    case witness::ErrorCode::kCorruption:
      PyErr_SetString(g_corruption_error, e.message.c_str());
      throw py::error_already_set();
    case witness::ErrorCode::kIOError: {
      PyErr_SetString(PyExc_OSError, e.message.c_str());
      throw py::error_already_set();
    }
    case witness::ErrorCode::kUnavailable: {
      // In use by another process: OSError's "resource temporarily unavailable" (EAGAIN).
      PyErr_SetString(PyExc_BlockingIOError, e.message.c_str());
      throw py::error_already_set();
    }
    default:
      throw std::runtime_error(e.message);
  }
}

template <typename T>
T unwrap(witness::Result<T> r) {
  if (!r) raise(r.error());
  return std::move(r).value();
}

void unwrap(const witness::Status& s) {
  if (!s) raise(s.error());
}

// Runs f() (which returns a Result) with the GIL released, then unwraps it with the GIL held:
// raising sets the Python error indicator, which needs the GIL.
template <typename F>
auto without_gil(F&& f) {
  std::optional<decltype(f())> r;
  {
    py::gil_scoped_release release;
    r.emplace(f());
  }
  return unwrap(std::move(*r));
}

// Converts an argument, raising TypeError naming it and the expected type (pybind11's own
// cast error is a RuntimeError that names neither).
template <typename T>
T cast_arg(const py::handle& value, const std::string& what, const char* expected) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(what + ": expected " + expected + ", got " +
                         py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
  }
}

wl::Timestamp to_timestamp(const py::object& value, const char* what) {
  if (py::isinstance<py::int_>(value)) {
    return wl::Timestamp(std::chrono::nanoseconds(
        cast_arg<std::int64_t>(value, what, "an int within the int64 nanosecond range")));
  }
  if (py::isinstance<py::str>(value)) return unwrap(wl::parse_rfc3339(value.cast<std::string>()));
  throw py::type_error(std::string(what) + ": expected int nanoseconds or an RFC 3339 string");
}

// json.dumps and json.loads, looked up once when the module is imported (under the import
// lock). A function-local static initialised on first use deadlocked: a thread that held the
// GIL waited on the static's guard while the initialising thread, inside import, waited for the
// GIL. Never freed: they live as long as the interpreter.
const py::object* g_json_dumps = nullptr;
const py::object* g_json_loads = nullptr;

std::string dumps(const py::object& value) {
  return (*g_json_dumps)(value, py::arg("ensure_ascii") = false).cast<std::string>();
}

py::object loads(const std::string& text) { return (*g_json_loads)(text); }

// A node as Python sees it: the TraceNode and, when it came from a ledger, its seq.
struct PyNode {
  wl::TraceNode node;
  std::optional<wl::SequenceNumber> seq;
};

py::list links_of(const wl::TraceNode& n) {
  py::list out;
  for (const auto& l : n.links()) {
    out.append(py::make_tuple(std::string(wl::relation_name(l.relation)), l.target.to_hex()));
  }
  return out;
}

py::dict node_dict(const PyNode& p) {
  const auto& n = p.node;
  py::dict d;
  if (p.seq) d["seq"] = *p.seq;
  d["id"] = n.id().to_hex();
  d["origin"] = n.origin();
  d["kind"] = n.kind();
  d["timestamp"] = n.timestamp().time_since_epoch().count();
  d["walk"] = n.walk() ? py::cast(*n.walk()) : py::none();
  d["tags"] = std::vector<std::string>(n.tags().begin(), n.tags().end());
  d["links"] = links_of(n);
  d["payload"] = loads(n.payload_json());
  return d;
}

// Builds a TraceNode from keyword arguments. Links: [(relation, target)] where target is a hex
// id or a TraceNode.
wl::TraceNode make_node(const std::string& origin, const std::string& kind,
                        const py::object& payload, const py::object& timestamp,
                        const std::optional<std::string>& walk,
                        const std::vector<std::string>& tags, const py::object& links) {
  wl::NodeDraft d;
  d.origin = origin;
  d.kind = kind;
  if (!timestamp.is_none()) d.timestamp = to_timestamp(timestamp, "timestamp");
  d.walk = walk;
  d.tags = tags;
  if (payload.is_none()) {
    d.payload_json = "{}";
  } else if (py::isinstance<py::str>(payload)) {
    d.payload_json = cast_arg<std::string>(payload, "payload", "a str or a JSON-able object");
  } else {
    d.payload_json = dumps(payload);
  }
  if (!links.is_none()) {
    for (const auto& item : links) {
      if (!py::isinstance<py::tuple>(item) && !py::isinstance<py::list>(item)) {
        throw py::type_error("links: expected (relation, target) pairs");
      }
      const auto pair = py::reinterpret_borrow<py::sequence>(item);
      if (pair.size() != 2) throw py::value_error("links: expected (relation, target) pairs");
      const auto relation = unwrap(wl::parse_relation(
          cast_arg<std::string>(pair[0], "links: relation", "a str such as 'causes'")));
      wl::NodeId target;
      if (py::isinstance<PyNode>(pair[1])) {
        target = pair[1].cast<const PyNode&>().node.id();
      } else {
        auto parsed = wl::Digest::from_hex(
            cast_arg<std::string>(pair[1], "links: target", "a hex id or a TraceNode"));
        if (!parsed) raise(parsed.error().with_context("links: target"));
        target = *parsed;
      }
      d.links.push_back(wl::Link{relation, target});
    }
  }
  return unwrap(wl::TraceNode::create(std::move(d)));
}

// A query in progress. Owned by its QueryIterator and watched by its Ledger: close() (or the
// Ledger's destruction) drops the RocksDB iterator and snapshot first, so that closing the
// database never finds one still open (RocksDB asserted `last_ref` and aborted), and next() then
// raises instead of reading freed memory.
struct QueryState {
  std::optional<wl::QueryResult> result;  // empty once the ledger is closed
  wl::QueryResult::iterator it;
  bool started = false;
  pid_t owner = 0;  // the process whose ledger made it
};

// Who a Python process acts as, for covenant records (issuer, bypass): python:<user>.
std::string python_user() {
  const char* user = std::getenv("USER");  // NOLINT(concurrency-mt-unsafe): read only
  return std::string("python:") + (user != nullptr && *user != '\0' ? user : "unknown");
}

// The Python Ledger: owns the C++ Ledger until close(), and in front of its appends the gate
// (SPEC 5.5), as `witness append` does: on once a covenant is registered (gate=None), always
// (gate=True: deny all until one is), or off (gate=False: the first append then records a
// covenant.bypass node, covenants or not, so that ungated writes stay audited).
class PyLedger {
 public:
  PyLedger(wl::Ledger ledger, bool read_only, std::optional<bool> gate, std::string bypass_note)
      : ledger_(std::make_unique<wl::Ledger>(std::move(ledger))), owner_(getpid()) {
    if (!read_only) {
      appender_ = unwrap(
          cv::PolicyAppender::open(*ledger_, {.gate = gate == true    ? cv::GateMode::kOn
                                                      : gate == false ? cv::GateMode::kOff
                                                                      : cv::GateMode::kAuto,
                                              .who = python_user(),
                                              .command = "witness.Ledger.append (gate=False)",
                                              .bypass_note = std::move(bypass_note)}));
    } else {
      read_only_ = wl::plain_appender(*ledger_);
    }
  }
  PyLedger(const PyLedger&) = delete;
  PyLedger& operator=(const PyLedger&) = delete;
  ~PyLedger() {
    if (forked()) {
      abandon();
      return;
    }
    end_queries();  // the handles below close after them
  }

  wl::Ledger& get() {
    if (forked()) {
      // A forked child shares the parent's open files and RocksDB state: two processes
      // appending through one handle gave both the same seq and lost an acknowledged write.
      throw std::runtime_error("this Ledger was opened by process " + std::to_string(owner_) +
                               "; after os.fork() the child must open the ledger itself");
    }
    if (!ledger_) throw std::runtime_error("the ledger is closed");
    return *ledger_;
  }
  // Registers a query so that close() can end it first.
  std::shared_ptr<QueryState> track(wl::QueryResult result) {
    auto state = std::make_shared<QueryState>();
    state->result.emplace(std::move(result));
    state->owner = owner_;
    std::erase_if(queries_, [](const std::weak_ptr<QueryState>& q) { return q.expired(); });
    queries_.push_back(state);
    return state;
  }
  // The appender every append goes through: the gate policy (covenant/appender.hpp).
  // Read-only: the ledger itself, whose appends fail saying it is read-only.
  wl::Appender& appender() {
    get();
    if (!appender_) return *read_only_;
    return *appender_;
  }
  // The gate to record grants and revocations in: the live one, or one loaded for the call.
  template <typename F>
  auto with_gate(F&& f) {
    if (appender_ && appender_->gate() != nullptr) return f(*appender_->gate());
    auto loaded = unwrap(cv::load_gate(get()));
    return f(loaded.gate);
  }
  void close() {
    if (forked()) {
      abandon();  // the parent's handles are the parent's to close
      return;
    }
    end_queries();
    witness::Status settled = witness::ok_status();
    {
      py::gil_scoped_release release;
      if (appender_) settled = appender_->close();  // gives back unspent leases
      appender_.reset();
      read_only_.reset();
      if (ledger_) {
        const auto closed = ledger_->close();
        if (settled && !closed) settled = closed;
      }
      ledger_.reset();
    }
    if (!settled) raise(settled.error());
  }
  [[nodiscard]] bool closed() const { return ledger_ == nullptr; }

 private:
  [[nodiscard]] bool forked() const { return getpid() != owner_; }
  void end_queries() {
    for (const auto& q : queries_) {
      if (auto state = q.lock()) state->result.reset();
    }
    queries_.clear();
  }
  // In a forked child: let go of the parent's handles without closing them (a close would
  // sync, settle leases and release locks that belong to the parent).
  void abandon() {
    (void)appender_.release();   // NOLINT(bugprone-unused-return-value): leaked on purpose
    (void)read_only_.release();  // NOLINT(bugprone-unused-return-value)
    (void)ledger_.release();
    queries_.clear();
  }

  std::unique_ptr<wl::Ledger> ledger_;
  std::unique_ptr<cv::PolicyAppender> appender_;  // after ledger_: destroyed before it
  std::unique_ptr<wl::Appender> read_only_;       // when opened read-only
  pid_t owner_;
  std::vector<std::weak_ptr<QueryState>> queries_;
};

// Raises GateRefusedError for a refused gated append: the gate's explanation and the seq of
// the covenant.denial node it recorded.
[[noreturn]] void raise_refused(const wl::Appended& a) {
  PyErr_SetString(g_gate_refused_error, a.refusal_message().c_str());
  throw py::error_already_set();
}

py::dict listing_dict(const cv::Gate& gate, const cv::Gate::Listing& l) {
  py::dict d;
  d["id"] = l.covenant.id;
  d["subject"] = l.covenant.subject;
  d["issuer"] = l.covenant.issuer;
  d["parent"] = l.covenant.parent ? py::cast(*l.covenant.parent) : py::none();
  d["revoked"] = l.revoked;
  d["in_force"] = l.in_force;
  py::dict budget;
  py::dict spent;
  const auto used = gate.spent(l.covenant.id);
  for (const auto dim : cv::kAllDimensions) {
    const auto i = static_cast<std::size_t>(dim);
    const std::string name(cv::dimension_name(dim));
    if (l.covenant.rights.budget.limit[i])
      budget[name.c_str()] = *l.covenant.rights.budget.limit[i];
    if (used) spent[name.c_str()] = used->amount[i];
  }
  d["budget"] = budget;
  d["spent"] = spent;
  return d;
}

// A lazy query. Its Ledger ends it at close(): next() then raises ValueError.
class QueryIterator {
 public:
  explicit QueryIterator(std::shared_ptr<QueryState> state) : state_(std::move(state)) {}
  PyNode next() {
    if (getpid() != state_->owner) {
      throw std::runtime_error("this query was made by process " + std::to_string(state_->owner) +
                               "; after os.fork() the child must open the ledger itself");
    }
    if (!state_->result) throw std::runtime_error("the ledger is closed: the query cannot go on");
    auto& result = *state_->result;
    if (!state_->started) {
      state_->started = true;
      state_->it = result.begin();
    } else {
      ++state_->it;
    }
    if (state_->it == result.end()) {
      unwrap(result.status());
      throw py::stop_iteration();
    }
    return PyNode{state_->it->node, state_->it->seq};
  }
  [[nodiscard]] std::optional<std::string> next_cursor() const {
    if (!state_->result) return std::nullopt;
    const auto c = state_->result->next_cursor();
    if (!c) return std::nullopt;
    return c->to_string();
  }

 private:
  std::shared_ptr<QueryState> state_;
};

wl::Digest id_or_seq(wl::Ledger& l, const py::object& ref) {
  if (py::isinstance<py::int_>(ref)) {
    if (ref.cast<py::int_>() < py::int_(0)) throw py::value_error("seq: must not be negative");
    return unwrap(l.get(cast_arg<wl::SequenceNumber>(ref, "seq", "an int below 2^64"))).node.id();
  }
  if (py::isinstance<PyNode>(ref)) return ref.cast<const PyNode&>().node.id();
  return unwrap(
      wl::Digest::from_hex(cast_arg<std::string>(ref, "ref", "a seq, hex id or TraceNode")));
}

}  // namespace

PYBIND11_MODULE(witness, m) {
  m.doc() = "witness: an append-only, tamper-evident trace ledger";
  {
    const py::module_ json = py::module_::import("json");
    g_json_dumps = new py::object(json.attr("dumps"));  // NOLINT(cppcoreguidelines-owning-memory)
    g_json_loads = new py::object(json.attr("loads"));  // NOLINT(cppcoreguidelines-owning-memory)
  }
  static py::exception<std::runtime_error> corruption(m, "CorruptionError", PyExc_RuntimeError);
  g_corruption_error = corruption.ptr();
  static py::exception<std::runtime_error> refused(m, "GateRefusedError", PyExc_PermissionError);
  g_gate_refused_error = refused.ptr();

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

  py::class_<PyLedger>(m, "Ledger", "An append-only, hash-chained ledger in a RocksDB directory.")
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
          "one: its denial is recorded, nothing of the batch is appended).")
      .def(
          "register_agent",
          [](PyLedger& l, const py::object& manifest, const std::optional<std::string>& issuer) {
            std::string yaml;
            if (py::isinstance(manifest, py::module_::import("os").attr("PathLike"))) {
              const auto path = py::str(manifest).cast<std::string>();
              std::ifstream in(path, std::ios::binary);
              if (!in) throw py::value_error("cannot open " + path);
              std::stringstream text;
              text << in.rdbuf();
              yaml = text.str();
            } else {
              yaml = manifest.cast<std::string>();
            }
            const auto m = unwrap(cv::parse_manifest(yaml));
            const cv::Covenant c = cv::covenant_from(m, issuer.value_or(python_user()));
            const auto r = l.with_gate([&](cv::Gate& gate) {
              return unwrap(cv::record_grant(l.get(), gate, c,
                                             {.version = m.version, .description = m.description}));
            });
            py::dict d;
            d["covenant"] = c.id;
            d["subject"] = c.subject;
            d["seq"] = r.seq;
            return d;
          },
          py::arg("manifest"), py::kw_only(), py::arg("issuer") = py::none(),
          "Registers an agent: manifest is YAML text (str) or a path (pathlib.Path). Records its "
          "covenant.grant; returns {'covenant', 'subject', 'seq'}.")
      .def(
          "revoke_agent",
          [](PyLedger& l, const std::string& covenant_id, const std::string& reason) {
            const auto r = l.with_gate([&](cv::Gate& gate) {
              return unwrap(cv::record_revoke(l.get(), gate, covenant_id, reason));
            });
            return r.seq;
          },
          py::arg("covenant"), py::arg("reason") = "",
          "Revokes a covenant (and those derived from it); returns the covenant.revoke seq.")
      .def(
          "record_detector_run",
          [](PyLedger& l, const py::iterable& records, const py::object& config,
             bool record_inputs) {
            detect::DetectorConfig c;
            if (!config.is_none()) {
              c = unwrap(detect::DetectorConfig::from_json(
                  py::isinstance<py::str>(config) ? config.cast<std::string>() : dumps(config)));
            }
            // Records as text first (dicts through json.dumps), then the run without the GIL.
            std::vector<std::string> lines;
            for (const auto& r : records) {
              lines.push_back(py::isinstance<py::str>(r)
                                  ? r.cast<std::string>()
                                  : dumps(py::reinterpret_borrow<py::object>(r)));
            }
            wl::Ledger& led = l.get();
            std::size_t at = 0;
            const auto outcome = without_gil([&] {
              return witness::detect::run_detector(c,
                                                   [&](std::string& line) -> witness::Result<bool> {
                                                     if (at == lines.size()) return false;
                                                     line = lines[at++];
                                                     return true;
                                                   },
                                                   {.keep_lines = record_inputs});
            });
            const auto recorded = without_gil([&] {
              return witness::detect::record_run(led, c, outcome,
                                                 record_inputs ? witness::detect::Inputs::kRecord
                                                               : witness::detect::Inputs::kOmit);
            });
            py::list alerts;
            for (const auto& a : outcome.alerts) alerts.append(loads(a.to_json()));
            py::dict d;
            d["run"] = recorded.run_id;
            d["seq"] = recorded.run_seq;
            d["walk"] = recorded.walk;
            d["records"] = outcome.records;
            d["input_sha256"] = outcome.input_sha256;
            d["alerts"] = alerts;
            d["alert_seqs"] = recorded.alert_seqs;
            return d;
          },
          py::arg("records"), py::kw_only(), py::arg("config") = py::none(),
          py::arg("record_inputs") = false,
          "Runs the detector over records (dicts or JSON lines) and records the run as "
          "`witness detect` does: detector.run, detector.input (record_inputs=True) and "
          "detector.alert nodes in one atomic batch. Returns {'run', 'seq', 'walk', 'records', "
          "'input_sha256', 'alerts', 'alert_seqs'}.")
      .def(
          "rerun_detector",
          [](PyLedger& l, const std::string& run_id) {
            const auto id = unwrap(wl::Digest::from_hex(run_id));
            const wl::Ledger& led = l.get();
            const auto report = without_gil([&] { return witness::detect::rerun(led, id); });
            py::list diffs;
            for (const auto& x : report.diffs) {
              py::dict d;
              d["index"] = x.index;
              d["seq"] = x.seq;
              d["recorded"] = x.recorded.empty() ? py::object(py::none()) : loads(x.recorded);
              d["rerun"] = x.rerun.empty() ? py::object(py::none()) : loads(x.rerun);
              diffs.append(d);
            }
            py::dict d;
            d["identical"] = report.identical();
            d["inputs_match"] = report.inputs_match();
            d["records"] = report.records;
            d["recorded_alerts"] = report.recorded_alerts;
            d["rerun_alerts"] = report.rerun_alerts;
            d["diffs"] = diffs;
            return d;
          },
          py::arg("run"),
          "Re-executes a recorded detector run from its recorded inputs (`witness replay "
          "--rerun`); returns {'identical', 'inputs_match', 'records', 'recorded_alerts', "
          "'rerun_alerts', 'diffs'}.")
      .def_property_readonly(
          "agents",
          [](PyLedger& l) {
            return l.with_gate([&](cv::Gate& gate) {
              py::list out;
              for (const auto& listing : gate.covenants()) out.append(listing_dict(gate, listing));
              return out;
            });
          },
          "The registered covenants: id, subject, issuer, parent, revoked, in_force, budget, "
          "spent.")
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
          "walk",
          [](PyLedger& l, const py::object& start, const std::string& direction, unsigned depth) {
            if (direction != "ancestors" && direction != "descendants") {
              throw py::value_error("direction: expected 'ancestors' or 'descendants'");
            }
            const auto id = id_or_seq(l.get(), start);
            wl::Ledger& led = l.get();
            const auto steps = without_gil([&] {
              return led.walk(id,
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
  m.def(
      "parse_manifest",
      [](const std::string& yaml) {
        const auto m = unwrap(cv::parse_manifest(yaml));
        py::dict d;
        d["id"] = m.id;
        d["version"] = m.version;
        d["description"] = m.description;
        d["capabilities"] = m.capabilities;
        std::vector<std::string> rules;
        for (const auto& r : m.permissions) rules.push_back(r.to_string());
        d["permissions"] = rules;
        d["models"] = m.models;
        py::dict budget;
        for (const auto dim : cv::kAllDimensions) {
          const auto i = static_cast<std::size_t>(dim);
          if (m.budget.limit[i])
            budget[std::string(cv::dimension_name(dim)).c_str()] = *m.budget.limit[i];
        }
        d["budgets"] = budget;
        return d;
      },
      py::arg("yaml"), "Validates an agent manifest (YAML text); returns its fields as a dict.");
  m.def("canonicalize_json",
        [](const std::string& text) { return unwrap(wl::canonicalize_json(text)); });

  // The detector (SPEC 6.6): the same model, verdicts and alerts as `witness detect`.
  py::class_<detect::Detector>(m, "Detector",
                               "The anomaly detector: a baseline from the first `warmup` records, "
                               "conformal p-values per record, alerts with explanations.")
      .def(py::init([](const py::object& config, std::optional<std::size_t> warmup,
                       std::optional<double> alpha, std::optional<std::uint64_t> seed) {
             detect::DetectorConfig c;
             if (!config.is_none()) {
               const std::string text =
                   py::isinstance<py::str>(config) ? config.cast<std::string>() : dumps(config);
               c = unwrap(detect::DetectorConfig::from_json(text));
             }
             if (warmup) c.warmup = *warmup;
             if (alpha) c.alpha = *alpha;
             if (seed) c.seed = *seed;
             return unwrap(detect::Detector::create(c));
           }),
           py::arg("config") = py::none(), py::kw_only(), py::arg("warmup") = py::none(),
           py::arg("alpha") = py::none(), py::arg("seed") = py::none(),
           "config: a dict or JSON text (docs/detector.md); warmup/alpha/seed override it.")
      .def(
          "observe",
          [](detect::Detector& d, const py::object& record) {
            const std::string text =
                py::isinstance<py::str>(record) ? record.cast<std::string>() : dumps(record);
            const auto v = unwrap(d.observe(text));
            py::dict out;
            out["index"] = v.index;
            out["warming_up"] = v.warming_up;
            out["novelty"] = v.novelty;
            out["p_value"] = v.p_value;
            out["anomalous"] = v.anomalous;
            out["rate"] = v.rate;
            out["rate_ratio"] = v.rate_ratio;
            out["level"] = v.level;
            out["in_alert"] = v.in_alert;
            return out;
          },
          py::arg("record"), "Scores one record (a dict or a JSON line); returns its verdict.")
      .def(
          "feed",
          [](py::object self, const py::object& record) { return self.attr("observe")(record); },
          py::arg("record"), "The same as observe(record).")
      .def(
          "take_alerts",
          [](detect::Detector& d) {
            py::list out;
            for (const auto& a : d.take_alerts()) out.append(loads(a.to_json()));
            return out;
          },
          "Alerts closed since the last call, as dicts.")
      .def(
          "finish",
          [](detect::Detector& d) {
            py::list out;
            for (const auto& a : d.finish()) out.append(loads(a.to_json()));
            return out;
          },
          "Ends the stream: closes an open alert; returns what take_alerts would.")
      .def_property_readonly("config",
                             [](const detect::Detector& d) { return loads(d.config().to_json()); })
      .def_property_readonly("records", &detect::Detector::records)
      .def_property_readonly("baseline_rate", &detect::Detector::baseline_rate);

  // Hypervectors (SPEC 6.1): ternary int8 components, shared with Python through the buffer
  // protocol (read-only: a write could break the {-1, 0, +1} invariant), e.g. numpy.asarray(v).
  py::class_<wv::Vector>(m, "Vector", py::buffer_protocol(),
                         "A ternary hypervector: dim components in {-1, 0, +1}.")
      .def(py::init([](const py::buffer& components) {
             const py::buffer_info info = components.request();
             if (info.ndim != 1 || info.itemsize != 1 ||
                 (info.format != "b" && info.format != "B")) {
               throw py::type_error("components: expected a 1-d buffer of int8");
             }
             if (info.strides[0] != 1) throw py::type_error("components: expected contiguous");
             const std::span<const std::int8_t> view(static_cast<const std::int8_t*>(info.ptr),
                                                     static_cast<std::size_t>(info.shape[0]));
             return unwrap(wv::Vector::from(view));
           }),
           py::arg("components"), "From a 1-d int8 buffer (bytes, array('b'), numpy int8).")
      .def_static(
          "from_list",
          [](const std::vector<int>& components) {
            std::vector<std::int8_t> c;
            c.reserve(components.size());
            for (std::size_t i = 0; i < components.size(); ++i) {
              if (components[i] < -1 || components[i] > 1) {
                throw py::value_error("component " + std::to_string(i) + ": " +
                                      std::to_string(components[i]) + " is not -1, 0 or +1");
              }
              c.push_back(static_cast<std::int8_t>(components[i]));
            }
            return unwrap(wv::Vector::from(c));
          },
          py::arg("components"))
      .def_buffer([](wv::Vector& v) {
        return py::buffer_info(v.raw(), 1, py::format_descriptor<std::int8_t>::format(), 1,
                               {static_cast<py::ssize_t>(v.dim())}, {py::ssize_t{1}},
                               /*readonly=*/true);
      })
      .def_property_readonly("dim", &wv::Vector::dim)
      .def("__len__", &wv::Vector::dim)
      .def("__eq__", [](const wv::Vector& a, const wv::Vector& b) { return a == b; })
      .def("tolist",
           [](const wv::Vector& v) {
             const auto c = v.components();
             return std::vector<int>(c.begin(), c.end());
           })
      .def_property_readonly("nonzeros", &wv::Vector::nonzeros)
      .def(
          "bind", [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::bind(a, b)); },
          "Elementwise product: dissimilar to both, undone by binding again.")
      .def("permute", &wv::permute, py::arg("k") = 1, "Rotates components by k.")
      .def("cosine",
           [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::cosine(a, b)); })
      .def("dot", [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::dot(a, b)); })
      .def("hamming",
           [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::hamming(a, b)); })
      .def("__repr__", [](const wv::Vector& v) {
        return "Vector(dim=" + std::to_string(v.dim()) +
               ", nonzeros=" + std::to_string(v.nonzeros()) + ")";
      });
  m.def(
      "bundle",
      [](const std::vector<const wv::Vector*>& vectors) {
        std::vector<const wv::Vector*> ptrs(vectors.begin(), vectors.end());
        return unwrap(wv::bundle(std::span<const wv::Vector* const>(ptrs)));
      },
      py::arg("vectors"), "Majority (sign of the sum): similar to each of the vectors.");

  py::class_<wv::AtomMemory>(m, "AtomMemory",
                             "Random atoms by name, reproducible from a seed (ChaCha20).")
      .def(py::init<std::uint64_t, std::size_t>(), py::arg("seed") = 0,
           py::arg("dim") = wv::kDefaultDimension)
      .def("atom", &wv::AtomMemory::atom, py::arg("name"), py::return_value_policy::copy)
      .def("position", &wv::AtomMemory::position, py::arg("i"), py::return_value_policy::copy)
      .def_property_readonly("seed", &wv::AtomMemory::seed)
      .def_property_readonly("dim", &wv::AtomMemory::dim);

  py::class_<wv::Encoder>(m, "Encoder", "Encodes JSON objects as hypervectors (docs/detector.md).")
      .def(py::init<const wv::AtomMemory&>(), py::arg("atoms"), py::keep_alive<1, 2>())
      .def(
          "encode",
          [](const wv::Encoder& e, const py::object& record) {
            const std::string text =
                py::isinstance<py::str>(record) ? record.cast<std::string>() : dumps(record);
            py::gil_scoped_release release;
            auto v = e.encode_json(text);
            py::gil_scoped_acquire acquire;
            return unwrap(std::move(v));
          },
          py::arg("record"), "A dict or JSON object text to its vector.")
      .def("role", &wv::Encoder::role, py::arg("path"), py::return_value_policy::copy);

  // The law engine links RapidCheck, whose Debian build (a non-PIC static library) cannot go
  // into a shared module, so check_laws runs it in the `witness` binary: the same engine and
  // suites as `witness laws`, one JSON verdict per law.
  m.def(
      "check_laws",
      [](const py::object& suite, const std::optional<std::string>& law, std::uint32_t cases,
         std::uint32_t max_size, const std::optional<std::uint64_t>& seed,
         const std::optional<std::string>& ledger, const std::optional<std::string>& binary) {
        const py::module_ os = py::module_::import("os");
        const py::module_ shutil = py::module_::import("shutil");
        std::string exe;
        const std::vector<py::object> candidates =
            binary ? std::vector<py::object>{py::cast(*binary)}  // given: that one or none
                   : std::vector<py::object>{os.attr("environ").attr("get")("WITNESS_BIN"),
                                             shutil.attr("which")("witness"),
                                             py::cast(std::string(WITNESS_BUILD_CLI)),
                                             py::cast(std::string(WITNESS_INSTALL_CLI))};
        for (const py::object& candidate : candidates) {
          if (!candidate.is_none() && os.attr("access")(candidate, os.attr("X_OK")).cast<bool>()) {
            exe = candidate.cast<std::string>();
            break;
          }
        }
        if (exe.empty()) {
          throw py::value_error(
              "check_laws: no witness binary found (pass binary=, set WITNESS_BIN, or put "
              "witness on PATH)");
        }
        py::list argv;
        argv.append(exe);
        argv.append("laws");
        argv.append("--json");
        if (!suite.is_none()) {
          const py::list suites =
              py::isinstance<py::str>(suite) ? py::list(py::make_tuple(suite)) : py::list(suite);
          for (const auto& name : suites) {
            argv.append("--suite");
            argv.append(name);
          }
        }
        if (law) {
          argv.append("--law");
          argv.append(*law);
        }
        argv.append("--cases");
        argv.append(std::to_string(cases));
        argv.append("--max-size");
        argv.append(std::to_string(max_size));
        if (seed) {
          argv.append("--seed");
          argv.append(std::to_string(*seed));
        }
        if (ledger) {
          argv.append("--ledger");
          argv.append(*ledger);
        }
        const py::object run = py::module_::import("subprocess").attr("run");
        const py::object done = run(argv, py::arg("capture_output") = true, py::arg("text") = true);
        const int code = done.attr("returncode").cast<int>();
        const std::string out = done.attr("stdout").cast<std::string>();
        const std::string err = done.attr("stderr").cast<std::string>();
        if (code == 2 || (code != 0 && out.empty())) {
          throw py::value_error(err.empty() ? "witness laws failed"
                                            : err.substr(0, err.find_last_not_of('\n') + 1));
        }
        py::list verdicts;
        for (const auto& line : done.attr("stdout").attr("splitlines")()) {
          if (py::len(line) > 0) verdicts.append(loads(line.cast<std::string>()));
        }
        return verdicts;
      },
      py::kw_only(), py::arg("suite") = py::none(), py::arg("law") = py::none(),
      py::arg("cases") = 100, py::arg("max_size") = 100, py::arg("seed") = py::none(),
      py::arg("ledger") = py::none(), py::arg("binary") = py::none(),
      "Checks the operad laws (SPEC 4) of the shipped suites (a name or a list; default all) "
      "with the `witness` binary's law engine; returns one verdict dict per law ('result' is "
      "'passed' or 'failed', with the counterexample and a replay line). ledger= records each "
      "verdict as a law.verdict node.");

  m.def(
      "gen_traffic",
      [](const std::string& scenario, std::uint64_t seed, bool labels, std::int64_t start_ns) {
        const auto s = unwrap(detect::scenario(scenario));
        py::list out;
        detect::generate(s, seed, start_ns,
                         [&](const detect::Packet& p) { out.append(detect::to_json(p, labels)); });
        return out;
      },
      py::arg("scenario"), py::arg("seed") = 1, py::arg("labels") = true,
      py::arg("start_ns") = std::int64_t{1'795'338'000'000'000'000},
      "The packets of a scenario as JSON lines (what `witness gen-traffic` writes).");
}
