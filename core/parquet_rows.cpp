#include "core/parquet_rows.h"

#include <filesystem>
#include <map>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>

#include "core/error.h"
#include "core/utf8.h"

namespace visrl::parquet {
namespace {

using nlohmann::json;

// --- Arrow cells -> JSON ------------------------------------------------------------------

// The offset of the first byte that is not valid UTF-8, or npos. Text cells, column and struct
// field names must be UTF-8 (Arrow's string types promise it; a damaged file may break it):
// everything downstream (tokenizer, JSON keys and logs) relies on it.
size_t invalid_utf8_at(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

json text_value(std::string_view text, const std::string& column) {
  if (const size_t at = invalid_utf8_at(text); at != std::string_view::npos)
    throw std::invalid_argument(fmt::format("column \"{}\": text that is not UTF-8 (byte {})", column, at));
  return std::string(text);
}

const std::string& utf8_name(const std::string& name) {
  if (invalid_utf8_at(name) != std::string_view::npos)
    throw std::invalid_argument("a column or field name that is not UTF-8");
  return name;
}

json binary_value(std::string_view bytes) {
  return json::binary(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

template <typename ListArray>
json list_cell(const ListArray& list, int64_t i, const std::string& column);

json cell(const arrow::Array& array, int64_t i, const std::string& column) {
  if (array.IsNull(i)) return nullptr;
  switch (array.type_id()) {
    case arrow::Type::NA:
      return nullptr;
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(array).Value(i);
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Array&>(array).Value(i);
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Array&>(array).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(array).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::UINT8:
      return static_cast<const arrow::UInt8Array&>(array).Value(i);
    case arrow::Type::UINT16:
      return static_cast<const arrow::UInt16Array&>(array).Value(i);
    case arrow::Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(array).Value(i);
    case arrow::Type::UINT64:
      return static_cast<const arrow::UInt64Array&>(array).Value(i);
    case arrow::Type::FLOAT:
      return static_cast<const arrow::FloatArray&>(array).Value(i);
    case arrow::Type::DOUBLE:
      return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case arrow::Type::STRING:
      return text_value(static_cast<const arrow::StringArray&>(array).GetView(i), column);
    case arrow::Type::LARGE_STRING:
      return text_value(static_cast<const arrow::LargeStringArray&>(array).GetView(i), column);
    case arrow::Type::STRING_VIEW:
      return text_value(static_cast<const arrow::StringViewArray&>(array).GetView(i), column);
    case arrow::Type::BINARY:
      return binary_value(static_cast<const arrow::BinaryArray&>(array).GetView(i));
    case arrow::Type::LARGE_BINARY:
      return binary_value(static_cast<const arrow::LargeBinaryArray&>(array).GetView(i));
    case arrow::Type::BINARY_VIEW:
      return binary_value(static_cast<const arrow::BinaryViewArray&>(array).GetView(i));
    case arrow::Type::FIXED_SIZE_BINARY:
      return binary_value(static_cast<const arrow::FixedSizeBinaryArray&>(array).GetView(i));
    case arrow::Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(array);
      json out = json::object();
      for (int f = 0; f < s.num_fields(); ++f) {
        out[utf8_name(s.struct_type()->field(f)->name())] = cell(*s.field(f), i, column);
      }
      return out;
    }
    case arrow::Type::LIST:
      return list_cell(static_cast<const arrow::ListArray&>(array), i, column);
    case arrow::Type::LARGE_LIST:
      return list_cell(static_cast<const arrow::LargeListArray&>(array), i, column);
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& l = static_cast<const arrow::FixedSizeListArray&>(array);
      json out = json::array();
      for (int64_t k = l.value_offset(i); k < l.value_offset(i) + l.value_length(i); ++k)
        out.push_back(cell(*l.values(), k, column));
      return out;
    }
    case arrow::Type::DICTIONARY: {
      const auto& d = static_cast<const arrow::DictionaryArray&>(array);
      return cell(*d.dictionary(), d.GetValueIndex(i), column);
    }
    default:
      throw std::invalid_argument(
          fmt::format("column \"{}\" has type {}, which visrl does not read", column, array.type()->ToString()));
  }
}

template <typename ListArray>
json list_cell(const ListArray& list, int64_t i, const std::string& column) {
  json out = json::array();
  for (int64_t k = list.value_offset(i); k < list.value_offset(i + 1); ++k)
    out.push_back(cell(*list.values(), k, column));
  return out;
}

// Arrow's Status and Result as visrl errors naming the file.
void check(const arrow::Status& status, const std::string& name, std::string_view what) {
  if (!status.ok()) fail(ErrorKind::format, "{}: {}: {}", name, what, status.ToString());
}

class ArrowRowReader final : public RowReader {
 public:
  ArrowRowReader(std::shared_ptr<arrow::io::RandomAccessFile> file, std::string name) : name_(std::move(name)) {
    auto properties = ::parquet::default_reader_properties();
    properties.enable_buffered_stream();  // pages are read as they are decoded, not a row group at once
    ::parquet::arrow::FileReaderBuilder builder;
    try {
      check(builder.Open(std::move(file), properties), name_, "not a readable Parquet file");
      ::parquet::ArrowReaderProperties arrow_properties;
      arrow_properties.set_pre_buffer(false);
      builder.memory_pool(arrow::default_memory_pool())->properties(arrow_properties);
      check(builder.Build(&reader_), name_, "not a readable Parquet file");
      std::shared_ptr<arrow::Schema> schema;
      check(reader_->GetSchema(&schema), name_, "unreadable schema");
      for (const auto& field : schema->fields()) {
        if (invalid_utf8_at(field->name()) != std::string_view::npos)
          fail(ErrorKind::format, "{}: a column name that is not UTF-8", name_);
        columns_.push_back(field->name());
      }
      num_rows_ = reader_->parquet_reader()->metadata()->num_rows();
    } catch (const ::parquet::ParquetException& e) {
      fail(ErrorKind::format, "{}: not a readable Parquet file: {}", name_, e.what());
    }
  }

  const std::string& name() const override { return name_; }
  int64_t num_rows() const override { return num_rows_; }
  std::vector<std::string> columns() const override { return columns_; }

  void scan(const std::vector<std::string>& columns, int64_t batch_rows, const Visitor& visit) override {
    std::vector<int> fields;
    for (const auto& c : columns) {
      const auto it = std::find(columns_.begin(), columns_.end(), c);
      if (it == columns_.end()) {
        fail(ErrorKind::format, "{}: no column \"{}\" (the file has: {})", name_, c, fmt::join(columns_, ", "));
      }
      fields.push_back(static_cast<int>(it - columns_.begin()));
    }
    int64_t first_row = 0;
    try {
      // The reader selects leaf columns: every leaf below the chosen top-level columns.
      const auto* schema = reader_->parquet_reader()->metadata()->schema();
      std::vector<int> leaves;
      for (int leaf = 0; leaf < schema->num_columns(); ++leaf) {
        const int root = schema->group_node()->FieldIndex(*schema->GetColumnRoot(leaf));
        if (std::find(fields.begin(), fields.end(), root) != fields.end()) leaves.push_back(leaf);
      }
      reader_->set_batch_size(std::max<int64_t>(1, batch_rows));
      std::vector<int> groups(static_cast<size_t>(reader_->num_row_groups()));
      for (size_t g = 0; g < groups.size(); ++g) groups[g] = static_cast<int>(g);
      auto batches = reader_->GetRecordBatchReader(groups, leaves);
      check(batches.status(), name_, "reading row groups");
      std::vector<json> rows;
      while (true) {
        std::shared_ptr<arrow::RecordBatch> batch;
        check((*batches)->ReadNext(&batch), name_, fmt::format("corrupt data in the rows from {}", first_row));
        if (!batch) break;
        check(batch->ValidateFull(), name_, fmt::format("corrupt data in the rows from {}", first_row));
        rows.assign(static_cast<size_t>(batch->num_rows()), json::object());
        for (int c = 0; c < batch->num_columns(); ++c) {
          const auto column_ptr = batch->column(c);  // a shared_ptr returned by value: keep it
          const auto& column = *column_ptr;
          const auto& column_name = batch->schema()->field(c)->name();
          for (int64_t r = 0; r < batch->num_rows(); ++r) {
            try {
              rows[static_cast<size_t>(r)][column_name] = cell(column, r, column_name);
            } catch (const std::invalid_argument& e) {
              fail(ErrorKind::format, "{}: row {}: {}", name_, first_row + r, e.what());
            }
          }
        }
        visit(first_row, rows);
        first_row += batch->num_rows();
      }
    } catch (const ::parquet::ParquetException& e) {
      fail(ErrorKind::format, "{}: corrupt data in the rows from {}: {}", name_, first_row, e.what());
    }
  }

 private:
  std::string name_;
  std::unique_ptr<::parquet::arrow::FileReader> reader_;
  std::vector<std::string> columns_;
  int64_t num_rows_ = 0;
};

// --- JSON -> Arrow (write_rows) -----------------------------------------------------------

// The Arrow type of a JSON value (the first non-null one of its column).
std::shared_ptr<arrow::DataType> type_of(const json& value, const std::string& key) {
  switch (value.type()) {
    case json::value_t::string:
      return arrow::utf8();
    case json::value_t::binary:
      return arrow::binary();
    case json::value_t::boolean:
      return arrow::boolean();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return arrow::int64();
    case json::value_t::number_float:
      return arrow::float64();
    case json::value_t::object: {
      arrow::FieldVector fields;
      for (const auto& [k, v] : value.items()) fields.push_back(arrow::field(k, type_of(v, key + "." + k)));
      return arrow::struct_(fields);
    }
    case json::value_t::array: {
      for (const auto& element : value) {
        if (!element.is_null()) return arrow::list(type_of(element, key + "[]"));
      }
      return arrow::list(arrow::utf8());
    }
    default:
      fail(ErrorKind::format, "write_rows: \"{}\" has no Parquet type (a null in every row?)", key);
  }
}

void append(arrow::ArrayBuilder& builder, const json& value, const std::string& key) {
  auto ok = [&](const arrow::Status& s) {
    if (!s.ok()) throw std::invalid_argument(fmt::format("\"{}\": {}", key, s.ToString()));
  };
  if (value.is_null()) return ok(builder.AppendNull());
  auto mismatch = [&] {
    return std::invalid_argument(
        fmt::format("\"{}\": a {} where the column holds {}", key, value.type_name(), builder.type()->ToString()));
  };
  switch (builder.type()->id()) {
    case arrow::Type::STRING:
      if (!value.is_string()) throw mismatch();
      return ok(static_cast<arrow::StringBuilder&>(builder).Append(value.get_ref<const std::string&>()));
    case arrow::Type::BINARY: {
      if (!value.is_binary()) throw mismatch();
      const auto& bytes = value.get_binary();
      return ok(static_cast<arrow::BinaryBuilder&>(builder).Append(bytes.data(), static_cast<int64_t>(bytes.size())));
    }
    case arrow::Type::BOOL:
      if (!value.is_boolean()) throw mismatch();
      return ok(static_cast<arrow::BooleanBuilder&>(builder).Append(value.get<bool>()));
    case arrow::Type::INT64:
      if (!value.is_number_integer()) throw mismatch();
      return ok(static_cast<arrow::Int64Builder&>(builder).Append(value.get<int64_t>()));
    case arrow::Type::DOUBLE:
      if (!value.is_number()) throw mismatch();
      return ok(static_cast<arrow::DoubleBuilder&>(builder).Append(value.get<double>()));
    case arrow::Type::STRUCT: {
      if (!value.is_object()) throw mismatch();
      auto& s = static_cast<arrow::StructBuilder&>(builder);
      ok(s.Append());
      const auto type = s.type();  // a shared_ptr returned by value: keep it alive
      for (int f = 0; f < s.num_fields(); ++f) {
        const auto name = type->field(f)->name();
        append(*s.field_builder(f), value.contains(name) ? value[name] : json(nullptr), key + "." + name);
      }
      return;
    }
    case arrow::Type::LIST: {
      if (!value.is_array()) throw mismatch();
      auto& l = static_cast<arrow::ListBuilder&>(builder);
      ok(l.Append());
      for (const auto& element : value) append(*l.value_builder(), element, key + "[]");
      return;
    }
    default:
      throw mismatch();
  }
}

}  // namespace

std::unique_ptr<RowReader> RowReader::open_file(const std::string& path) {
  auto file = arrow::io::ReadableFile::Open(path);
  if (!file.ok()) fail(ErrorKind::io, "{}: cannot open: {}", path, file.status().ToString());
  return std::make_unique<ArrowRowReader>(*file, path);
}

std::unique_ptr<RowReader> RowReader::open_buffer(std::string bytes, const std::string& name) {
  std::shared_ptr<arrow::Buffer> buffer = arrow::Buffer::FromString(std::move(bytes));
  return std::make_unique<ArrowRowReader>(std::make_shared<arrow::io::BufferReader>(std::move(buffer)), name);
}

void write_rows(const std::string& path, const std::vector<json>& rows, int64_t row_group_rows) {
  if (rows.empty()) fail(ErrorKind::format, "{}: no rows to write", path);
  // Columns in the first row's key order; each typed by its first non-null value.
  arrow::FieldVector fields;
  for (const auto& [key, first] : rows.front().items()) {
    const json* sample = &first;
    for (const auto& row : rows) {
      if (row.contains(key) && !row[key].is_null()) {
        sample = &row[key];
        break;
      }
    }
    fields.push_back(arrow::field(key, type_of(*sample, key)));
  }
  auto schema = arrow::schema(fields);
  arrow::ArrayVector arrays;
  for (const auto& field : fields) {
    auto made = arrow::MakeBuilder(field->type());
    check(made.status(), path, "write_rows");
    auto builder = std::move(*made);
    for (size_t r = 0; r < rows.size(); ++r) {
      try {
        append(*builder, rows[r].contains(field->name()) ? rows[r][field->name()] : json(nullptr), field->name());
      } catch (const std::invalid_argument& e) {
        fail(ErrorKind::format, "{}: row {}: {}", path, r, e.what());
      }
    }
    std::shared_ptr<arrow::Array> array;
    check(builder->Finish(&array), path, "write_rows");
    arrays.push_back(std::move(array));
  }
  const auto table = arrow::Table::Make(schema, arrays);
  const auto partial = path + ".partial";
  auto out = arrow::io::FileOutputStream::Open(partial);
  if (!out.ok()) fail(ErrorKind::io, "{}: cannot write: {}", partial, out.status().ToString());
  const auto written = ::parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), *out, row_group_rows);
  const auto closed = (*out)->Close();
  if (!written.ok() || !closed.ok()) {
    std::filesystem::remove(partial);
    fail(ErrorKind::io, "{}: writing Parquet failed: {}", path, (written.ok() ? closed : written).ToString());
  }
  std::filesystem::rename(partial, path);
}

}  // namespace visrl::parquet
