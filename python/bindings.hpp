// Shared by the binding files of the Python module `witness` (SPEC 9): errors as exceptions,
// conversions, and the Python-side Ledger. One binding file per area (python/bind_*.cpp), as
// the CLI has one file per command group; module.cpp puts them together.
#pragma once

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

namespace witness::python {

// Raised for corruption and failed verification; the other codes map to built-in exceptions.
inline PyObject* g_corruption_error = nullptr;
// Raised when the gate refuses an append (a PermissionError).
inline PyObject* g_gate_refused_error = nullptr;

[[noreturn]] inline void raise(const witness::Error& e) {
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
inline T unwrap(witness::Result<T> r) {
  if (!r) raise(r.error());
  return std::move(r).value();
}

inline void unwrap(const witness::Status& s) {
  if (!s) raise(s.error());
}

// Runs f() (which returns a Result) with the GIL released, then unwraps it with the GIL held:
// raising sets the Python error indicator, which needs the GIL.
template <typename F>
inline auto without_gil(F&& f) {
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
inline T cast_arg(const py::handle& value, const std::string& what, const char* expected) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(what + ": expected " + expected + ", got " +
                         py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
  }
}

inline wl::Timestamp to_timestamp(const py::object& value, const char* what) {
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
inline const py::object* g_json_dumps = nullptr;
inline const py::object* g_json_loads = nullptr;

inline std::string dumps(const py::object& value) {
  return (*g_json_dumps)(value, py::arg("ensure_ascii") = false).cast<std::string>();
}

inline py::object loads(const std::string& text) { return (*g_json_loads)(text); }

// A node as Python sees it: the TraceNode and, when it came from a ledger, its seq.
struct PyNode {
  wl::TraceNode node;
  std::optional<wl::SequenceNumber> seq;
};

inline py::list links_of(const wl::TraceNode& n) {
  py::list out;
  for (const auto& l : n.links()) {
    out.append(py::make_tuple(std::string(wl::relation_name(l.relation)), l.target.to_hex()));
  }
  return out;
}

inline py::dict node_dict(const PyNode& p) {
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
inline wl::TraceNode make_node(const std::string& origin, const std::string& kind,
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
inline std::string python_user() {
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
[[noreturn]] inline void raise_refused(const wl::Appended& a) {
  PyErr_SetString(g_gate_refused_error, a.refusal_message().c_str());
  throw py::error_already_set();
}

inline py::dict listing_dict(const cv::Gate& gate, const cv::Gate::Listing& l) {
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

inline wl::Digest id_or_seq(wl::Ledger& l, const py::object& ref) {
  if (py::isinstance<py::int_>(ref)) {
    if (ref.cast<py::int_>() < py::int_(0)) throw py::value_error("seq: must not be negative");
    return unwrap(l.get(cast_arg<wl::SequenceNumber>(ref, "seq", "an int below 2^64"))).node.id();
  }
  if (py::isinstance<PyNode>(ref)) return ref.cast<const PyNode&>().node.id();
  return unwrap(
      wl::Digest::from_hex(cast_arg<std::string>(ref, "ref", "a seq, hex id or TraceNode")));
}

}  // namespace witness::python
