// The snapshot half of garbage collection: mark from the roots along parent
// links, stage the removal of every committed native snapshot not reached.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "snapshotter/records.h"
#include "snapshotter/snapshotter.h"

namespace strata::snapshotter {
namespace {

using meta::Family;

// Labels that make a snapshot a root: strata's own and containerd's.
bool IsGcRoot(const SnapshotRecord& rec) {
  return rec.labels().count("strata.io/gc.root") > 0 ||
         rec.labels().count("containerd.io/gc.root") > 0;
}

}  // namespace

absl::StatusOr<std::vector<Snapshotter::Collectable>> Snapshotter::StageCollect(
    meta::WriteTxn& txn, const std::set<std::string>& native_roots) {
  struct Node {
    SnapshotRecord rec;
    bool marked = false;
    int depth = -1;
  };
  // Only the native key space is collected; containerd's snapshots are its own.
  std::map<std::string, Node> nodes;
  absl::Status decode_error;
  std::string prefix(1, static_cast<char>(KeySpace::kNative));
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kSnapshots, prefix, [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<SnapshotRecord> rec = DecodeRecord(k.substr(1), v);
        if (!rec.ok()) {
          decode_error = rec.status();  // never sweep on metadata we cannot read
          return false;
        }
        nodes[std::string(k.substr(1))].rec = std::move(*rec);
        return true;
      }));
  STRATA_RETURN_IF_ERROR(decode_error);

  std::vector<Node*> stack;
  for (auto& [key, node] : nodes) {
    if (node.rec.kind() != meta::v1::SNAPSHOT_KIND_COMMITTED || IsGcRoot(node.rec) ||
        native_roots.count(key)) {
      stack.push_back(&node);
    }
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (n->marked) continue;
    n->marked = true;
    auto parent = nodes.find(n->rec.parent());
    if (!n->rec.parent().empty() && parent != nodes.end()) stack.push_back(&parent->second);
  }

  // Depth (parents below) orders the sweep leaves first.
  auto depth_of = [&nodes](Node* n) {
    std::vector<Node*> path;
    for (Node* p = n; p != nullptr && p->depth < 0;) {
      path.push_back(p);
      auto it = p->rec.parent().empty() ? nodes.end() : nodes.find(p->rec.parent());
      p = it == nodes.end() ? nullptr : &it->second;
    }
    int base = -1;
    if (!path.empty()) {
      auto it =
          path.back()->rec.parent().empty() ? nodes.end() : nodes.find(path.back()->rec.parent());
      if (it != nodes.end()) base = it->second.depth;
    }
    for (auto p = path.rbegin(); p != path.rend(); ++p) (*p)->depth = ++base;
    return n->depth;
  };

  std::vector<Collectable> swept;
  std::map<std::string, std::vector<size_t>> by_layer;  // chainID -> indexes in swept
  for (auto& [key, node] : nodes) {
    if (node.marked) continue;
    Collectable c;
    c.key = key;
    c.dir_id = node.rec.id();
    c.depth = depth_of(&node);
    txn.Delete(Family::kSnapshots, RecordKey(KeySpace::kNative, key));
    if (!node.rec.parent().empty()) {
      // Its parent is swept too, or marked only through other children.
      txn.Delete(Family::kChildren, ChildKey(KeySpace::kNative, node.rec.parent(), key));
    }
    if (node.rec.layer_chain_id().empty()) {
      c.frees_dir = true;
      c.bytes = node.rec.size_bytes();
    } else {
      by_layer[node.rec.layer_chain_id()].push_back(swept.size());
    }
    swept.push_back(std::move(c));
  }
  // A layer's directory goes with its last reference; records in the other
  // key space keep theirs.
  for (const auto& [chain, indexes] : by_layer) {
    STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> layer, TxnLayer(txn, chain));
    if (!layer) continue;
    int64_t released = static_cast<int64_t>(indexes.size());
    if (layer->refs() <= released) {
      txn.Delete(Family::kLayers, chain);
      Collectable& c = swept[indexes.front()];
      c.frees_dir = true;
      c.bytes = nodes[c.key].rec.size_bytes();
    } else {
      layer->set_refs(layer->refs() - released);
      txn.Put(Family::kLayers, chain, layer->SerializeAsString());
    }
  }
  std::stable_sort(swept.begin(), swept.end(),
                   [](const Collectable& a, const Collectable& b) { return a.depth > b.depth; });
  return swept;
}

void Snapshotter::ReapCollected(const std::vector<Collectable>& swept) {
  for (const Collectable& c : swept) {
    if (c.frees_dir) pool_->Reap(c.dir_id);
  }
  pool_->WaitForReaping();
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Snapshotter::OrphanDirs() const {
  // Order matters against concurrent Prepare: list directories, then the
  // pending ids, then the records. A directory made before the listing is
  // either pending at the second step or recorded by the third.
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(layout_.SnapshotsDir()));
  std::set<uint64_t> pending;
  if (pool_ != nullptr) pending = pool_->PendingIds();
  STRATA_ASSIGN_OR_RETURN(std::set<uint64_t> referenced, ReferencedIds());
  std::vector<std::pair<std::string, int64_t>> out;
  for (const std::string& name : names) {
    std::optional<uint64_t> id = Layout::ParseIdName(name);
    if (id && (referenced.count(*id) || pending.count(*id))) continue;
    absl::StatusOr<DiskUsage> du =
        MeasureDiskUsage(absl::StrCat(layout_.SnapshotsDir(), "/", name));
    out.emplace_back(name, du.ok() ? du->bytes : 0);
  }
  return out;
}

}  // namespace strata::snapshotter
