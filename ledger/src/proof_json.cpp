#include "witness/ledger/proof_json.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>

#include "base64.hpp"
#include "json.hpp"

namespace witness::ledger {
namespace {

Result<std::uint64_t> get_u64(const json::Value& obj, std::string_view field) {
  const json::Value* v = obj.find(field);
  if (v == nullptr) return invalid_argument(std::string(field) + ": missing");
  if (!v->is_number()) return invalid_argument(std::string(field) + ": expected an integer");
  const std::string& lit = std::get<json::Number>(v->v).literal;
  std::uint64_t n = 0;
  const auto [ptr, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), n);
  if (ec != std::errc() || ptr != lit.data() + lit.size()) {
    return invalid_argument(std::string(field) + ": expected a non-negative integer, got " + lit);
  }
  return n;
}

Result<Digest> decode_hash(const json::Value& v, const std::string& field) {
  if (!v.is_string()) return invalid_argument(field + ": expected a base64 string");
  auto bytes = detail::base64_decode(std::get<std::string>(v.v));
  if (!bytes) return bytes.error().with_context(field);
  if (bytes->size() != Digest::kSize) {
    return invalid_argument(field + ": expected a 32-byte hash, got " +
                            std::to_string(bytes->size()) + " bytes");
  }
  Digest d;
  std::copy(bytes->begin(), bytes->end(), d.bytes.begin());
  return d;
}

Result<Digest> get_hash(const json::Value& obj, std::string_view field) {
  const json::Value* v = obj.find(field);
  if (v == nullptr) return invalid_argument(std::string(field) + ": missing");
  return decode_hash(*v, std::string(field));
}

Result<ClaimedRoot> get_root(const json::Value& obj, std::string_view field) {
  const json::Value* v = obj.find(field);
  if (v == nullptr) return invalid_argument(std::string(field) + ": missing");
  if (!v->is_string()) return invalid_argument(std::string(field) + ": expected a base64 string");
  auto bytes = detail::base64_decode(std::get<std::string>(v->v));
  if (!bytes) return bytes.error().with_context(std::string(field));
  ClaimedRoot root;
  root.bytes.assign(bytes->begin(), bytes->end());
  return root;
}

// Refuses fields outside `allowed`: a proof file says nothing a verifier would ignore.
Status check_fields(const json::Value& obj, std::initializer_list<std::string_view> allowed) {
  for (const json::Member& m : std::get<json::Object>(obj.v)) {
    if (std::find(allowed.begin(), allowed.end(), m.first) == allowed.end()) {
      return invalid_argument(m.first + ": not a field of this proof");
    }
  }
  return ok_status();
}

Result<std::vector<Digest>> get_path(const json::Value& obj) {
  std::vector<Digest> out;
  const json::Value* v = obj.find("proof");
  if (v == nullptr || v->is_null()) return out;  // the vectors write an empty proof as null
  if (!v->is_array()) return invalid_argument("proof: expected an array of base64 hashes");
  const auto& items = std::get<json::Array>(v->v);
  for (std::size_t i = 0; i < items.size(); ++i) {
    WITNESS_ASSIGN_OR_RETURN(Digest d, decode_hash(items[i], "proof[" + std::to_string(i) + "]"));
    out.push_back(d);
  }
  return out;
}

std::string b64(const Digest& d) { return detail::base64_encode(d.bytes); }
std::string b64(const ClaimedRoot& r) { return detail::base64_encode(r.bytes); }

// The claimed root as a Digest, or why it cannot be the root of a SHA-256 tree.
Result<Digest> root_digest(const ClaimedRoot& root, std::string_view field) {
  if (auto d = root.digest()) return *d;
  return corruption(std::string(field) + " is " + std::to_string(root.bytes.size()) +
                    " bytes, not a SHA-256 hash: it matches no tree");
}

std::string path_json(const std::vector<Digest>& hashes) {
  std::string out = "[";
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    out += (i != 0U ? ",\"" : "\"") + b64(hashes[i]) + "\"";
  }
  return out + "]";
}

}  // namespace

Result<ProofClaim> parse_proof_json(std::string_view text) {
  auto parsed = json::parse(text);
  if (!parsed) return parsed.error().with_context("invalid JSON");
  if (!parsed->is_object()) return invalid_argument("expected a JSON object");
  const json::Value& o = *parsed;
  if (o.find("leafIdx") != nullptr || o.find("treeSize") != nullptr) {
    WITNESS_RETURN_IF_ERROR(
        check_fields(o, {"leafIdx", "treeSize", "leafHash", "root", "proof", "desc", "wantErr"}));
    InclusionClaim c;
    WITNESS_ASSIGN_OR_RETURN(c.proof.leaf_index, get_u64(o, "leafIdx"));
    WITNESS_ASSIGN_OR_RETURN(c.proof.tree_size, get_u64(o, "treeSize"));
    WITNESS_ASSIGN_OR_RETURN(c.leaf_hash, get_hash(o, "leafHash"));
    WITNESS_ASSIGN_OR_RETURN(c.root, get_root(o, "root"));
    WITNESS_ASSIGN_OR_RETURN(c.proof.hashes, get_path(o));
    return ProofClaim(c);
  }
  if (o.find("size1") != nullptr || o.find("size2") != nullptr) {
    WITNESS_RETURN_IF_ERROR(
        check_fields(o, {"size1", "size2", "root1", "root2", "proof", "desc", "wantErr"}));
    ConsistencyClaim c;
    WITNESS_ASSIGN_OR_RETURN(c.proof.size1, get_u64(o, "size1"));
    WITNESS_ASSIGN_OR_RETURN(c.proof.size2, get_u64(o, "size2"));
    WITNESS_ASSIGN_OR_RETURN(c.root1, get_root(o, "root1"));
    WITNESS_ASSIGN_OR_RETURN(c.root2, get_root(o, "root2"));
    WITNESS_ASSIGN_OR_RETURN(c.proof.hashes, get_path(o));
    return ProofClaim(c);
  }
  return invalid_argument(
      "not a proof: expected leafIdx/treeSize (inclusion) or size1/size2 (consistency)");
}

std::string to_proof_json(const ProofClaim& claim) {
  if (const auto* c = std::get_if<InclusionClaim>(&claim)) {
    return "{\"leafIdx\":" + std::to_string(c->proof.leaf_index) +
           ",\"treeSize\":" + std::to_string(c->proof.tree_size) + R"(,"leafHash":")" +
           b64(c->leaf_hash) + R"(","root":")" + b64(c->root) + R"(","proof":)" +
           path_json(c->proof.hashes) + "}";
  }
  const auto& c = std::get<ConsistencyClaim>(claim);
  return "{\"size1\":" + std::to_string(c.proof.size1) +
         ",\"size2\":" + std::to_string(c.proof.size2) + R"(,"root1":")" + b64(c.root1) +
         R"(","root2":")" + b64(c.root2) + R"(","proof":)" + path_json(c.proof.hashes) + "}";
}

std::optional<Digest> ClaimedRoot::digest() const {
  if (bytes.size() != Digest::kSize) return std::nullopt;
  Digest d;
  std::copy(bytes.begin(), bytes.end(), d.bytes.begin());
  return d;
}

Status verify_claim(const ProofClaim& claim) {
  if (const auto* c = std::get_if<InclusionClaim>(&claim)) {
    WITNESS_ASSIGN_OR_RETURN(Digest root, root_digest(c->root, "root"));
    return verify_inclusion(c->proof, c->leaf_hash, root);
  }
  const auto& c = std::get<ConsistencyClaim>(claim);
  const ConsistencyProof& p = c.proof;
  // RFC 9162 2.1.4.2: between equal sizes the proof is empty and the roots are compared as
  // given, whatever their length. Everything else needs two SHA-256 roots.
  if (p.size1 == p.size2 && p.size1 != 0) {
    if (!p.hashes.empty()) return corruption("consistency proof: equal sizes need an empty proof");
    if (c.root1 != c.root2) return corruption("consistency proof: equal sizes but different roots");
    return ok_status();
  }
  if (p.size1 == 0 || p.size1 > p.size2) return verify_consistency(p, Digest{}, Digest{});
  WITNESS_ASSIGN_OR_RETURN(Digest root1, root_digest(c.root1, "root1"));
  WITNESS_ASSIGN_OR_RETURN(Digest root2, root_digest(c.root2, "root2"));
  return verify_consistency(p, root1, root2);
}

}  // namespace witness::ledger
