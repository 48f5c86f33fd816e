// The text-level pieces of the SVG guard: finding the URLs a piece of CSS refers to, and
// decoding data: URLs so that what they carry can be checked as well.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::render::svg_detail {

struct CssReferences {
  std::vector<std::string> urls;  // every url(...) argument, escapes resolved, trimmed
  bool has_import = false;        // an @import rule
};

// Scans style attributes, <style> text and presentation attributes such as fill="url(#g)".
// CSS escapes are resolved first, so `u\72l(` cannot hide a reference, and url( is found even
// inside strings and comments: a false alarm only refuses a document, a miss would load a file.
CssReferences scan_css(std::string_view css);

// What a reference points at, by the rule of the guard: only fragments and data: are local.
enum class UrlKind { empty, fragment, data, external };
UrlKind classify_url(std::string_view url);

struct DataUrl {
  std::string media_type;  // lower case, without parameters; empty when not given
  std::string payload;     // percent-decoded, then base64-decoded when ";base64" was given
};

// Decodes "data:[<media type>][;base64],<data>". nullopt when it is malformed.
std::optional<DataUrl> decode_data_url(std::string_view url);

// The raster formats the image loader may see; anything else gdk-pixbuf would sniff and hand
// to one of its many loaders (SVG among them, which would bypass the guard).
enum class PayloadKind { png, jpeg, gif, markup, other };
PayloadKind sniff_payload(std::string_view payload);

// ASCII whitespace trimmed from both ends.
std::string_view trim(std::string_view text);

// A short, printable quotation of `text` for a reason string.
std::string quote_for_reason(std::string_view text);

}  // namespace visrl::render::svg_detail
