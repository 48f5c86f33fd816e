// Parquet files as rows of JSON, through Apache Arrow's C++ Parquet reader and writer (the
// libraries of the pyarrow wheel that scripts/setup caches; see cmake/VisrlArrow.cmake). Arrow
// types stay inside parquet_rows.cpp: callers see nlohmann::json values, with binary columns
// (embedded images) as json::binary_t, structs as objects and lists as arrays.
//
// Reading streams: `scan` decodes only the columns asked for, at most `batch_rows` rows at a
// time, so a 40K-row table with embedded images never sits in memory at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace visrl::parquet {

class RowReader {
 public:
  // Opens a file; `open_buffer` reads the bytes of one in memory (the fuzz test), `name` naming
  // it in messages. Throws Error(io) for a file that cannot be opened, Error(format) for bytes
  // that are not a Parquet file.
  static std::unique_ptr<RowReader> open_file(const std::string& path);
  static std::unique_ptr<RowReader> open_buffer(std::string bytes, const std::string& name);
  virtual ~RowReader() = default;

  virtual const std::string& name() const = 0;
  virtual int64_t num_rows() const = 0;
  virtual std::vector<std::string> columns() const = 0;  // top-level column names, in file order

  // Calls visit(first_row, rows) for consecutive batches of at most `batch_rows` rows, each row
  // an object holding the requested top-level `columns` (a null cell is a JSON null). A name
  // that is not a column throws Error(format); so does corrupt data, naming the file and the
  // rows being read. Exceptions of `visit` pass through.
  using Visitor = std::function<void(int64_t first_row, std::vector<nlohmann::json>& rows)>;
  virtual void scan(const std::vector<std::string>& columns, int64_t batch_rows, const Visitor& visit) = 0;
};

// Writes `rows` (JSON objects with the same keys) as a Parquet file at `path`, `row_group_rows`
// rows per row group, columns and struct fields in key order (nlohmann's objects sort their
// keys). Column types come from the first non-null value of each key: string,
// binary (json::binary_t), integer -> int64, number -> double, boolean, object -> struct (of its
// keys), array -> list (of its first non-null element's type). A value that does not fit its
// column's type throws Error(format) naming the row and key. Written to a temporary name and
// renamed, so a failure leaves no partial file.
void write_rows(const std::string& path, const std::vector<nlohmann::json>& rows, int64_t row_group_rows = 1024);

}  // namespace visrl::parquet
