#include "node_codec.hpp"

#include <array>
#include <exception>
#include <istream>
#include <ostream>
#include <streambuf>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>

#include "node_data.hpp"

namespace witness::ledger::detail {
namespace {

// An output streambuf that appends to a std::string (no stringstream copy).
class StringSink : public std::streambuf {
 public:
  explicit StringSink(std::string& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof()) out_.push_back(static_cast<char>(ch));
    return ch;
  }

 private:
  std::string& out_;
};

// An input streambuf over borrowed bytes.
class ViewSource : public std::streambuf {
 public:
  explicit ViewSource(std::string_view bytes) {
    // std::streambuf's API takes non-const pointers; it is only read through here.
    char* begin = const_cast<char*>(bytes.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    setg(begin, begin, begin + bytes.size());
  }
  [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

// The persisted form of a node. Field order is the byte order (docs/ledger_format.md).
struct StoredNode {
  const TraceNode::Data* in = nullptr;  // when saving
  TraceNode::Data* out = nullptr;       // when loading
  const ViewSource* source = nullptr;   // when loading: bounds every length read

  template <class Archive>
  void save(Archive& ar, std::uint32_t /*version*/) const {
    const auto& d = *in;
    ar(cereal::binary_data(d.id.bytes.data(), d.id.bytes.size()));
    save_string(ar, d.origin);
    save_string(ar, d.kind);
    ar(static_cast<std::int64_t>(d.timestamp.time_since_epoch().count()));
    ar(static_cast<std::uint8_t>(d.walk ? 1 : 0));
    if (d.walk) save_string(ar, *d.walk);
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(d.links.size())));
    for (const Link& l : d.links) {
      ar(static_cast<std::uint8_t>(l.relation));
      ar(cereal::binary_data(l.target.bytes.data(), l.target.bytes.size()));
    }
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(d.tags.size())));
    for (const auto& t : d.tags) save_string(ar, t);
    save_string(ar, d.payload);
    ar(static_cast<std::uint8_t>(d.signature ? 1 : 0));
    if (d.signature) ar(cereal::binary_data(d.signature->data(), d.signature->size()));
  }

  template <class Archive>
  void load(Archive& ar, std::uint32_t version) {
    if (version != kStoredNodeVersion) {
      throw std::runtime_error("unknown stored node version " + std::to_string(version));
    }
    auto& d = *out;
    ar(cereal::binary_data(d.id.bytes.data(), d.id.bytes.size()));
    load_string(ar, d.origin);
    load_string(ar, d.kind);
    std::int64_t ts = 0;
    ar(ts);
    d.timestamp = Timestamp(std::chrono::nanoseconds(ts));
    if (load_flag(ar)) {
      d.walk.emplace();
      load_string(ar, *d.walk);
    }
    const auto n_links = load_count(ar, 33);
    d.links.resize(n_links);
    for (Link& l : d.links) {
      std::uint8_t rel = 0;
      ar(rel);
      if (rel < 1 || rel > 4) {
        throw std::runtime_error("unknown link relation " + std::to_string(rel));
      }
      l.relation = static_cast<LinkRelation>(rel);
      ar(cereal::binary_data(l.target.bytes.data(), l.target.bytes.size()));
    }
    const auto n_tags = load_count(ar, 8);
    d.tags.resize(n_tags);
    for (auto& t : d.tags) load_string(ar, t);
    load_string(ar, d.payload);
    if (load_flag(ar)) {
      d.signature.emplace();
      ar(cereal::binary_data(d.signature->data(), d.signature->size()));
    }
  }

 private:
  template <class Archive>
  static void save_string(Archive& ar, const std::string& s) {
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(s.size())));
    ar(cereal::binary_data(s.data(), s.size()));
  }
  // Reads a count whose items take at least `min_item_bytes` each; rejects counts the
  // remaining input cannot hold, so corrupt bytes never cause a huge allocation.
  template <class Archive>
  std::size_t load_count(Archive& ar, std::size_t min_item_bytes) const {
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    if (n > source->remaining() / min_item_bytes) {
      throw std::runtime_error("length " + std::to_string(n) + " exceeds the remaining bytes");
    }
    return static_cast<std::size_t>(n);
  }
  template <class Archive>
  void load_string(Archive& ar, std::string& s) const {
    s.resize(load_count(ar, 1));
    ar(cereal::binary_data(s.data(), s.size()));
  }
  template <class Archive>
  static bool load_flag(Archive& ar) {
    std::uint8_t f = 0;
    ar(f);
    if (f > 1) throw std::runtime_error("invalid presence flag " + std::to_string(f));
    return f == 1;
  }
};

}  // namespace
}  // namespace witness::ledger::detail

// Must precede the first use of StoredNode in an archive.
CEREAL_CLASS_VERSION(witness::ledger::detail::StoredNode,
                     witness::ledger::detail::kStoredNodeVersion);

namespace witness::ledger::detail {

void encode_stored_node(const TraceNode& node, std::string& out) {
  StringSink sink(out);
  std::ostream os(&sink);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    StoredNode s{.in = &NodeAccess::data(node)};
    ar(s);
  }
}

std::string encode_stored_node(const TraceNode& node) {
  std::string out;
  out.reserve(128 + node.payload_json().size());
  encode_stored_node(node, out);
  return out;
}

Result<TraceNode> decode_stored_node(std::string_view bytes) {
  // cereal reads the first byte into a bool; anything but 1 (little endian, as written) is
  // corrupt, and checking here keeps an invalid bool load from ever happening.
  if (bytes.empty() || bytes[0] != '\x01') return corruption("stored node: bad archive header");
  ViewSource source(bytes);
  std::istream is(&source);
  auto data = std::make_shared<TraceNode::Data>();
  try {
    cereal::PortableBinaryInputArchive ar(is);
    StoredNode s{.out = data.get(), .source = &source};
    ar(s);
  } catch (const std::exception& e) {
    return corruption(std::string("stored node: ") + e.what());
  }
  if (source.remaining() != 0) {
    return corruption("stored node: " + std::to_string(source.remaining()) + " trailing bytes");
  }
  return NodeAccess::make(std::move(data));
}

}  // namespace witness::ledger::detail
