// RawDb: a ledger directory opened as plain RocksDB with both of format 2's column families,
// for tests that change bytes behind the ledger's back (the ledger must be closed).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

namespace witness::testing {

struct RawDb {
  std::unique_ptr<rocksdb::DB> db;
  // Declared after db: destroyed before it, as RocksDB requires.
  std::unique_ptr<rocksdb::ColumnFamilyHandle> main;
  std::unique_ptr<rocksdb::ColumnFamilyHandle> keyed;

  explicit RawDb(const std::filesystem::path& dir) {
    const std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"keyed", rocksdb::ColumnFamilyOptions()}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), cfs, &handles, &raw);
    INFO(s.ToString());
    REQUIRE(s.ok());
    db.reset(raw);
    main.reset(handles.at(0));
    keyed.reset(handles.at(1));
  }

  // The column family of a key: 'i', 'l' and 't' keys live in "keyed".
  [[nodiscard]] rocksdb::ColumnFamilyHandle* cf_of(const std::string& key) const {
    return !key.empty() && (key[0] == 'i' || key[0] == 'l' || key[0] == 't') ? keyed.get()
                                                                             : main.get();
  }
  [[nodiscard]] std::string get(const std::string& key) const {
    std::string v;
    const auto s = db->Get(rocksdb::ReadOptions(), cf_of(key), key, &v);
    INFO("get " << key.size() << "-byte key with prefix " << key.substr(0, 1) << ": "
                << s.ToString());
    REQUIRE(s.ok());
    return v;
  }
  void put(const std::string& key, const std::string& v) const {
    REQUIRE(db->Put(rocksdb::WriteOptions(), cf_of(key), key, v).ok());
  }
  // Deletes `key`, which must exist.
  void del(const std::string& key) const {
    (void)get(key);
    REQUIRE(db->Delete(rocksdb::WriteOptions(), cf_of(key), key).ok());
  }
};

}  // namespace witness::testing
